"""Chunked events: the splitter and the reassembler (pure, virtual time)."""

from __future__ import annotations

import json
import random

import pytest

from rxpusher import ProtocolError
from rxpusher._chunks import CHUNK_LIMIT, Reassembler, chunked_name, split, whole_name


def _payload(size: int) -> str:
    rows = [{"n": i, "text": f'quote " backslash \\ é ✓ 🎉 line\n{i}'} for i in range(size // 40)]
    return json.dumps(rows)


def test_names_of_parts_map_to_the_whole_event() -> None:
    assert whole_name("chunked-update") == "update"
    assert whole_name("client-chunked-typing") == "client-typing"
    assert whole_name("chunked-") is None
    assert whole_name("update") is None
    assert chunked_name("update") == "chunked-update"
    assert chunked_name("client-typing") == "client-chunked-typing"


def test_every_part_fits_the_limit_as_json_and_the_parts_join_back() -> None:
    text = _payload(50_000)
    parts = split(text)
    assert len(parts) > 5
    for part in parts:
        assert len(json.dumps(part).encode()) <= CHUNK_LIMIT
        assert len(json.dumps(part, ensure_ascii=False).encode()) <= CHUNK_LIMIT
    assert "".join(p["chunk"] for p in parts) == text
    assert [p["index"] for p in parts] == list(range(len(parts)))
    assert [p["final"] for p in parts] == [False] * (len(parts) - 1) + [True]
    assert len({p["id"] for p in parts}) == 1


def test_a_small_payload_is_one_final_part() -> None:
    parts = split('{"a":1}', message_id="m1")
    assert parts == [{"id": "m1", "index": 0, "chunk": '{"a":1}', "final": True}]


def test_a_limit_without_room_for_a_chunk_is_refused() -> None:
    with pytest.raises(ValueError):
        split("x" * 100, limit=30)


def test_parts_in_any_order_are_put_back_together() -> None:
    text = _payload(30_000)
    parts = split(text, limit=2_000)
    random.Random(7).shuffle(parts)
    assembler = Reassembler(max_message_size=1_000_000)
    wholes = [assembler.add("private-c", "chunked-update", p, "", now=0.0) for p in parts]
    assert wholes[:-1] == [None] * (len(parts) - 1)
    whole = wholes[-1]
    assert whole is not None
    assert (whole.channel, whole.event, whole.text) == ("private-c", "update", text)
    assert len(assembler) == 0


def test_client_parts_are_delivered_as_the_client_event() -> None:
    assembler = Reassembler(max_message_size=1000)
    whole = assembler.add("private-c", "client-chunked-typing",
                          {"id": "1", "index": 0, "chunk": "{}", "final": True}, "", 0.0, "u1")
    assert whole is not None and (whole.event, whole.user_id) == ("client-typing", "u1")


def test_messages_on_other_channels_and_ids_do_not_mix() -> None:
    assembler = Reassembler(max_message_size=1000)
    assert assembler.add("a", "chunked-e", {"id": "1", "index": 0, "chunk": "A0"}, "", 0) is None
    assert assembler.add("b", "chunked-e", {"id": "1", "index": 0, "chunk": "B0"}, "", 0) is None
    assert assembler.add("a", "chunked-e", {"id": "2", "index": 0, "chunk": "X"}, "", 0) is None
    b = assembler.add("b", "chunked-e", {"id": "1", "index": 1, "chunk": "B1", "final": True}, "", 0)
    a = assembler.add("a", "chunked-e", {"id": "1", "index": 1, "chunk": "A1", "final": True}, "", 0)
    assert a is not None and a.text == "A0A1"
    assert b is not None and b.text == "B0B1"
    assert len(assembler) == 1


@pytest.mark.parametrize("data", [
    "not an object",
    {"index": 0, "chunk": "x", "final": True},
    {"id": "", "index": 0, "chunk": "x"},
    {"id": "1", "index": -1, "chunk": "x"},
    {"id": "1", "index": True, "chunk": "x"},
    {"id": "1", "index": "0", "chunk": "x"},
    {"id": "1", "index": 0, "chunk": 5},
    {"id": "1", "index": 0, "chunk": "x", "final": "yes"},
])
def test_a_malformed_part_is_a_protocol_error_and_touches_no_other_message(data: object) -> None:
    assembler = Reassembler(max_message_size=1000)
    assembler.add("c", "chunked-e", {"id": "1", "index": 0, "chunk": "a"}, "", 0)
    with pytest.raises(ProtocolError) as caught:
        assembler.add("c", "chunked-e", data, '{"frame": 1}', 0)
    assert caught.value.frame == '{"frame": 1}'
    whole = assembler.add("c", "chunked-e", {"id": "1", "index": 1, "chunk": "b", "final": True}, "", 0)
    assert whole is not None and whole.text == "ab"


def test_a_duplicate_part_is_a_protocol_error_and_the_first_one_is_kept() -> None:
    assembler = Reassembler(max_message_size=1000)
    assembler.add("c", "chunked-e", {"id": "1", "index": 0, "chunk": "a"}, "", 0)
    with pytest.raises(ProtocolError, match="duplicate"):
        assembler.add("c", "chunked-e", {"id": "1", "index": 0, "chunk": "EVIL"}, "", 0)
    whole = assembler.add("c", "chunked-e", {"id": "1", "index": 1, "chunk": "b", "final": True}, "", 0)
    assert whole is not None and whole.text == "ab"


def test_a_part_of_a_delivered_message_is_a_duplicate_not_a_new_message() -> None:
    assembler = Reassembler(max_message_size=1000)
    assert assembler.add("c", "chunked-e", {"id": "1", "index": 0, "chunk": "a", "final": True},
                         "", 0) is not None
    with pytest.raises(ProtocolError, match="already delivered"):
        assembler.add("c", "chunked-e", {"id": "1", "index": 0, "chunk": "a", "final": True}, "", 0)
    assert len(assembler) == 0


def test_parts_beyond_the_final_one_drop_the_message() -> None:
    assembler = Reassembler(max_message_size=1000)
    assembler.add("c", "chunked-e", {"id": "1", "index": 3, "chunk": "d"}, "", 0)
    with pytest.raises(ProtocolError, match="after its final"):
        assembler.add("c", "chunked-e", {"id": "1", "index": 1, "chunk": "b", "final": True}, "", 0)
    assert len(assembler) == 0
    assembler.add("c", "chunked-e", {"id": "2", "index": 0, "chunk": "a", "final": False}, "", 0)
    assembler.add("c", "chunked-e", {"id": "2", "index": 2, "chunk": "c", "final": True}, "", 0)
    with pytest.raises(ProtocolError, match="two final"):
        assembler.add("c", "chunked-e", {"id": "2", "index": 1, "chunk": "b", "final": True}, "", 0)
    assert len(assembler) == 0


def test_a_message_larger_than_max_message_size_is_dropped() -> None:
    assembler = Reassembler(max_message_size=10)
    assembler.add("c", "chunked-e", {"id": "1", "index": 0, "chunk": "x" * 6}, "", 0)
    with pytest.raises(ProtocolError, match="max_message_size"):
        assembler.add("c", "chunked-e", {"id": "1", "index": 1, "chunk": "x" * 6}, "", 0)
    assert len(assembler) == 0
    # the space it held is free again
    whole = assembler.add("c", "chunked-e", {"id": "2", "index": 0, "chunk": "y" * 10,
                                             "final": True}, "", 0)
    assert whole is not None


def test_many_small_messages_cannot_hold_more_than_max_message_size_together() -> None:
    assembler = Reassembler(max_message_size=100)
    for i in range(10):
        assembler.add("c", "chunked-e", {"id": str(i), "index": 0, "chunk": "x" * 10}, "", 0)
    with pytest.raises(ProtocolError, match="in progress"):
        assembler.add("c", "chunked-e", {"id": "new", "index": 0, "chunk": "x"}, "", 0)
    assert len(assembler) == 10


def test_more_messages_in_progress_than_the_bound_drop_the_oldest() -> None:
    assembler = Reassembler(max_message_size=1000, max_pending=3)
    for i in range(3):
        assembler.add("c", "chunked-e", {"id": str(i), "index": 0, "chunk": "x"}, "", 0)
    assert assembler.evicted() == []
    assert assembler.add("c", "chunked-e", {"id": "3", "index": 0, "chunk": "x"}, "", 0) is None
    [error] = assembler.evicted()
    assert isinstance(error, ProtocolError) and "'0'" in str(error)
    assert assembler.evicted() == []
    assert len(assembler) == 3
    whole = assembler.add("c", "chunked-e", {"id": "3", "index": 1, "chunk": "y", "final": True}, "", 0)
    assert whole is not None and whole.text == "xy"


def test_an_incomplete_message_expires_after_chunk_timeout() -> None:
    assembler = Reassembler(max_message_size=1000, timeout=30.0)
    assert assembler.deadline() is None
    assembler.add("c", "chunked-e", {"id": "old", "index": 0, "chunk": "a"}, "", now=0.0)
    assembler.add("c", "chunked-e", {"id": "new", "index": 1, "chunk": "b", "final": True}, "", now=20.0)
    assert assembler.deadline() == 30.0
    assert assembler.expire(29.999) == []
    errors = assembler.expire(30.0)
    assert len(errors) == 1 and "'old'" in str(errors[0]) and "final part" in str(errors[0])
    assert assembler.deadline() == 50.0
    # a late part of the expired message starts a new one; it does not complete it
    assert assembler.add("c", "chunked-e", {"id": "old", "index": 1, "chunk": "z", "final": True},
                         "", now=31.0) is None
    errors = assembler.expire(50.0)
    assert [("1 of 2 parts" in str(e)) for e in errors] == [True]
    whole = assembler.add("c", "chunked-e", {"id": "old", "index": 0, "chunk": "y"}, "", now=52.0)
    assert whole is not None and whole.text == "yz"


def test_leaving_a_channel_forgets_its_messages_only() -> None:
    assembler = Reassembler(max_message_size=1000)
    assembler.add("a", "chunked-e", {"id": "1", "index": 0, "chunk": "x"}, "", 0)
    assembler.add("b", "chunked-e", {"id": "1", "index": 0, "chunk": "x"}, "", 0)
    assert assembler.drop("a") == 1
    assert len(assembler) == 1


def test_an_integer_id_is_taken_as_its_text() -> None:
    assembler = Reassembler(max_message_size=1000)
    assembler.add("c", "chunked-e", {"id": 7, "index": 0, "chunk": "a"}, "", 0)
    whole = assembler.add("c", "chunked-e", {"id": "7", "index": 1, "chunk": "b", "final": True}, "", 0)
    assert whole is not None and whole.text == "ab"
