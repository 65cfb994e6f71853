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


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def test_hosts_are_tried_in_turn_when_attempts_fail(make_pusher, server, sched) -> None:
    pusher = make_pusher(host=["a.example", "b.example:6001"], use_tls=False)
    states = record(pusher.state)
    seen = [_host(server.current.url)]
    server.current.drop(None, "refused")
    sched.advance_by(1)
    seen.append(_host(server.current.url))
    server.current.drop(None, "refused")
    sched.advance_by(2)
    seen.append(_host(server.current.url))
    assert seen[0] != seen[1] and seen[2] == seen[0]
    assert set(seen) == {"a.example:80", "b.example:6001"}  # each entry with its own port
    server.handshake()
    assert states.items[-1] == "connected"


def test_an_established_connection_that_drops_moves_to_the_next_host_at_once(
        make_pusher, server, sched) -> None:
    make_pusher(host=["a.example", "b.example", "c.example"], use_tls=False)
    server.handshake()
    first = _host(server.current.url)
    server.current.drop(1006)
    sched.advance_by(0.001)
    assert server.attempts == 2  # no backoff step on the dead host
    assert _host(server.current.url) != first


def test_clients_start_at_random_positions_of_the_host_list(make_pusher, server) -> None:
    hosts = ["a.example", "b.example", "c.example"]
    starts = set()
    for _ in range(30):
        make_pusher(host=hosts, use_tls=False)
        starts.add(_host(server.current.url))
    assert len(starts) == 3  # a fleet spreads over the nodes (all 30 on one: 3 * (1/3)^30)


def test_failed_attempts_are_reported_with_their_cause_and_rate_limited(
        make_pusher, server, sched) -> None:
    from rxpusher import ConnectAttemptError

    p = make_pusher(reconnect=__import__("rxpusher").Backoff(initial=1, maximum=1, jitter=False))
    errors = record(p.errors)
    server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused",
                           cause="refused")
    for _ in range(40):  # a 40 s outage, one attempt a second
        sched.advance_by(1)
        server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused",
                           cause="refused")
    reports = [e for e in errors.items if isinstance(e, ConnectAttemptError)]
    assert [e.cause for e in reports] == ["refused", "refused"]
    assert "failed attempts since the last report" in str(reports[1])


def test_a_handshake_that_never_comes_is_abandoned_after_connect_timeout(
        make_pusher, server, sched) -> None:
    from rxpusher import ConnectAttemptError

    p = make_pusher(connect_timeout=5)
    errors = record(p.errors)
    sched.advance_by(5)
    assert server.transports[0].closed_with == 1000
    assert [e.cause for e in errors.items if isinstance(e, ConnectAttemptError)] == ["timeout"]
    sched.advance_by(1)  # the backoff, then the next attempt
    assert server.attempts == 2
    server.handshake()
    assert p.connection_state == "connected"


def test_a_handshake_without_a_usable_socket_id_is_abandoned(make_pusher, server, sched) -> None:
    import json

    from rxpusher import ConnectAttemptError

    p = make_pusher()
    errors = record(p.errors)
    server.current.receive(json.dumps({"event": "pusher:connection_established",
                                       "data": json.dumps({"socket_id": 5})}))
    assert server.transports[0].closed_with == 1000
    assert [e.cause for e in errors.items if isinstance(e, ConnectAttemptError)] == ["handshake"]
    sched.advance_by(1)
    assert server.attempts == 2 and p.connection_state == "connecting"


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


def test_a_dead_first_host_moves_to_the_next_one_at_once_then_the_round_backs_off(
        make_pusher, server, sched) -> None:
    """On first connect, a dead node in a host list costs no backoff step; once every host
    failed in a row, the client waits (each host at most once per backoff step)."""
    make_pusher(host=["a.example", "b.example", "c.example"], use_tls=False)
    tried = {_host(server.current.url)}
    for _ in range(2):
        server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused",
                            "refused")
        sched.advance_by(0.001)
        tried.add(_host(server.current.url))
    assert server.attempts == 3 and len(tried) == 3  # at once, no backoff step
    server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused", "refused")
    sched.advance_by(0.999)
    assert server.attempts == 3
    sched.advance_by(0.001)
    assert server.attempts == 4


# ---- a dead path from client to server (issue 16, item 8) ------------------------------------

def test_a_send_stalled_for_pong_timeout_is_a_dead_connection_though_frames_arrive(
        make_pusher, server, sched) -> None:
    """What the client sends has not moved for ``pong_timeout`` (its outbox is stuck: the
    path to the server is dead) while the server's events keep arriving: dead within
    ``activity_timeout + pong_timeout``, and the client reconnects."""
    p = make_pusher(activity_timeout=2, pong_timeout=1)
    server.handshake(activity_timeout=2)
    p.channel("c").events("e").subscribe(lambda _: None)
    server.succeed("c")
    server.current.stalled_for = 1.0
    for i in range(6):  # 3 s of events every half second: the inbound path is alive
        server.push("e", i, channel="c")
        sched.advance_by(0.5)
        if server.attempts == 2:
            break
    assert server.attempts == 2
    assert server.transports[0].closed_with == 1000
    assert sched.clock <= 2 + 1


def test_a_send_that_progresses_slowly_is_not_a_dead_connection(make_pusher, server,
                                                                  sched) -> None:
    """Frames wait, but bytes keep leaving (each wait is shorter than ``pong_timeout``):
    a slow uplink is alive."""
    p = make_pusher(activity_timeout=2, pong_timeout=1)
    server.handshake(activity_timeout=2)
    p.channel("c").events("e").subscribe(lambda _: None)
    server.succeed("c")
    server.current.stalled_for = 0.9
    for i in range(40):  # 20 s
        server.push("e", i, channel="c")
        sched.advance_by(0.5)
    assert server.attempts == 1 and p.connection_state == "connected"
