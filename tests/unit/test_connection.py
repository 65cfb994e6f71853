"""The connection state machine in virtual time: liveness, unavailable, close codes, backoff."""

from __future__ import annotations

import pytest

from rxpusher import Backoff, ConnectionRefused, PusherError, ServerError

from .support import record


def pings(server) -> int:
    return len(server.sent("pusher:ping"))


@pytest.fixture
def timed(server, sched):
    """A transport factory that records the virtual time of every attempt."""
    times: list[float] = []

    def factory():
        times.append(sched.clock)
        return server.transport()

    factory.times = times  # type: ignore[attr-defined]
    return factory


# ---- states ---------------------------------------------------------------------------

def test_state_goes_initialized_connecting_connected(make_pusher, server) -> None:
    p = make_pusher(auto_connect=False)
    states = record(p.state)
    p.connect()
    server.handshake(socket_id="1.2")
    assert states.items == ["initialized", "connecting", "connected"]
    assert p.connection_state == "connected"
    assert p.socket_id == "1.2"


def test_state_replays_the_current_value_to_each_new_observer(pusher) -> None:
    assert record(pusher.state).items == ["connected"]
    assert record(pusher.state).items == ["connected"]


def test_connect_while_connected_or_connecting_opens_nothing_new(make_pusher, server) -> None:
    p = make_pusher()
    p.connect()
    assert server.attempts == 1
    server.handshake()
    p.connect()
    assert server.attempts == 1


def test_handshake_without_socket_id_is_reported_and_not_connected(make_pusher, server) -> None:
    p = make_pusher()
    errors = record(p.errors)
    server.push("pusher:connection_established", {"activity_timeout": 10})
    assert p.connection_state == "connecting"
    assert len(errors.items) == 1
    assert isinstance(errors.items[0], PusherError)


def test_disconnect_goes_disconnected_and_never_reconnects(pusher, server, sched) -> None:
    states = record(pusher.state)
    pusher.disconnect()
    assert states.items == ["connected", "disconnected"]
    assert pusher.socket_id is None
    assert server.current.closed_with == 1000
    sched.advance_by(3600)
    assert server.attempts == 1
    assert pusher.connection_state == "disconnected"


def test_connect_after_disconnect_opens_a_new_transport(pusher, server) -> None:
    pusher.disconnect()
    pusher.connect()
    assert server.attempts == 2
    server.handshake(socket_id="2.2")
    assert pusher.connection_state == "connected"
    assert pusher.socket_id == "2.2"


def test_frames_from_a_replaced_transport_are_ignored(pusher, server) -> None:
    old = server.current
    got = record(pusher.frames)
    pusher.disconnect()
    pusher.connect()
    old.listener.on_frame('{"event":"e","channel":"c","data":"1"}')
    assert got.items == []


def test_close_report_from_a_replaced_transport_is_ignored(pusher, server) -> None:
    old = server.current
    pusher.disconnect()
    pusher.connect()
    server.handshake(socket_id="2.2")
    old.listener.on_close(4001, "stale")
    assert pusher.connection_state == "connected"
    assert pusher.socket_id == "2.2"


# ---- activity / ping / pong ---------------------------------------------------------------

def test_ping_after_activity_timeout_of_inbound_silence(make_pusher, server, sched) -> None:
    make_pusher(activity_timeout=120)
    server.handshake(activity_timeout=120)
    sched.advance_by(119.9)
    assert pings(server) == 0
    sched.advance_by(0.1)
    assert pings(server) == 1


def test_ping_frame_is_pusher_ping_with_empty_data(make_pusher, server, sched) -> None:
    make_pusher()
    server.handshake(activity_timeout=5)
    sched.advance_by(5)
    assert server.sent("pusher:ping") == [{"event": "pusher:ping", "data": {}}]


def test_server_activity_timeout_smaller_than_option_wins(make_pusher, server, sched) -> None:
    p = make_pusher(activity_timeout=120)
    server.handshake(activity_timeout=30)
    sched.advance_by(29.9)
    assert pings(server) == 0
    sched.advance_by(0.1)
    assert pings(server) == 1
    assert p.activity_timeout == 30


