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


# ---- an error reaching an observer without on_error ------------------------------------

@pytest.fixture
def no_logging(monkeypatch):
    """As in a plain script: no logging handler anywhere (pytest installs its own on the
    root logger; the subprocess tests in tests/integration check the real thing)."""
    from rxpusher._internal import unhandled

    monkeypatch.setattr(unhandled, "logging_configured", lambda: False)


def test_an_unhandled_refusal_is_itself_on_errors_and_one_line_on_stderr(
        make_pusher, server, capsys, no_logging) -> None:
    p = make_pusher()
    errors = record(p.errors)
    p.channel("prices").events("new-price").subscribe(print)  # the README quickstart
    p.channel("news").events().subscribe(print)
    refuse_like_soketi(server)
    kinds = [type(e).__name__ for e in errors.items]
    assert "ObserverError" not in kinds
    assert kinds.count("ServerRefusedError") == 1  # not once more per stream
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rxpusher: unhandled ServerRefusedError: ")
    assert WRONG_KEY in lines[0] and "on_error" in lines[0] and "'rxpusher' logger" in lines[0]


def test_an_unhandled_error_goes_to_the_logging_handler_instead_of_stderr(
        make_pusher, server, capsys, caplog) -> None:
    p = make_pusher()
    p.channel("prices").events("new-price").subscribe(print)
    with caplog.at_level(logging.ERROR, logger="rxpusher"):
        refuse_like_soketi(server)
    assert capsys.readouterr().err == ""
    assert [r.getMessage() for r in caplog.records if "unhandled" in r.getMessage()] == [
        caplog.records[-1].getMessage()]
    assert "ServerRefusedError" in caplog.records[-1].getMessage()


def test_an_observer_with_on_error_shows_nothing(make_pusher, server, capsys, no_logging) -> None:
    p = make_pusher()
    seen: list[Exception] = []
    p.channel("prices").events().subscribe(print, seen.append)
    refuse_like_soketi(server)
    assert isinstance(seen[0], ConnectionRefused)
    assert capsys.readouterr().err == ""


def test_an_unhandled_subscription_error_is_itself_not_an_observer_error(
        make_pusher, server, capsys, no_logging) -> None:
    from rxpusher import SubscriptionError

    p = make_pusher()
    server.handshake()
    errors = record(p.errors)
    p.channel("private-x").events().subscribe(print)  # no way to authorize it
    assert [type(e) for e in errors.items] == [SubscriptionError]
    assert "unhandled SubscriptionError" in capsys.readouterr().err


def test_an_observer_that_raises_its_own_exception_is_still_an_observer_error(
        make_pusher, server) -> None:
    from rxpusher import ObserverError

    p = make_pusher()
    server.handshake()
    errors = record(p.errors)

    def fails(error: Exception) -> None:
        raise RuntimeError("my bug")

    p.channel("c").events().subscribe(print, fails)
    server.current.drop(4001, "")
    assert any(isinstance(e, ObserverError) and isinstance(e.__cause__, RuntimeError)
               for e in errors.items)


def test_an_unhandled_error_with_the_scheduler_option_is_shown_once(
        make_pusher, server, capsys, no_logging) -> None:
    from reactivex.scheduler import ImmediateScheduler

    p = make_pusher(scheduler=ImmediateScheduler())
    errors = record(p.errors)
    p.channel("prices").events().subscribe(print)
    refuse_like_soketi(server)
    assert "ObserverError" not in [type(e).__name__ for e in errors.items]
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_a_client_that_cannot_connect_says_so_once_when_nobody_watches_errors(
        make_pusher, server, sched, capsys, no_logging) -> None:
    """cluster="eu" without a network: one line, not silence, and not one per attempt."""
    make_pusher(connect_timeout=1000)
    for _ in range(5):
        server.current.drop(None, "socket.gaierror: [Errno -3] Temporary failure in name resolution",
                            "dns")
        sched.advance_by(30)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "ConnectAttemptError: cannot connect to" in lines[0] and "(dns)" in lines[0]
    assert "retries with backoff" in lines[0]
    server.handshake()  # the next outage is told again
    server.current.drop(None)
    sched.advance_by(30)
    server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused", "refused")
    assert "(refused)" in capsys.readouterr().err


def test_an_observer_of_errors_replaces_the_stderr_line(make_pusher, server, capsys, no_logging) -> None:
    p = make_pusher()
    errors = record(p.errors)
    server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused", "refused")
    assert errors.items and capsys.readouterr().err == ""


# ---- friction: messages that say what to do ----------------------------------------------

