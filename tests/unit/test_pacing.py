"""Client-event pacing: the sliding window, the queue bound and the 4301 slowdown (pure)."""

from __future__ import annotations

import pytest

from rxpusher import BufferOverflowError
from rxpusher._pacing import MARGIN, SLOWDOWN, Pacer


def _run(pacer: Pacer[int], items: list[int], start: float = 0.0) -> list[tuple[float, int]]:
    """Push ``items`` at ``start``, then follow next_due until the queue is empty."""
    now = start
    sent = [(now, item) for item in pacer.push(items, now)]
    while (delay := pacer.next_due(now)) is not None:
        assert delay > 0
        now += delay
        sent.extend((now, item) for item in pacer.due(now))
    return sent


def test_a_burst_goes_out_in_order_never_more_than_rate_in_any_second() -> None:
    pacer: Pacer[int] = Pacer(10.0, 1000)
    sent = _run(pacer, list(range(35)))
    assert [item for _, item in sent] == list(range(35))
    times = [t for t, _ in sent]
    # closed one-second windows too: a server counting [t, t + 1] sees at most 10
    assert max(sum(1 for u in times if t <= u <= t + 1.0) for t in times) == 10
    assert times[:10] == [0.0] * 10
    assert times[10] == pytest.approx(1.0 + MARGIN)
    assert times[-1] == pytest.approx(3 * (1.0 + MARGIN))


def test_events_within_the_rate_go_out_at_once() -> None:
    pacer: Pacer[str] = Pacer(10.0, 1000)
    assert pacer.push(["a"], 0.0) == ["a"]
    assert pacer.push(["b", "c"], 0.5) == ["b", "c"]
    assert pacer.next_due(0.5) is None
    assert len(pacer) == 0


def test_without_a_rate_nothing_waits() -> None:
    pacer: Pacer[int] = Pacer(None, 1)
    assert pacer.push(list(range(500)), 0.0) == list(range(500))
    assert pacer.next_due(0.0) is None
    assert pacer.rejected(0.0) is None


def test_a_fractional_rate_spaces_single_events() -> None:
    pacer: Pacer[int] = Pacer(0.5, 10)
    sent = _run(pacer, [1, 2, 3])
    assert [t for t, _ in sent] == pytest.approx([0.0, 2.0 * (1 + MARGIN), 4.0 * (1 + MARGIN)])


def test_past_the_queue_bound_push_raises_and_queues_nothing() -> None:
    pacer: Pacer[int] = Pacer(10.0, 5)
    assert pacer.push(list(range(10)), 0.0) == list(range(10))
    pacer.push(list(range(10, 14)), 0.0)
    assert len(pacer) == 4
    with pytest.raises(BufferOverflowError) as caught:
        pacer.push([14, 15], 0.0)
    assert caught.value.maxsize == 5
    assert "client_event_queue" in str(caught.value)
    assert len(pacer) == 4
    pacer.push([14], 0.0)
    assert len(pacer) == 5


def test_a_rejection_halves_the_pace_for_ten_seconds() -> None:
    pacer: Pacer[int] = Pacer(10.0, 1000)
    assert pacer.rejected(0.0) == 5.0
    sent = _run(pacer, list(range(20)), start=0.0)
    times = [t for t, _ in sent]
    assert max(sum(1 for u in times if t <= u <= t + 1.0) for t in times) == 5
    assert times[-1] == pytest.approx(3 * (1.0 + MARGIN))
    # after the slowdown the configured pace is back
    later = SLOWDOWN + 1.0
    assert pacer.pace(later) == 10.0
    assert len(pacer.push(list(range(10)), later)) == 10


def test_repeated_rejections_keep_halving_down_to_a_floor_and_extend_the_slowdown() -> None:
    pacer: Pacer[int] = Pacer(10.0, 1000)
    assert pacer.rejected(0.0) == 5.0
    assert pacer.rejected(5.0) == 2.5
    assert pacer.pace(14.0) == 2.5  # 10 s counted from the last rejection
    for _ in range(10):
        pacer.rejected(14.0)
    assert pacer.pace(14.0) == 0.5
    assert pacer.pace(24.0) == 10.0


def test_clear_hands_back_what_was_waiting() -> None:
    pacer: Pacer[int] = Pacer(1.0, 100)
    assert pacer.push([1, 2, 3], 0.0) == [1]
    assert pacer.clear() == [2, 3]
    assert pacer.next_due(0.0) is None


def test_a_timer_firing_a_hair_before_the_due_time_still_lets_the_item_out() -> None:
    pacer: Pacer[int] = Pacer(10.0, 100)
    pacer.push(list(range(11)), 0.0)
    delay = pacer.next_due(0.0)
    assert delay is not None
    assert pacer.due(delay - 1e-12) == [10]
    assert pacer.next_due(delay) is None