def test_option_activity_timeout_smaller_than_server_wins(make_pusher, server, sched) -> None:
    make_pusher(activity_timeout=20)
    server.handshake(activity_timeout=120)
    sched.advance_by(19.9)
    assert pings(server) == 0
    sched.advance_by(0.1)
    assert pings(server) == 1


def test_handshake_without_activity_timeout_uses_the_option(make_pusher, server, sched) -> None:
    make_pusher(activity_timeout=45)
    server.handshake(activity_timeout=None)
    sched.advance_by(44.9)
    assert pings(server) == 0
    sched.advance_by(0.1)
    assert pings(server) == 1


def test_any_inbound_frame_resets_the_idle_clock(make_pusher, server, sched) -> None:
    make_pusher()
    server.handshake(activity_timeout=60)
    sched.advance_by(50)
    server.push("some-event", {}, channel="c")
    sched.advance_by(50)  # t=100: 50 s since the last frame
    assert pings(server) == 0
    sched.advance_by(10)  # t=110: 60 s of silence
    assert pings(server) == 1


def test_websocket_control_frames_count_as_activity(make_pusher, server, sched) -> None:
    make_pusher()
    server.handshake(activity_timeout=60)
    sched.advance_by(50)
    server.current.listener.on_activity()  # a WebSocket ping/pong control frame
    sched.advance_by(50)
    assert pings(server) == 0
    sched.advance_by(10)
    assert pings(server) == 1


def test_unparseable_frame_still_counts_as_activity(make_pusher, server, sched) -> None:
    make_pusher()
    server.handshake(activity_timeout=60)
    sched.advance_by(50)
    server.current.receive("garbage")
    sched.advance_by(50)
    assert pings(server) == 0


def test_no_ping_after_outbound_traffic_only(make_pusher, server, sched) -> None:
    """Only inbound frames count: a subscribe we send does not postpone the ping."""
    p = make_pusher()
    server.handshake(activity_timeout=60)
    sched.advance_by(50)
    p.subscribe("c")
    sched.advance_by(10)
    assert pings(server) == 1


def test_pong_timeout_reconnects_on_a_new_transport(make_pusher, server, sched) -> None:
    p = make_pusher(pong_timeout=30)
    server.handshake(activity_timeout=60)
    first = server.current
    sched.advance_by(60)
    assert pings(server) == 1
    sched.advance_by(29.9)
    assert server.attempts == 1
    sched.advance_by(0.1)
    assert first.closed_with is not None
    assert p.connection_state == "connecting"
    sched.advance_by(1.0)  # the first reconnect delay of Backoff(jitter=False)
    assert server.attempts == 2
    assert server.current is not first


def test_answer_after_ping_keeps_the_connection(make_pusher, server, sched) -> None:
    p = make_pusher(pong_timeout=30)
    server.handshake(activity_timeout=60)
    sched.advance_by(60)
    sched.advance_by(1)
    server.push("pusher:pong", {})  # t=61
    sched.advance_by(50)  # t=111: past the pong timeout, before the next idle period ends
    assert server.attempts == 1
    assert p.connection_state == "connected"


def test_pong_at_the_same_instant_as_the_ping_keeps_the_connection(make_pusher, server, sched) -> None:
    """The answer arrives after the ping was sent, even if the clock has not moved."""
    p = make_pusher(pong_timeout=30)
    server.handshake(activity_timeout=60)
    sched.advance_by(60)
    assert pings(server) == 1
    server.push("pusher:pong", {})
    sched.advance_by(31)
    assert server.attempts == 1
    assert p.connection_state == "connected"


def test_ping_again_after_another_idle_period_following_a_pong(make_pusher, server, sched) -> None:
    make_pusher(pong_timeout=30)
    server.handshake(activity_timeout=60)
    sched.advance_by(60)
    sched.advance_by(1)
    server.push("pusher:pong", {})  # t=61
    sched.advance_by(59.9)
    assert pings(server) == 1
    sched.advance_by(0.1)  # t=121
    assert pings(server) == 2


