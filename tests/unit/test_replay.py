"""Recording and replay: a recorded feed plays through the normal client, in virtual time
exactly on its recorded times."""

from __future__ import annotations

import json

import pytest
from reactivex.testing import TestScheduler

import rxpusher

from .support import record


def _record_a_feed(make_pusher, server, sched, path) -> None:
    p = make_pusher()
    recording = p.record(path)
    server.handshake()
    p.channel("AAPL").events("price").subscribe()
    sched.advance_by(0.5)
    server.succeed("AAPL")
    for i in range(5):
        sched.advance_by(1.25)
        server.push("price", {"price": 100 + i}, channel="AAPL")
    recording.dispose()
    server.push("price", {"price": 999}, channel="AAPL")  # after the recording stopped


def test_record_writes_one_json_line_per_frame_with_its_time(make_pusher, server, sched, tmp_path) -> None:
    path = tmp_path / "feed.jsonl"
    _record_a_feed(make_pusher, server, sched, path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["t"] for line in lines] == [0.0, 0.5, 1.75, 3.0, 4.25, 5.5, 6.75]
    assert json.loads(lines[0]["frame"])["event"] == "pusher:connection_established"
    assert json.loads(json.loads(lines[-1]["frame"])["data"]) == {"price": 104}


def test_replay_in_virtual_time_is_exact(make_pusher, server, sched, tmp_path) -> None:
    path = tmp_path / "feed.jsonl"
    _record_a_feed(make_pusher, server, sched, path)
    clock = TestScheduler()
    p = rxpusher.replay(path, clock=clock)
    prices = []
    p.channel("AAPL").events("price").subscribe(lambda d: prices.append((clock.clock, d["price"])))
    states = record(p.state)
    channel_states = record(p.channel("AAPL").state)
    clock.advance_by(100)
    assert prices == [(1.75, 100), (3.0, 101), (4.25, 102), (5.5, 103), (6.75, 104)]
    assert states.items == ["connecting", "connected", "disconnected"]
    assert channel_states.items == ["pending", "subscribed", "pending"]
    p.close()


def test_replay_speed_divides_the_times_and_connect_plays_again(make_pusher, server, sched,
                                                                tmp_path) -> None:
    path = tmp_path / "feed.jsonl"
    _record_a_feed(make_pusher, server, sched, path)
    clock = TestScheduler()
    p = rxpusher.replay(path, speed=2.5, clock=clock)
    times = []
    p.channel("AAPL").events("price").subscribe(lambda d: times.append(clock.clock))
    clock.advance_by(100)
    assert times == [0.7, 1.2, 1.7, 2.2, 2.7]
    p.connect()  # plays the recording again, times from this connect()
    clock.advance_by(100)
    assert times[5:] == [100 + t for t in (0.7, 1.2, 1.7, 2.2, 2.7)]
    p.close()


def test_replay_delivers_events_without_handshake_or_subscription_frames(tmp_path) -> None:
    path = tmp_path / "bare.jsonl"
    frame = json.dumps({"event": "tick", "channel": "c", "data": json.dumps({"n": 1})})
    path.write_text(json.dumps({"t": 0.25, "frame": frame}) + "\n")
    clock = TestScheduler()
    p = rxpusher.replay(path, clock=clock, speed=None)
    got = record(p.channel("c").events("tick"))
    everything = record(p.events())
    clock.advance_by(1)
    assert got.items == [{"n": 1}] and len(everything.items) == 1
    assert p.connection_state == "disconnected"
    p.close()


def test_replay_sends_nothing_and_authorizes_nothing(tmp_path) -> None:
    path = tmp_path / "feed.jsonl"
    established = json.dumps({"event": "pusher:connection_established",
                              "data": json.dumps({"socket_id": "1.2", "activity_timeout": 1})})
    path.write_text(json.dumps({"t": 0, "frame": established}) + "\n")
    calls = []
    clock = TestScheduler()
    p = rxpusher.replay(path, clock=clock, authorizer=lambda c, s: calls.append(c) or {"auth": "x"})
    p.channel("private-c").events().subscribe()
    clock.advance_by(1000)  # no pings, no reconnects
    assert calls == [] and p.connection_state == "disconnected"
    p.close()


@pytest.mark.parametrize("line", ['not json', '{"t": -1, "frame": "x"}', '{"t": 1}', '[1, 2]'])
def test_a_bad_recording_line_is_a_value_error_naming_it(tmp_path, line) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": 0, "frame": "{}"}\n' + line + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        rxpusher.replay(path)


def test_record_after_close_raises_closed_error(make_pusher, tmp_path) -> None:
    p = make_pusher()
    p.close()
    with pytest.raises(rxpusher.ClosedError):
        p.record(tmp_path / "x.jsonl")
