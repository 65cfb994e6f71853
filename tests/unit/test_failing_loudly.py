"""Failing loudly: a refusal carries the server's reason and ends ``run_forever()`` and
``wait_connected()``; a timeout names the last attempt's cause; identical ``pusher:error``s
are coalesced on ``errors`` and in the log."""

from __future__ import annotations

import logging
import threading

import pytest

from rxpusher import ClosedError, ConnectionRefused, PusherError, ServerError

from .support import record

WRONG_KEY = "App key APP_KEY does not exist."


def refuse_like_soketi(server) -> None:
    """What soketi does for an unknown key: a pusher:error, then a close without a reason."""
    server.push("pusher:error", {"code": 4001, "message": WRONG_KEY})
    server.current.drop(4001, "")


def test_a_refusal_without_a_close_reason_carries_the_pusher_error_message(make_pusher, server) -> None:
    p = make_pusher()
    errors = record(p.errors)
    refuse_like_soketi(server)
    refusals = [e for e in errors.items if isinstance(e, ConnectionRefused)]
    assert len(refusals) == 1
    assert refusals[0].reason == WRONG_KEY
    assert WRONG_KEY in str(refusals[0]) and "no reason given" not in str(refusals[0])


def test_a_close_reason_wins_over_the_pusher_error_message(make_pusher, server) -> None:
    p = make_pusher()
    server.push("pusher:error", {"code": 4001, "message": "from the error"})
    server.current.drop(4001, "from the close frame")
    with pytest.raises(ConnectionRefused) as info:
        p.wait_connected(timeout=0)
    assert info.value.reason == "from the close frame"


def test_a_pusher_error_of_an_earlier_attempt_is_not_the_reason_of_a_later_refusal(
        make_pusher, server, sched) -> None:
    p = make_pusher()
    server.push("pusher:error", {"code": 4200, "message": "Server is closing"})
    server.current.drop(4200, "")
    sched.advance_by(1)
    server.current.drop(4001, "")
    with pytest.raises(ConnectionRefused) as info:
        p.wait_connected(timeout=0)
    assert info.value.reason == ""


def test_wait_connected_raises_the_refusal_with_the_server_reason(make_pusher, server) -> None:
    p = make_pusher()
    threading.Timer(0.05, refuse_like_soketi, (server,)).start()
    with pytest.raises(ConnectionRefused) as info:
        p.wait_connected(timeout=5)
    assert info.value.code == 4001 and info.value.reason == WRONG_KEY


def test_wait_connected_timeout_names_the_last_attempt_cause(make_pusher, server, sched) -> None:
    p = make_pusher()
    server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused", "refused")
    with pytest.raises(TimeoutError) as info:
        p.wait_connected(timeout=0.01)
    message = str(info.value)
    assert "last attempt" in message and "(refused)" in message and "Connection refused" in message


def test_wait_connected_timeout_names_a_server_close(make_pusher, server, sched) -> None:
    p = make_pusher()
    server.push("pusher:error", {"code": 4200, "message": "Server is closing"})
    server.current.drop(4200, "")
    with pytest.raises(TimeoutError, match=r"last attempt: closed by the server \(4200\): Server is closing"):
        p.wait_connected(timeout=0.01)


def test_wait_connected_timeout_without_any_attempt_says_nothing_more(make_pusher) -> None:
    p = make_pusher(auto_connect=False)
    with pytest.raises(TimeoutError) as info:
        p.wait_connected(timeout=0.01)
    assert "last attempt" not in str(info.value)


def test_run_forever_raises_the_refusal_and_closes(make_pusher, server) -> None:
    p = make_pusher()
    threading.Timer(0.05, refuse_like_soketi, (server,)).start()
    with pytest.raises(ConnectionRefused) as info:
        p.run_forever()
    assert WRONG_KEY in str(info.value)
    with pytest.raises(ClosedError):
        p.connect()


def test_run_forever_raises_when_the_policy_gives_up(make_pusher, server, sched) -> None:
    from rxpusher import Backoff

    p = make_pusher(reconnect=Backoff(jitter=False, max_attempts=1))
    server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused", "refused")
    sched.advance_by(1)
    server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused", "refused")
    with pytest.raises(PusherError, match="gave up after 1 failed attempts; last: .*refused"):
        p.run_forever()


def test_run_forever_returns_when_close_is_called(make_pusher, server) -> None:
    p = make_pusher()
    server.handshake()
    threading.Timer(0.05, p.close).start()
    p.run_forever()  # returns, raises nothing
    with pytest.raises(ClosedError):
        p.connect()


def test_run_forever_is_not_ended_by_a_reconnectable_loss(make_pusher, server, sched) -> None:
    p = make_pusher()
    server.handshake()
    server.current.drop(4200, "Server is closing")
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(p.run_forever()))
    thread.start()
    thread.join(0.2)
    assert thread.is_alive()  # still waiting for the reconnect
    p.close()
    thread.join(5)
    assert outcome == [None]


def test_identical_server_errors_are_coalesced_per_minute(make_pusher, server, sched, caplog) -> None:
    p = make_pusher()
    server.handshake()
    errors = record(p.errors)
    with caplog.at_level(logging.WARNING, logger="rxpusher"):
        for _ in range(100):
            server.push("pusher:error", {"code": 4200, "message": "Server is closing"})
        server.push("pusher:error", {"code": 4301, "message": "over quota"})  # another one
        sched.advance_by(60)
        server.push("pusher:error", {"code": 4200, "message": "Server is closing"})
    reported = [str(e) for e in errors.items if isinstance(e, ServerError)]
    assert reported == [
        "server error (4200): Server is closing",
        "server error (4301): over quota",
        "server error (4200): Server is closing (repeated 99 times since the last report)",
    ]
    logged = [r.getMessage() for r in caplog.records if "Server is closing" in r.getMessage()]
    assert len(logged) == 2


def test_pusher_error_events_are_still_delivered_each_time(make_pusher, server) -> None:
    p = make_pusher()
    server.handshake()
    events = record(p.events("pusher:error"))
    for _ in range(3):
        server.push("pusher:error", {"code": 4200, "message": "Server is closing"})
    assert len(events.items) == 3