def test_explicit_ping_reconnects_without_answer(pusher, server, sched) -> None:
    pusher.ping()
    assert pings(server) == 1
    sched.advance_by(30)
    sched.advance_by(1)
    assert server.attempts == 2


def test_server_ping_is_answered_with_pong(pusher, server) -> None:
    server.push("pusher:ping", {})
    assert [f["event"] for f in server.sent("pusher:pong")] == ["pusher:pong"]


def test_no_ping_while_disconnected(pusher, server, sched) -> None:
    pusher.disconnect()
    sched.advance_by(1000)
    assert pings(server) == 0


# ---- unavailable ----------------------------------------------------------------------------

def test_unavailable_after_unavailable_timeout_in_connecting(make_pusher, server, sched) -> None:
    p = make_pusher(unavailable_timeout=10, connect_timeout=60)
    states = record(p.state)
    sched.advance_by(9.9)
    assert p.connection_state == "connecting"
    sched.advance_by(0.1)
    assert p.connection_state == "unavailable"
    server.handshake()
    assert states.items == ["connecting", "unavailable", "connected"]


def test_unavailable_timer_is_not_restarted_by_each_failed_attempt(make_pusher, server, sched) -> None:
    p = make_pusher(unavailable_timeout=10)
    sched.advance_by(4)
    server.current.drop(None)  # retry after 1 s
    sched.advance_by(1)
    assert server.attempts == 2
    sched.advance_by(4.9)  # t=9.9
    assert p.connection_state == "connecting"
    sched.advance_by(0.1)  # t=10: 10 s since the state became connecting
    assert p.connection_state == "unavailable"


def test_unavailable_counts_from_a_connection_drop(pusher, server, sched) -> None:
    sched.advance_by(50)
    server.current.drop(1006)
    assert pusher.connection_state == "connecting"
    sched.advance_by(9.9)
    assert pusher.connection_state == "connecting"
    sched.advance_by(0.1)
    assert pusher.connection_state == "unavailable"


def test_no_unavailable_once_connected(make_pusher, server, sched) -> None:
    p = make_pusher(unavailable_timeout=10)
    server.handshake()
    sched.advance_by(11)
    assert p.connection_state == "connected"


# ---- close codes -------------------------------------------------------------------------------

def test_close_4000_reconnects_at_once_with_tls(make_pusher, server, sched) -> None:
    p = make_pusher(host="h", use_tls=False)
    server.handshake()
    assert server.current.url.startswith("ws://")
    server.current.drop(4000, "use TLS")
    sched.advance_by(0.001)
    assert server.attempts == 2
    assert server.current.url.startswith("wss://h:443/")
    server.handshake()
    assert p.connection_state == "connected"


@pytest.mark.parametrize("code", [4001, 4004, 4009, 4099, 4300, 4301, 4999])
def test_refusing_codes_do_not_reconnect(pusher, server, sched, code: int) -> None:
    states = record(pusher.state)
    server.current.drop(code, "go away")
    sched.advance_by(3600)
    assert server.attempts == 1
    assert pusher.connection_state == "disconnected"
    assert states.items[-1] == "disconnected"
    assert pusher.socket_id is None


@pytest.mark.parametrize("code", [4001, 4300])
def test_refusal_errors_channel_and_global_event_streams_with_connection_refused(
    pusher, server, code: int
) -> None:
    channel_events = record(pusher.channel("c").events("e"))
    channel_all = record(pusher.channel("c").events())
    global_named = record(pusher.events("e"))
    global_all = record(pusher.events())
    server.current.drop(code, "over quota")
    for stream in (channel_events, channel_all, global_named, global_all):
        error = stream.error
        assert isinstance(error, ConnectionRefused), stream.errors
        assert error.code == code
        assert error.reason == "over quota"


def test_refusal_leaves_frames_messages_state_and_errors_open(pusher, server) -> None:
    streams = [record(pusher.frames), record(pusher.messages), record(pusher.state),
               record(pusher.errors)]
    server.current.drop(4001, "nope")
    assert all(not s.terminated for s in streams)


