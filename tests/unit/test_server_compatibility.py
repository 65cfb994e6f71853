"""What Laravel Reverb and Sockudo (protocol 7 servers other than Pusher and soketi) need of
a client, with scripted frames in virtual time."""

from __future__ import annotations

import rxpusher

from .support import record


def test_activity_timeout_30_from_the_handshake_is_used(make_pusher, server, sched) -> None:
    pusher = make_pusher()  # the option says 120
    server.handshake(activity_timeout=30)
    assert pusher.activity_timeout == 30
    sched.advance_by(29.9)
    assert server.sent("pusher:ping") == []
    sched.advance_by(0.2)
    assert len(server.sent("pusher:ping")) == 1


def test_no_subscription_count_is_needed_to_be_subscribed(pusher, server) -> None:
    channel = pusher.channel("orders")
    got = record(channel.events("e"))
    server.succeed("orders")
    assert channel.subscribed and channel.subscription_count is None
    channel.wait_subscribed(0)
    server.push("e", 1, channel="orders")
    assert got.items == [1]


def test_a_4301_pusher_error_keeps_the_connection(pusher, server, sched) -> None:
    errors = record(pusher.errors)
    server.push("pusher:error", {"code": 4301, "message": "Rate limit exceeded"})
    sched.advance_by(60)
    assert isinstance(errors.items[0], rxpusher.RateLimitError)
    assert pusher.connection_state == "connected" and server.attempts == 1
    assert server.current.closed_with is None
