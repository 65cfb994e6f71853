"""The connection state machine of the core: one test per legal transition, inputs in,
effects out (no thread, no transport, no scheduler)."""

from __future__ import annotations

import pytest

from rxpusher import Backoff, ConnectionRefused, RetriesExhaustedError
from rxpusher._core.connection import TRANSITIONS
from rxpusher._core.effects import (
    CancelTimer,
    Changed,
    CloseTransport,
    Emit,
    Open,
    Report,
    Send,
    SetTimer,
    Timer,
)
from rxpusher._exceptions import ConnectAttemptError
from rxpusher._states import ConnectionState as C

from .coretools import SOCKET_ID, connected, make_core, of, receive, sent


def states(effects: list) -> list[C]:
    return [e.value for e in of(Emit, effects) if isinstance(e.value, C)]


def in_state(state: C, **options):
    core = make_core(**options)
    if state is C.CONNECTING:
        core.connect()
    elif state is C.CONNECTED:
        connected(core)
    elif state is C.UNAVAILABLE:
        core.connect()
        core.timer_fired(Timer.UNAVAILABLE)
    elif state is C.DISCONNECTED:
        core.connect()
        core.disconnect()
    elif state is C.FAILED:
        core.connect()
        core.closed_by_peer(core.connection.attempt, None, "gone", None)
    core.take()
    assert core.connection.state is state
    return core


def test_connect_opens_an_attempt_with_its_deadlines() -> None:
    core = make_core()
    core.connect()
    assert core.take() == [
        Changed, Emit((), C.CONNECTING), SetTimer(Timer.UNAVAILABLE, 10.0),
        Open(1, core.connection.url), SetTimer(Timer.ATTEMPT, 10.0, 1),
    ]


def test_initialized_to_disconnected_by_disconnect() -> None:
    core = make_core()
    core.disconnect()
    assert states(core.take()) == [C.DISCONNECTED]


def test_connecting_to_connected_by_the_handshake() -> None:
    core = in_state(C.CONNECTING)
    effects = receive(core, "pusher:connection_established",
                      {"socket_id": SOCKET_ID, "activity_timeout": 30})
    assert states(effects) == [C.CONNECTED]
    assert SetTimer(Timer.LIVENESS, 30.0) in effects
    assert CancelTimer(Timer.UNAVAILABLE) in effects
    assert core.connection.socket_id == SOCKET_ID and core.connection.activity_timeout == 30


def test_connecting_to_unavailable_after_unavailable_timeout() -> None:
    core = in_state(C.CONNECTING)
    core.timer_fired(Timer.UNAVAILABLE)
    assert states(core.take()) == [C.UNAVAILABLE]


def test_connecting_to_disconnected_by_disconnect() -> None:
    core = in_state(C.CONNECTING)
    core.disconnect()
    effects = core.take()
    assert states(effects) == [C.DISCONNECTED] and CloseTransport(1000) in effects


def test_connecting_to_failed_when_the_policy_gives_up() -> None:
    core = in_state(C.CONNECTING, reconnect=Backoff(max_attempts=0))
    core.closed_by_peer(core.connection.attempt, None, "refused", "refused")
    effects = core.take()
    assert states(effects) == [C.FAILED]
    errors = [e.error for e in of(Report, effects)]
    assert isinstance(errors[0], ConnectAttemptError) and errors[0].cause == "refused"
    assert isinstance(errors[1], RetriesExhaustedError)


def test_unavailable_to_connecting_by_reconnect() -> None:
    core = in_state(C.UNAVAILABLE)
    core.reconnect()
    assert states(core.take()) == [C.CONNECTING]


def test_unavailable_to_connected_by_the_handshake() -> None:
    core = in_state(C.UNAVAILABLE)
    assert states(receive(core, "pusher:connection_established", {"socket_id": SOCKET_ID})) \
        == [C.CONNECTED]


def test_unavailable_to_disconnected_by_disconnect() -> None:
    core = in_state(C.UNAVAILABLE)
    core.disconnect()
    assert states(core.take()) == [C.DISCONNECTED]


def test_unavailable_to_failed_when_the_policy_gives_up() -> None:
    core = in_state(C.UNAVAILABLE, reconnect=Backoff(max_attempts=0))
    core.closed_by_peer(core.connection.attempt, None, "gone", None)
    assert states(core.take()) == [C.FAILED]