def test_refusal_is_reported_on_errors(pusher, server) -> None:
    errors = record(pusher.errors)
    server.current.drop(4003, "app disabled")
    refused = [e for e in errors.items if isinstance(e, ConnectionRefused)]
    assert len(refused) == 1
    assert refused[0].code == 4003


def test_connect_works_again_after_a_refusal(pusher, server) -> None:
    frames = record(pusher.frames)
    server.current.drop(4001, "nope")
    pusher.connect()
    assert server.attempts == 2
    server.handshake(socket_id="3.3")
    assert pusher.connection_state == "connected"
    assert '"pusher:connection_established"' in frames.items[-1]


def test_refusal_while_connecting_cancels_the_unavailable_timer(make_pusher, server, sched) -> None:
    p = make_pusher(unavailable_timeout=10)
    server.current.drop(4001, "nope")
    sched.advance_by(20)
    assert p.connection_state == "disconnected"


def test_pusher_error_without_close_is_reported_and_the_drop_reconnects(pusher, server, sched) -> None:
    """Only the close code decides (as in pusher-js): a pusher:error 4001 followed by a plain
    TCP drop is reported, and the drop is an ordinary loss that backs off and reconnects."""
    errors = record(pusher.errors)
    server.push("pusher:error", {"code": 4001, "message": "app does not exist"})
    server.current.drop(None)
    sched.advance_by(1.0)
    assert server.attempts == 2
    assert pusher.connection_state == "connecting"
    assert any(isinstance(e, ServerError) and e.code == 4001 for e in errors.items)
    assert not any(isinstance(e, ConnectionRefused) for e in errors.items)


@pytest.mark.parametrize("code", [4100, 4150, 4199])
def test_close_41xx_reconnects_after_backoff(pusher, server, sched, code: int) -> None:
    server.current.drop(code, "over capacity")
    sched.advance_by(0.9)
    assert server.attempts == 1
    sched.advance_by(0.1)
    assert server.attempts == 2


@pytest.mark.parametrize("code", [4200, 4201, 4299])
def test_close_42xx_after_a_connection_that_lasted_reconnects_immediately(
        make_pusher, server, sched, code: int) -> None:
    p = make_pusher()
    server.handshake(activity_timeout=30)
    sched.advance_by(30)  # up for activity_timeout: the server really asks for a fresh start
    server.current.drop(code, "reconnect")
    assert p.connection_state == "connecting"
    sched.advance_by(0.001)
    assert server.attempts == 2


@pytest.mark.parametrize("code", [4200, 4201, 4299])
def test_close_42xx_right_after_connecting_backs_off(make_pusher, server, sched, code: int) -> None:
    make_pusher()
    server.handshake(activity_timeout=30)
    sched.advance_by(29)
    server.current.drop(code, "Server is closing")
    sched.advance_by(0.999)
    assert server.attempts == 1
    sched.advance_by(0.001)
    assert server.attempts == 2


def test_close_42xx_on_every_attempt_is_spaced_by_the_backoff(make_pusher, server, sched, timed) -> None:
    """A draining server answers every attempt with 4200: one attempt per backoff step,
    not a storm (1,846 attempts in 3 s before)."""
    make_pusher(transport=timed)
    for _ in range(7):
        opened = server.attempts
        server.current.drop(4200, "Server is closing")
        while server.attempts == opened:
            sched.advance_by(0.25)
    gaps = [round(b - a, 2) for a, b in zip(timed.times, timed.times[1:])]
    assert gaps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_handshake_then_drop_on_every_attempt_keeps_backing_off(make_pusher, server, sched, timed) -> None:
    """A server that completes the handshake and then drops the TCP connection every time:
    the handshake alone does not reset the backoff."""
    make_pusher(transport=timed)
    for _ in range(6):
        opened = server.attempts
        server.handshake(activity_timeout=30)
        server.current.drop(None)
        while server.attempts == opened:
            sched.advance_by(0.25)
    gaps = [round(b - a, 2) for a, b in zip(timed.times, timed.times[1:])]
    assert gaps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]


