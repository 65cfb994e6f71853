"""Interruption notices and health snapshots, in virtual time."""

from __future__ import annotations

from datetime import timezone

from rxpusher import Health, Interruption

from .support import record


def test_an_interruption_is_emitted_once_per_outage(pusher, server, sched) -> None:
    channel = pusher.channel("c")
    notices = record(channel.interruptions)
    channel.events("e").subscribe()
    server.succeed("c")
    assert notices.items == []  # the first subscription is not an interruption
    server.current.drop(None)
    sched.advance_by(1)       # backoff, second attempt fails too
    server.current.drop(None)
    sched.advance_by(2)
    server.handshake()
    server.succeed("c")
    assert len(notices.items) == 1
    notice = notices.items[0]
    assert isinstance(notice, Interruption) and notice.channel == "c"
    assert notice.lost_at <= notice.resubscribed_at
    assert notice.lost_at.tzinfo is timezone.utc
    got = record(channel.events("e"))
    server.push("e", 1, channel="c")
    assert got.items == [1]


def test_interruptions_follow_disconnect_connect_and_reconnect(pusher, server) -> None:
    channel = pusher.subscribe("c")
    notices = record(channel.interruptions)
    server.succeed("c")
    pusher.disconnect()
    pusher.connect()
    server.handshake()
    server.succeed("c")
    pusher.reconnect()
    server.handshake()
    server.succeed("c")
    assert len(notices.items) == 2


def test_observing_interruptions_does_not_subscribe(pusher, server) -> None:
    record(pusher.channel("c").interruptions)
    assert server.sent("pusher:subscribe") == []


def test_a_channel_left_during_the_outage_gets_no_interruption(pusher, server) -> None:
    channel = pusher.subscribe("c")
    notices = record(channel.interruptions)
    server.succeed("c")
    server.current.drop(4200)
    pusher.unsubscribe("c")
    pusher.subscribe("c")
    server.handshake()
    server.succeed("c")
    assert notices.items == []


def test_health_figures_after_a_known_burst(make_pusher, server, sched) -> None:
    p = make_pusher()
    snapshots = record(p.health(interval=1.0))
    server.handshake()
    server.succeed("c")
    sched.advance_by(1.0)
    first = snapshots.items[-1]
    assert isinstance(first, Health)
    assert first.state == "connected" and first.connected_for == 1.0
    assert first.frames == 2 and first.reconnects == 0
    sched.advance_by(0.25)
    for i in range(50):
        server.push("e", {"i": i, "x": "é"}, channel="c")
    frame_bytes = sum(len(t.encode()) for t in burst_frames())
    sched.advance_by(0.75)
    burst = snapshots.items[-1]
    assert burst.frames == 52 and burst.frames_per_second == 50.0
    assert burst.bytes - first.bytes == frame_bytes
    assert burst.last_frame_age == 0.75 and burst.connected_for == 2.0
    server.current.drop(4200)
    sched.advance_by(0)
    server.handshake()
    sched.advance_by(1.0)
    assert snapshots.items[-1].reconnects == 1
    assert snapshots.items[-1].frames_per_second == 1.0


def burst_frames() -> list[str]:
    import json

    return [json.dumps({"event": "e", "channel": "c", "data": json.dumps({"i": i, "x": "é"})})
            for i in range(50)]


def test_health_completes_on_close_and_subscribes_nothing(make_pusher, server) -> None:
    p = make_pusher()
    snapshots = record(p.health(0.5))
    p.close()
    assert snapshots.completed and server.sent("pusher:subscribe") == []


def test_interruptions_complete_on_close(make_pusher, server) -> None:
    p = make_pusher()
    notices = record(p.channel("c").interruptions)
    p.close()
    assert notices.completed
