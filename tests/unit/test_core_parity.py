"""The core's client-event pacing, chunked events, sign-in errors and switch_cluster:
inputs in, effects out (no thread, a fake clock)."""

from __future__ import annotations

import json

import pytest

from rxpusher import (
    AuthenticationError,
    BufferOverflowError,
    ProtocolError,
    RateLimitError,
    SendError,
    ServerError,
)
from rxpusher._core import STEP, Timer
from rxpusher._core.effects import CancelTimer, Changed, Open, Report, SetTimer
from rxpusher._router import USER
from rxpusher._states import ConnectionState

from .coretools import connected, delivered, frame, make_core, of, receive, sent

CHAT = "private-chat"


def chat_core(**options):
    core = make_core(secret="s", **options)
    connected(core)
    core.pin(CHAT)
    receive(core, "pusher_internal:subscription_succeeded", {}, CHAT)
    core.take()
    return core


def texts(n: int, start: int = 0) -> list[str]:
    return [json.dumps({"event": "client-n", "channel": CHAT, "data": {"i": i}})
            for i in range(start, start + n)]


# ---- client events ----------------------------------------------------------------------------


def test_trigger_lets_out_ten_and_sets_the_timer_for_the_rest() -> None:
    core = chat_core()
    attempt, ready = core.trigger(CHAT, "client-n", texts(12))
    assert attempt == core.connection.attempt and ready == texts(10)
    [timer] = of(SetTimer, core.take())
    assert timer.timer is Timer.CLIENT_EVENTS and timer.delay == pytest.approx(1.05)
    core.now[0] = timer.delay
    core.timer_fired(Timer.CLIENT_EVENTS)
    effects = core.take()
    assert sent(effects) == [json.loads(t) for t in texts(2, 10)]
    assert CancelTimer(Timer.CLIENT_EVENTS) in effects


def test_trigger_that_cannot_go_out_raises_and_queues_nothing() -> None:
    core = chat_core(client_event_queue=2)
    core.trigger(CHAT, "client-n", texts(10))
    with pytest.raises(BufferOverflowError):
        core.trigger(CHAT, "client-n", texts(3, 10))
    assert len(core.client_events.pacer) == 0
    core.disconnect()
    with pytest.raises(SendError):
        core.trigger(CHAT, "client-n", texts(1))


def test_events_waiting_when_the_connection_is_lost_are_reported() -> None:
    core = chat_core()
    core.trigger(CHAT, "client-n", texts(13))
    core.take()
    core.closed_by_peer(core.connection.attempt, 1006, "", None)
    effects = core.take()
    [report] = [r for r in of(Report, effects) if isinstance(r.error, SendError)]
    assert "3 client events not sent" in str(report.error)
    assert CancelTimer(Timer.CLIENT_EVENTS) in effects


def test_a_4301_is_a_rate_limit_error_and_halves_the_pace() -> None:
    core = chat_core()
    effects = receive(core, "pusher:error", {"code": 4301, "message": "rejected"})
    [report] = of(Report, effects)
    assert isinstance(report.error, RateLimitError) and report.error.code == 4301
    assert core.connection.state is ConnectionState.CONNECTED
    _, ready = core.trigger(CHAT, "client-n", texts(10))
    assert ready == texts(5)


# ---- chunked events ---------------------------------------------------------------------------


def parts(text: str, size: int) -> list[dict]:
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    return [{"id": "m", "index": i, "chunk": p, "final": i == len(pieces) - 1}
            for i, p in enumerate(pieces)]


def test_parts_are_stepped_and_the_whole_is_delivered_once_complete() -> None:
    core = make_core()
    connected(core)
    event, _ = frame("chunked-report", {"id": "m", "index": 0, "chunk": "[1", "final": False},
                     "reports")
    assert core.route(event) is STEP
    first, *rest = parts(json.dumps([1, 2, 3]), 3)
    for part in reversed(rest):
        effects = receive(core, "chunked-report", part, "reports")
        assert [d[0] for d in delivered(effects)] == ["chunked-report"]
    [timer] = of(SetTimer, effects)
    assert timer.timer is Timer.CHUNKS and timer.delay == 30.0
    effects = receive(core, "chunked-report", first, "reports")
    assert delivered(effects) == [
        ("chunked-report", "reports", first), ("report", "reports", [1, 2, 3])]
    assert CancelTimer(Timer.CHUNKS) in effects


def test_an_incomplete_message_is_dropped_when_the_chunk_timer_fires() -> None:
    core = make_core(chunk_timeout=5.0)
    connected(core)
    receive(core, "chunked-e", {"id": "m", "index": 0, "chunk": "x"}, "c")
    core.now[0] = 5.0
    core.timer_fired(Timer.CHUNKS)
    [report] = of(Report, core.take())
    assert isinstance(report.error, ProtocolError) and "chunk_timeout" in str(report.error)


def test_a_duplicate_part_is_reported() -> None:
    core = make_core()
    connected(core)
    receive(core, "chunked-e", {"id": "m", "index": 0, "chunk": "x"}, "c")
    effects = receive(core, "chunked-e", {"id": "m", "index": 0, "chunk": "y"}, "c")
    [report] = of(Report, effects)
    assert "duplicate" in str(report.error)


# ---- sign-in errors ---------------------------------------------------------------------------


def test_a_pusher_error_answering_the_signin_fails_it() -> None:
    core = make_core(secret="s", user_data={"id": "7"})
    connected(core)
    core.signin()
    assert sent(core.take())[0]["event"] == "pusher:signin"
    effects = receive(core, "pusher:error", {"code": 4200, "message": "Invalid message format"})
    errors = [r.error for r in of(Report, effects)]
    assert [type(e) for e in errors] == [ServerError, AuthenticationError]
    assert ("pusher:signin_error", USER,
            {"type": "AuthError", "error": errors[1].message, "status": None}) in delivered(effects)
    assert Changed in effects
    assert core.user.outcome() is errors[1]


def test_the_outcome_is_true_once_accepted() -> None:
    core = make_core(secret="s", user_data={"id": "7"})
    connected(core)
    core.signin()
    assert core.user.outcome() is False
    receive(core, "pusher:signin_success", {"user_data": json.dumps({"id": "7"})})
    assert core.user.outcome() is True


# ---- switch_cluster ---------------------------------------------------------------------------


def test_switch_cluster_reconnects_to_the_new_url() -> None:
    from rxpusher._auth import Authorizer

    core = make_core(host="old.example")
    connected(core)
    options = core.options.switched(key="k2", host="new.example")
    core.switch_cluster(options, Authorizer(options))
    [open_] = of(Open, core.take())
    assert open_.url.startswith("wss://new.example:443/app/k2?")
    assert core.connection.url == open_.url