def test_close_4000_retries_with_tls_at_once_then_backs_off(make_pusher, server, sched) -> None:
    p = make_pusher(use_tls=False)
    server.current.drop(4000, "use TLS")
    sched.advance_by(0.001)
    assert server.attempts == 2
    assert p.url.startswith("wss://")
    server.current.drop(4000, "use TLS")  # already on TLS: no loop
    sched.advance_by(0.999)
    assert server.attempts == 2
    sched.advance_by(0.001)
    assert server.attempts == 3


@pytest.mark.parametrize("code", [None, 1000, 1001, 1006, 1011, 3000])
def test_other_codes_reconnect_after_backoff(pusher, server, sched, code) -> None:
    server.current.drop(code, "")
    assert pusher.connection_state == "connecting"
    sched.advance_by(0.9)
    assert server.attempts == 1
    sched.advance_by(0.1)
    assert server.attempts == 2


def test_reconnect_after_a_drop_does_not_error_event_streams(pusher, server, sched) -> None:
    streams = [record(pusher.events()), record(pusher.channel("c").events()), record(pusher.frames)]
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake()
    assert all(not s.terminated for s in streams)


# ---- backoff ------------------------------------------------------------------------------------

def test_backoff_delays_grow_1_2_4_8_16_then_stay_at_30(make_pusher, server, sched, timed) -> None:
    make_pusher(transport=timed, reconnect=Backoff(initial=1.0, maximum=30.0, jitter=False))
    for _ in range(8):
        opened = server.attempts
        server.current.drop(None, "refused")
        dropped_at = sched.clock
        while server.attempts == opened:
            sched.advance_by(0.5)
        timed.times[-1] = timed.times[-1] - dropped_at  # delay of this retry
    assert timed.times[1:] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_backoff_resets_after_a_successful_handshake(make_pusher, server, sched, timed) -> None:
    make_pusher(transport=timed, reconnect=Backoff(jitter=False))
    for delay in (1.0, 2.0, 4.0):
        server.current.drop(None)
        sched.advance_by(delay)
    assert server.attempts == 4
    server.handshake(activity_timeout=30)
    sched.advance_by(30)  # the connection lasted activity_timeout
    server.current.drop(1006)
    sched.advance_by(0.9)
    assert server.attempts == 4
    sched.advance_by(0.1)
    assert server.attempts == 5


def test_backoff_does_not_reset_after_a_connection_shorter_than_activity_timeout(
        make_pusher, server, sched, timed) -> None:
    make_pusher(transport=timed, reconnect=Backoff(jitter=False))
    for delay in (1.0, 2.0, 4.0):
        server.current.drop(None)
        sched.advance_by(delay)
    server.handshake(activity_timeout=30)
    sched.advance_by(29.9)
    server.current.drop(1006)
    sched.advance_by(7.9)
    assert server.attempts == 4
    sched.advance_by(0.1)  # the next step of the same backoff: 8 s
    assert server.attempts == 5


def test_connect_after_disconnect_resets_the_backoff(make_pusher, server, sched) -> None:
    p = make_pusher()
    for delay in (1.0, 2.0, 4.0):
        server.current.drop(None)
        sched.advance_by(delay)
    p.disconnect()
    p.connect()
    attempts = server.attempts
    server.current.drop(None)
    sched.advance_by(1.0)
    assert server.attempts == attempts + 1


def test_jittered_backoff_waits_between_half_and_full_delay(make_pusher, server, sched, timed) -> None:
    make_pusher(transport=timed, reconnect=Backoff(initial=4.0, maximum=4.0, jitter=True))
    for _ in range(5):
        opened = server.attempts
        server.current.drop(None)
        sched.advance_by(1.999)
        assert server.attempts == opened  # never before half the delay
        sched.advance_by(2.001)
        assert server.attempts == opened + 1  # always by the full delay


def test_never_gives_up_by_default(make_pusher, server, sched) -> None:
    p = make_pusher(connect_timeout=1000)  # only the drops fail the attempts
    for _ in range(50):
        server.current.drop(None)
        sched.advance_by(30)
    assert server.attempts == 51
    assert p.connection_state in ("connecting", "unavailable")


