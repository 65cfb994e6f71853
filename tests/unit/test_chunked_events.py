"""Chunked events through the client: reassembly per channel and id, ``chunk_timeout`` in
virtual time, and ``trigger(chunked=True)``."""

from __future__ import annotations

import json
import random

from rxpusher import Event, ProtocolError

from .support import record


def _parts(payload: object, message_id: str = "m1", size: int = 1000) -> list[dict]:
    text = json.dumps(payload)
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    return [{"id": message_id, "index": i, "chunk": piece, "final": i == len(pieces) - 1}
            for i, piece in enumerate(pieces)]


PAYLOAD = {"rows": [{"n": i, "label": f"row {i} ✓"} for i in range(400)]}


def test_parts_in_any_order_are_delivered_whole_as_the_event(pusher, server) -> None:
    channel = pusher.channel("reports")
    whole = record(channel.events("report"))
    every = record(channel.events())
    global_whole = record(pusher.events("report"))
    bound: list[object] = []
    channel.bind("report", bound.append)
    parts_seen = record(channel.events("chunked-report"))
    errors = record(pusher.errors)
    server.succeed("reports")
    parts = _parts(PAYLOAD)
    random.Random(1).shuffle(parts)
    for part in parts:
        server.push("chunked-report", part, channel="reports")
    assert whole.items == [PAYLOAD]
    assert global_whole.items == [PAYLOAD]
    assert bound == [PAYLOAD]
    assert len(parts_seen.items) == len(parts) > 5
    assert [e for e in every.items if e.name == "report"] == [Event("report", "reports", PAYLOAD)]
    assert errors.items == []


def test_client_parts_are_delivered_as_the_client_event_with_the_sender(make_pusher,
                                                                        server) -> None:
    pusher = make_pusher(secret="s", channel_data={"user_id": "me"})
    server.handshake()
    got = record(pusher.channel("presence-room").events())
    server.succeed("presence-room", {"presence": {"ids": [], "hash": {}}})
    for part in _parts({"doc": "x" * 3000}):
        server.push("client-chunked-doc", part, channel="presence-room", user_id="ann")
    [event] = [e for e in got.items if e.name == "client-doc"]
    assert event == Event("client-doc", "presence-room", {"doc": "x" * 3000}, "ann")


def test_a_message_whose_parts_do_not_all_arrive_within_chunk_timeout_is_dropped(
        make_pusher, server, sched) -> None:
    pusher = make_pusher(chunk_timeout=5.0)
    server.handshake()
    whole = record(pusher.channel("c").events("e"))
    errors = record(pusher.errors)
    server.succeed("c")
    first, second = _parts({"a": "y" * 1500})[:2]
    server.push("chunked-e", first, channel="c")
    sched.advance_by(4.9)
    assert errors.items == []
    sched.advance_by(0.2)
    [error] = errors.items
    assert isinstance(error, ProtocolError) and "chunk_timeout" in str(error)
    server.push("chunked-e", dict(second, final=True), channel="c")  # too late: a new message
    assert whole.items == []
    sched.advance_by(5.1)
    assert len(errors.items) == 2


def test_a_malformed_or_duplicate_part_is_a_protocol_error_and_spoils_no_other_message(
        pusher, server) -> None:
    whole = record(pusher.channel("c").events("e"))
    errors = record(pusher.errors)
    server.succeed("c")
    parts = _parts({"n": "z" * 2500})
    server.push("chunked-e", parts[0], channel="c")
    server.push("chunked-e", dict(parts[0], chunk="EVIL"), channel="c")
    server.push("chunked-e", {"id": "m1", "index": "one", "chunk": "x"}, channel="c")
    server.push("chunked-e", "not a part", channel="c")
    for part in parts[1:]:
        server.push("chunked-e", part, channel="c")
    assert whole.items == [{"n": "z" * 2500}]
    assert len(errors.items) == 3
    assert all(isinstance(e, ProtocolError) and e.frame for e in errors.items)


def test_a_message_larger_than_max_message_size_is_dropped(make_pusher, server) -> None:
    pusher = make_pusher(max_message_size=4096)
    server.handshake()
    whole = record(pusher.channel("c").events("e"))
    errors = record(pusher.errors)
    server.succeed("c")
    for part in _parts({"big": "b" * 5000}):
        server.push("chunked-e", part, channel="c")
    assert whole.items == []
    assert any(isinstance(e, ProtocolError) and "max_message_size" in str(e) for e in errors.items)
    for part in _parts({"ok": 1}, message_id="m2"):
        server.push("chunked-e", part, channel="c")
    assert whole.items == [{"ok": 1}]


def test_trigger_chunked_sends_parts_within_the_limit_that_join_back(make_pusher, server,
                                                                      sched) -> None:
    pusher = make_pusher(secret="s", client_event_rate=None)
    server.handshake()
    channel = pusher.subscribe("private-docs")
    server.succeed("private-docs")
    payload = {"doc": [f"line {i} \"quoted\" é" for i in range(3000)]}
    channel.trigger("client-doc", payload, chunked=True)
    channel.trigger("client-doc", {"small": True}, chunked=True)
    parts = server.sent("client-chunked-doc")
    assert len(parts) > 5
    for frame in parts:
        assert frame["channel"] == "private-docs"
        assert len(json.dumps(frame["data"]).encode()) <= 10_240
    assert [p["data"]["index"] for p in parts] == list(range(len(parts)))
    assert json.loads("".join(p["data"]["chunk"] for p in parts)) == payload
    assert server.sent("client-doc") == [
        {"event": "client-doc", "data": {"small": True}, "channel": "private-docs"}]


def test_what_trigger_chunked_sends_is_delivered_whole_by_a_receiving_client(
        make_pusher, server) -> None:
    sender = make_pusher(secret="s", client_event_rate=None)
    server.handshake()
    sender.subscribe("private-docs")
    server.succeed("private-docs")
    payload = {"doc": "é" * 20_000}
    sender.channel("private-docs").trigger("client-doc", payload, chunked=True)
    frames = server.sent("client-chunked-doc")
    got = record(sender.channel("private-docs").events("client-doc"))
    for frame in frames:  # as the server relays them to another client
        server.push(frame["event"], frame["data"], channel="private-docs", user_id="u2")
    assert got.items == [payload]


def test_leaving_a_channel_forgets_its_messages_in_progress(pusher, server, sched) -> None:
    errors = record(pusher.errors)
    subscription = pusher.channel("c").events("e").subscribe()
    server.succeed("c")
    server.push("chunked-e", _parts({"a": "q" * 2000})[0], channel="c")
    subscription.dispose()
    sched.advance_by(60)
    assert errors.items == []
