"""rxpusher.bridge._buffer: the bounded buffer drops the oldest into gap entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rxpusher.bridge._buffer import EntryBuffer
from rxpusher.bridge._entries import Item, event_item

T0 = datetime(2026, 1, 31, 12, tzinfo=UTC)


def item(n: int, channel: str = "c", seq: bool = True) -> Item:
    return event_item(channel, "e", {"n": n}, None, n if seq else None,
                      T0 + timedelta(seconds=n))


def test_entries_come_out_in_order_in_batches() -> None:
    buffer = EntryBuffer(10)
    for n in range(5):
        buffer.push(item(n))
    assert [i.seq for i in buffer.take(3)] == [0, 1, 2]
    assert [i.seq for i in buffer.take(3)] == [3, 4]
    assert len(buffer) == 0


def test_past_the_bound_the_oldest_are_dropped_and_one_gap_entry_comes_first() -> None:
    buffer = EntryBuffer(3)
    for n in range(10):
        buffer.push(item(n))
    assert buffer.dropped_total == 7
    batch = buffer.take(100)
    gap, rest = batch[0], batch[1:]
    assert gap.kind == "gap"
    assert gap.extra is not None
    assert (gap.extra["reason"], gap.extra["count"]) == ("buffer_full", 7)
    assert (gap.extra["first"], gap.extra["last"]) == (0, 6)
    assert gap.extra["from"] == "2026-01-31T12:00:00.000Z"
    assert gap.extra["to"] == "2026-01-31T12:00:06.000Z"
    assert [i.seq for i in rest] == [7, 8, 9]


def test_a_gap_without_seqs_records_the_count_and_times() -> None:
    buffer = EntryBuffer(1)
    for n in range(3):
        buffer.push(item(n, seq=False))
    gap = buffer.take(10)[0]
    assert gap.extra is not None
    assert (gap.extra["count"], gap.extra["first"], gap.extra["last"]) == (2, None, None)


def test_drops_are_recorded_per_channel() -> None:
    buffer = EntryBuffer(2)
    for n, channel in enumerate("aabbc"):
        buffer.push(item(n, channel))
    gaps = {i.channel: i.extra["count"] for i in buffer.take(10) if i.kind == "gap" and i.extra}
    assert gaps == {"a": 2, "b": 1}


def test_a_batch_given_back_is_taken_again_first_in_order() -> None:
    buffer = EntryBuffer(10)
    for n in range(6):
        buffer.push(item(n))
    batch = buffer.take(4)
    buffer.push(item(6))
    buffer.give_back(batch)
    assert [i.seq for i in buffer.take(100)] == [0, 1, 2, 3, 4, 5, 6]


def test_a_gap_entry_given_back_merges_with_later_drops_and_the_bound_holds() -> None:
    buffer = EntryBuffer(2)
    for n in range(4):
        buffer.push(item(n))  # 0, 1 dropped
    batch = buffer.take(100)  # gap(0-1), 2, 3
    for n in range(4, 6):
        buffer.push(item(n))
    buffer.give_back(batch)  # 2, 3, 4, 5 over a bound of 2: 2, 3 dropped too
    again = buffer.take(100)
    assert again[0].kind == "gap" and again[0].extra is not None
    assert (again[0].extra["count"], again[0].extra["first"], again[0].extra["last"]) == (4, 0, 3)
    assert [i.seq for i in again[1:]] == [4, 5]
    assert len(buffer) == 0


def test_the_bound_must_be_a_positive_integer() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            EntryBuffer(bad)  # type: ignore[arg-type]
