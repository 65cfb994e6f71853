"""pusher.reconnect() and failover across a list of hosts."""

from __future__ import annotations

from .support import record


def test_reconnect_drops_the_socket_and_connects_again_at_once(make_pusher, server) -> None:
    pusher = make_pusher()
    server.handshake(socket_id="1.1")
    pusher.subscribe("news")
    server.succeed("news")
    first = server.current
    pusher.reconnect()
    assert first.closed_with == 1000
    assert server.attempts == 2 and pusher.connection_state == "connecting"
    server.handshake(socket_id="2.2")
    assert pusher.socket_id == "2.2"
    assert server.current.sent[-1] == {"event": "pusher:subscribe", "data": {"channel": "news"}}


def test_hosts_are_tried_in_turn_when_attempts_fail(make_pusher, server, sched) -> None:
    pusher = make_pusher(host=["a.example", "b.example"], use_tls=False)
    states = record(pusher.state)
    assert server.current.url.startswith("ws://a.example:80/app/key")
    server.current.drop(None, "refused")
    sched.advance_by(1)
    assert server.current.url.startswith("ws://b.example:80/app/key")
    server.current.drop(None, "refused")
    sched.advance_by(2)
    assert server.current.url.startswith("ws://a.example:80/")
    server.handshake()
    assert states.items[-1] == "connected"


def test_an_established_connection_that_drops_stays_on_its_host(make_pusher, server, sched) -> None:
    make_pusher(host=["a.example", "b.example"], use_tls=False)
    server.handshake()
    server.current.drop(1006)
    sched.advance_by(1)
    assert server.current.url.startswith("ws://a.example:80/")


def test_a_slow_observer_is_not_taken_for_a_dead_server(make_pusher, server, sched) -> None:
    """An observer that blocks the reader longer than activity + pong timeouts: the socket is
    busy delivering, so no ping timeout fires and nothing already received is lost."""
    p = make_pusher(activity_timeout=10, pong_timeout=5)
    server.handshake(activity_timeout=10)
    got = record(p.channel("c").events("e"))
    server.succeed("c")

    def slow(value: int) -> None:
        if value == 0:
            sched.advance_by(60)  # 60 s pass while this observer runs on the reader

    p.channel("c").events("e").subscribe(slow)
    for i in range(5):
        server.push("e", i, channel="c")
    assert server.attempts == 1 and p.connection_state == "connected"
    assert got.items == [0, 1, 2, 3, 4]
    sched.advance_by(10 + 5 + 1)  # a really silent socket is still detected
    assert server.attempts == 2