def test_tls_to_a_plain_port_suggests_use_tls_false() -> None:
    from rxpusher import ConnectAttemptError

    error = ConnectAttemptError("wss://127.0.0.1:6001/app/k", "tls",
                                "SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert "use_tls=False" in str(error) and "--no-tls" in str(error)
    other = ConnectAttemptError("wss://h/app/k", "tls", "certificate verify failed")
    assert "use_tls" not in str(other)
    silent = ConnectAttemptError("wss://127.0.0.1:6001/app/k", "timeout", "no handshake")
    assert "use_tls=False" in str(silent)  # some plain servers never answer a TLS hello
    pusher = ConnectAttemptError("wss://ws-eu.pusher.com:443/app/k", "timeout", "no handshake")
    assert "use_tls" not in str(pusher)


def test_a_refusing_proxy_is_named_as_the_proxy(make_pusher, server) -> None:
    from rxpusher import ConnectAttemptError

    p = make_pusher(proxy="http://user:pw@127.0.0.1:3128")
    errors = record(p.errors)
    server.current.drop(None, "ConnectionRefusedError: [Errno 111] Connection refused", "refused")
    attempt = next(e for e in errors.items if isinstance(e, ConnectAttemptError))
    assert attempt.cause == "proxy"
    assert "the proxy 127.0.0.1:3128 failed" in str(attempt) and "pw" not in str(attempt)


def test_a_socks_proxy_without_the_extra_names_the_extra(monkeypatch) -> None:
    import importlib.util

    import rxpusher

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "python_socks" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'rxpusher\[socks\]'"):
        rxpusher.Pusher("k", proxy="socks5://127.0.0.1:1080", auto_connect=False)


def test_presence_signed_with_the_secret_but_without_channel_data_says_what_to_pass(
        make_pusher, server) -> None:
    from rxpusher import SubscriptionError

    p = make_pusher(secret="s")
    server.handshake()
    stream = record(p.channel("presence-room").events())
    assert isinstance(stream.error, SubscriptionError)
    assert "channel_data={'user_id'" in stream.error.message and "--channel-data" in stream.error.message


# ---- friction: states and timing -------------------------------------------------------------

def test_after_close_a_channel_state_stream_ends_on_unsubscribed(pusher, server) -> None:
    channel = pusher.channel("c")
    channel.events().subscribe(lambda _: None, lambda _: None)
    server.succeed("c")
    states = record(channel.state)
    pusher.close()
    assert states.items[-1] == "unsubscribed" and states.completed
    assert "unsubscribed" in repr(channel)


def test_wait_subscribed_returns_after_observers_have_seen_subscribed(pusher, server) -> None:
    channel = pusher.channel("c")
    gate = threading.Event()
    seen: list[str] = []

    def slow(state: str) -> None:
        if state == "subscribed":
            gate.wait(5)
        seen.append(state)

    channel.state.subscribe(slow)
    channel.events().subscribe(lambda _: None)
    confirming = threading.Thread(target=server.succeed, args=("c",))
    confirming.start()  # the observer now blocks in the lane, "subscribed" in hand
    waiter = threading.Thread(target=channel.wait_subscribed, args=(5,))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # not before the observer has seen it
    gate.set()
    waiter.join(5)
    confirming.join(5)
    assert not waiter.is_alive() and seen[-1] == "subscribed"


def test_thread_storm_waiters_and_unhandled_observers_see_one_refusal(
        make_pusher, server, capsys, no_logging) -> None:
    """20 threads subscribe without on_error and wait while the refusal arrives: every
    waiter raises it, it is on errors once and on stderr once."""
    from .support import rxpusher_threads

    baseline = set(rxpusher_threads())
    p = make_pusher()
    errors = record(p.errors)
    ready = threading.Barrier(21)
    raised: list[BaseException] = []

    def worker(n: int) -> None:
        p.channel(f"c{n}").events().subscribe(print)
        ready.wait(5)
        try:
            p.wait_connected(timeout=5)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            raised.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    ready.wait(5)
    refuse_like_soketi(server)
    for thread in threads:
        thread.join(5)
    assert len(raised) == 20 and all(isinstance(e, ConnectionRefused) for e in raised)
    assert len({id(e) for e in raised}) == 1  # the one refusal
    assert [type(e).__name__ for e in errors.items].count("ServerRefusedError") == 1
    assert "ObserverError" not in [type(e).__name__ for e in errors.items]
    assert len(capsys.readouterr().err.splitlines()) == 1
    p.close()
    assert set(rxpusher_threads()) <= baseline