def test_max_attempts_exhausted_goes_failed(make_pusher, server, sched) -> None:
    p = make_pusher(reconnect=Backoff(jitter=False, max_attempts=2))
    errors = record(p.errors)
    for _ in range(3):
        server.current.drop(None)
        sched.advance_by(10)
    assert server.attempts == 3
    assert p.connection_state == "failed"
    assert errors.items and isinstance(errors.items[-1], PusherError)
    sched.advance_by(1000)
    assert server.attempts == 3


def test_drop_while_disconnect_requested_does_not_reconnect(pusher, server, sched) -> None:
    transport = server.current
    pusher.disconnect()
    transport.listener.on_close(1006, "late")  # stale report after disconnect
    sched.advance_by(100)
    assert server.attempts == 1


def test_disconnect_while_connecting_cancels_unavailable_and_retries(make_pusher, server, sched) -> None:
    p = make_pusher(unavailable_timeout=10)
    p.disconnect()
    sched.advance_by(60)
    assert p.connection_state == "disconnected"
    assert server.attempts == 1


def test_state_is_disconnected_after_close(pusher) -> None:
    states = record(pusher.state)
    pusher.close()
    assert states.items == ["connected", "disconnected"]
    assert states.completed
    assert pusher.connection_state == "disconnected"
    assert pusher.socket_id is None


def test_backoff_after_a_pong_timeout_starts_from_initial(make_pusher, server, sched) -> None:
    make_pusher(pong_timeout=10, connect_timeout=1000)
    for _ in range(3):  # three failed attempts first: the next delay would be 8 s
        server.current.drop(None)
        sched.advance_by(30)
    server.handshake(activity_timeout=20)
    sched.advance_by(20 + 10)  # ping, then no answer
    attempts = server.attempts
    sched.advance_by(1.0)
    assert server.attempts == attempts + 1


def test_activity_timer_restarts_with_each_new_connection(make_pusher, server, sched) -> None:
    make_pusher()
    server.handshake(activity_timeout=60)
    sched.advance_by(30)
    server.current.drop(1006)
    sched.advance_by(1)  # t=31: reconnect
    server.handshake(activity_timeout=60)
    sched.advance_by(59.9)  # t=90.9
    assert pings(server) == 0
    sched.advance_by(0.1)  # t=91
    assert pings(server) == 1
    assert server.current.sent[-1]["event"] == "pusher:ping"


def test_pong_timer_of_a_previous_connection_does_not_drop_the_new_one(make_pusher, server, sched) -> None:
    p = make_pusher(pong_timeout=30)
    server.handshake(activity_timeout=60)
    sched.advance_by(60)  # ping sent
    p.disconnect()
    p.connect()
    server.handshake(activity_timeout=60)
    sched.advance_by(30)  # the old pong deadline passes
    assert server.attempts == 2
    assert p.connection_state == "connected"


def test_unavailable_timer_runs_again_after_connect_following_a_refusal(pusher, server, sched) -> None:
    server.current.drop(4001, "refused")
    sched.advance_by(100)
    pusher.connect()
    sched.advance_by(9.9)
    assert pusher.connection_state == "connecting"
    sched.advance_by(0.1)
    assert pusher.connection_state == "unavailable"


def test_handshake_data_sent_as_an_object_is_accepted(make_pusher, server) -> None:
    p = make_pusher()
    server.push("pusher:connection_established", {"socket_id": "7.7", "activity_timeout": 30},
                encode=False)
    assert p.connection_state == "connected"
    assert p.socket_id == "7.7"


def test_early_pong_with_long_pong_timeout_does_not_delay_the_next_ping(make_pusher, server, sched) -> None:
    make_pusher(activity_timeout=10, pong_timeout=100)
    server.handshake(activity_timeout=None)
    sched.advance_by(10)
    assert pings(server) == 1
    sched.advance_by(1)
    server.push("pusher:pong", {})          # answered at t=11
    sched.advance_by(9.5)
    assert pings(server) == 1               # idle 9.5 s: not yet
    sched.advance_by(1)
    assert pings(server) == 2               # idle 10 s after the pong: pinged again
    assert server.attempts == 1
