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


def _five_ticks(path) -> None:
    frames = [json.dumps({"event": "tick", "channel": "c", "data": json.dumps({"n": n})})
              for n in range(5)]
    path.write_text("".join(json.dumps({"t": n * 0.001, "frame": f}) + "\n"
                            for n, f in enumerate(frames)))


@pytest.mark.parametrize("speed", [None, 1.0, 1000.0])
def test_an_observer_subscribed_on_the_next_line_gets_every_event(tmp_path, speed) -> None:
    """Before: 5, then 0, then 0 of 5 events in three runs (the playback thread raced the
    subscription). The automatic first play waits for the first observer."""
    path = tmp_path / "ticks.jsonl"
    _five_ticks(path)
    for _ in range(20):
        p = rxpusher.replay(path, speed=speed)
        got = record(p.channel("c").events("tick"))
        got.wait(lambda r: r.done or len(r.items) == 5)
        rxpusher.testing.wait_until(lambda: p.connection_state == "disconnected")
        assert [d["n"] for d in got.items] == [0, 1, 2, 3, 4]
        p.close()


def test_a_replay_without_observers_plays_once_waited_on(tmp_path) -> None:
    path = tmp_path / "ticks.jsonl"
    _five_ticks(path)
    p = rxpusher.replay(path, speed=None)
    seen = []
    p.bind("tick", seen.append)  # a binding observes too
    rxpusher.testing.wait_until(lambda: p.connection_state == "disconnected")
    assert len(seen) == 5
    p.close()
    q = rxpusher.replay(path, speed=None)
    with pytest.raises(TimeoutError):  # nothing observes: it plays once waited on
        q.wait_connected(timeout=1)   # (there is no handshake in this file)
    rxpusher.testing.wait_until(lambda: q.connection_state == "disconnected")
    q.close()


def test_connect_after_auto_connect_false_plays_at_once(tmp_path) -> None:
    path = tmp_path / "ticks.jsonl"
    _five_ticks(path)
    p = rxpusher.replay(path, speed=None, auto_connect=False)
    p.connect()
    rxpusher.testing.wait_until(lambda: p.connection_state == "disconnected")
    p.close()


def test_a_recording_started_after_connecting_replays_to_connected(
        make_pusher, server, sched, tmp_path) -> None:
    path = tmp_path / "late.jsonl"
    p = make_pusher()
    server.handshake(socket_id="9.9")
    recording = p.record(path)
    server.push("tick", {"n": 1}, channel="c")
    recording.dispose()
    first = json.loads(path.read_text().splitlines()[0])
    assert first["t"] == 0 and json.loads(first["frame"])["event"] == "pusher:connection_established"
    clock = TestScheduler()
    q = rxpusher.replay(path, clock=clock)
    states = record(q.state)
    clock.advance_by(1)
    assert states.items == ["connecting", "connected", "disconnected"]
    q.close()


def test_a_recording_is_on_disk_line_by_line_before_it_is_closed(
        make_pusher, server, tmp_path) -> None:
    """A killed ``listen --record`` kept 0 bytes: each line is written through."""
    path = tmp_path / "live.jsonl"
    p = make_pusher()
    recording = p.record(path)
    server.handshake()
    server.push("tick", {"n": 1}, channel="c")
    assert len(path.read_text().splitlines()) == 2
    recording.dispose()