def test_connected_to_connecting_when_the_connection_drops() -> None:
    core = in_state(C.CONNECTED, reconnect=Backoff(initial=2, jitter=False))
    core.closed_by_peer(core.connection.attempt, 4100, "over capacity", None)
    effects = core.take()
    assert states(effects) == [C.CONNECTING]
    assert SetTimer(Timer.RETRY, 2.0) in effects and core.connection.socket_id is None
    core.timer_fired(Timer.RETRY)
    assert of(Open, core.take()) == [Open(2, core.connection.url)]


def test_connected_to_disconnected_by_a_refusal() -> None:
    core = in_state(C.CONNECTED)
    core.closed_by_peer(core.connection.attempt, 4001, "app does not exist", None)
    effects = core.take()
    assert states(effects) == [C.DISCONNECTED]
    (report,) = of(Report, effects)
    assert isinstance(report.error, ConnectionRefused) and report.error.code == 4001
    assert not of(SetTimer, effects)


def test_connected_to_disconnected_by_disconnect() -> None:
    core = in_state(C.CONNECTED)
    core.disconnect()
    effects = core.take()
    assert states(effects) == [C.DISCONNECTED] and CloseTransport(1000) in effects


def test_connected_to_failed_when_the_policy_gives_up() -> None:
    core = in_state(C.CONNECTED, reconnect=Backoff(max_attempts=0))
    core.closed_by_peer(core.connection.attempt, None, "gone", None)
    assert states(core.take()) == [C.FAILED]


def test_disconnected_to_connecting_by_connect() -> None:
    core = in_state(C.DISCONNECTED)
    core.connect()
    assert states(core.take()) == [C.CONNECTING]


def test_failed_to_connecting_by_connect() -> None:
    core = in_state(C.FAILED, reconnect=Backoff(max_attempts=0))
    core.connect()
    assert states(core.take()) == [C.CONNECTING]


def test_failed_to_disconnected_by_disconnect() -> None:
    core = in_state(C.FAILED, reconnect=Backoff(max_attempts=0))
    core.disconnect()
    assert states(core.take()) == [C.DISCONNECTED]


def test_every_legal_transition_has_a_test() -> None:
    tested = {
        (C.INITIALIZED, C.CONNECTING), (C.INITIALIZED, C.DISCONNECTED),
        (C.CONNECTING, C.CONNECTED), (C.CONNECTING, C.UNAVAILABLE),
        (C.CONNECTING, C.DISCONNECTED), (C.CONNECTING, C.FAILED),
        (C.UNAVAILABLE, C.CONNECTING), (C.UNAVAILABLE, C.CONNECTED),
        (C.UNAVAILABLE, C.DISCONNECTED), (C.UNAVAILABLE, C.FAILED),
        (C.CONNECTED, C.CONNECTING), (C.CONNECTED, C.DISCONNECTED), (C.CONNECTED, C.FAILED),
        (C.DISCONNECTED, C.CONNECTING), (C.FAILED, C.CONNECTING), (C.FAILED, C.DISCONNECTED),
    }
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == tested


def test_an_illegal_transition_is_refused() -> None:
    core = in_state(C.DISCONNECTED)
    with pytest.raises(AssertionError, match="disconnected -> connected"):
        core.connection.set_state(C.CONNECTED)


def test_a_report_of_an_older_attempt_is_ignored() -> None:
    core = in_state(C.CONNECTED)
    stale = core.connection.attempt - 1
    assert core.closed_by_peer(stale, 4001, "late", None) is False
    assert core.take() == [] and core.connection.state is C.CONNECTED


def test_idle_connection_pings_then_reconnects_without_an_answer() -> None:
    core = in_state(C.CONNECTED, activity_timeout=60, pong_timeout=30)
    core.now[0] = 60
    core.timer_fired(Timer.LIVENESS)
    effects = core.take()
    assert sent(effects) == [{"event": "pusher:ping", "data": {}}]
    assert SetTimer(Timer.LIVENESS, 30.0) in effects
    core.now[0] = 90
    core.timer_fired(Timer.LIVENESS)
    effects = core.take()
    assert CloseTransport(1000) in effects and states(effects) == [C.CONNECTING]


def test_an_answer_to_the_ping_keeps_the_connection() -> None:
    core = in_state(C.CONNECTED, activity_timeout=60, pong_timeout=30)
    core.now[0] = 60
    core.timer_fired(Timer.LIVENESS)
    core.take()
    core.now[0] = 61
    core.activity(core.connection.attempt, 61.0)
    core.now[0] = 90
    core.timer_fired(Timer.LIVENESS)
    assert core.take() == [SetTimer(Timer.LIVENESS, 31.0)]


def test_a_busy_socket_is_alive_without_a_frame() -> None:
    core = in_state(C.CONNECTED, activity_timeout=60, pong_timeout=30)
    core.now[0] = 60
    core.timer_fired(Timer.LIVENESS)
    core.take()
    core.now[0] = 90
    core.timer_fired(Timer.LIVENESS, busy=True)
    assert core.take() == [SetTimer(Timer.LIVENESS, 60.0)]


def test_a_handshake_that_never_comes_is_abandoned_at_the_deadline() -> None:
    core = in_state(C.CONNECTING)
    core.timer_fired(Timer.ATTEMPT, core.connection.attempt)
    effects = core.take()
    (report,) = of(Report, effects)
    assert report.error.cause == "timeout" and CloseTransport(1000) in effects
    assert SetTimer(Timer.RETRY, 1.0) in effects


def test_failed_attempts_are_reported_once_per_interval() -> None:
    core = in_state(C.CONNECTING, reconnect=Backoff(initial=1, maximum=1, jitter=False))
    reports = []
    for second in range(40):
        core.now[0] = float(second)
        core.closed_by_peer(core.connection.attempt, None, "nobody listens", "refused")
        core.timer_fired(Timer.RETRY)
        reports += [e.error for e in of(Report, core.take())]
    assert [r.cause for r in reports] == ["refused", "refused"]
    assert "(30 failed attempts since the last report)" in str(reports[1])


def test_a_closed_core_refuses_user_calls() -> None:
    from rxpusher import ClosedError

    core = in_state(C.CONNECTED)
    assert core.close() is True and core.close() is False
    for call in (core.connect, core.reconnect, core.signin, lambda: core.pin("c")):
        with pytest.raises(ClosedError):
            call()


def test_ping_goes_out_only_while_connected() -> None:
    core = in_state(C.CONNECTING)
    core.ping()
    assert core.take() == []
    core = in_state(C.CONNECTED)
    core.ping()
    assert of(Send, core.take()) == [Send('{"event":"pusher:ping","data":{}}')]


def test_4200_reconnects_at_once_only_after_a_connection_that_lasted() -> None:
    core = in_state(C.CONNECTED, activity_timeout=60, reconnect=Backoff(initial=2, jitter=False))
    core.closed_by_peer(core.connection.attempt, 4200, "restart", None)
    assert SetTimer(Timer.RETRY, 2.0) in core.take()  # up for 0 s: backs off
    core.timer_fired(Timer.RETRY)
    receive(core, "pusher:connection_established", {"socket_id": "2.2"})
    core.now[0] = 60.0
    core.closed_by_peer(core.connection.attempt, 4200, "restart", None)
    assert SetTimer(Timer.RETRY, 0.0) in core.take()  # up for activity_timeout: at once


def test_a_refusal_without_a_reason_carries_the_pusher_error_message() -> None:
    core = in_state(C.CONNECTED)
    receive(core, "pusher:error", {"code": 4001, "message": "App key does not exist"})
    core.closed_by_peer(core.connection.attempt, 4001, "", None)
    (report,) = of(Report, core.take())
    assert report.error.reason == "App key does not exist"


def test_identical_server_errors_are_reported_once_per_window() -> None:
    core = in_state(C.CONNECTED)
    reports = []
    for second in (0.0, 1.0, 2.0, 61.0):
        core.now[0] = second
        effects = receive(core, "pusher:error", {"code": 4301, "message": "rate limited"})
        reports += [str(e.error) for e in of(Report, effects)]
    assert reports == ["server error (4301): rate limited",
                       "server error (4301): rate limited (repeated 2 times since the last report)"]
