"""Failures stay local: subscription errors, retry(), observer exceptions, server errors."""

from __future__ import annotations

import pytest
from reactivex import operators as ops
from reactivex.testing import TestScheduler

from rxpusher import ObserverError, PusherError, ServerError, SubscriptionError

from .support import record


def subscribes(server, channel: str) -> list[dict]:
    return [f for f in server.sent("pusher:subscribe") if f["data"]["channel"] == channel]


def reject(server, channel: str, **data) -> None:
    server.push("pusher:subscription_error", data, channel=channel)


@pytest.fixture
def signed(make_pusher, server):
    """A connected client that signs private channels locally (subscribe frames go out at once)."""
    p = make_pusher(secret="s3cret")
    server.handshake()
    return p


# ---- server rejection ------------------------------------------------------------------------

def test_server_rejection_errors_the_channel_streams_with_subscription_error(signed, server) -> None:
    ch = signed.channel("private-c")
    named = record(ch.events("e"))
    everything = record(ch.events())
    reject(server, "private-c", type="AuthError", error="Invalid signature", status=401)
    for stream in (named, everything):
        error = stream.error
        assert isinstance(error, SubscriptionError)
        assert error.channel == "private-c"
        assert error.status == 401
        assert "Invalid signature" in error.message


def test_server_rejection_without_status_has_status_none(signed, server) -> None:
    stream = record(signed.channel("private-c").events())
    reject(server, "private-c", type="AuthError", error="nope")
    assert stream.error.status is None


def test_server_rejection_with_non_object_data_keeps_the_text(signed, server) -> None:
    stream = record(signed.channel("private-c").events())
    server.push("pusher:subscription_error", "plain text reason", channel="private-c", encode=False)
    assert isinstance(stream.error, SubscriptionError)
    assert "plain text reason" in stream.error.message


def test_server_rejection_sets_channel_state_failed(signed, server) -> None:
    ch = signed.channel("private-c")
    states = record(ch.state)
    record(ch.events())
    reject(server, "private-c", error="nope", status=401)
    assert states.items == ["unsubscribed", "pending", "failed"]
    assert not ch.subscribed


def test_server_rejection_leaves_other_channels_and_the_connection_alone(signed, server) -> None:
    other = record(signed.channel("news").events("e"))
    other_private = record(signed.channel("private-other").events("e"))
    record(signed.channel("private-c").events())
    reject(server, "private-c", error="nope", status=401)
    server.push("e", 1, channel="news")
    server.push("e", 2, channel="private-other")
    assert other.items == [1] and not other.terminated
    assert other_private.items == [2] and not other_private.terminated
    assert signed.connection_state == "connected"


def test_server_rejection_is_reported_on_errors(signed, server) -> None:
    errors = record(signed.errors)
    record(signed.channel("private-c").events())
    reject(server, "private-c", error="nope", status=401)
    assert [type(e) for e in errors.items] == [SubscriptionError]


def test_server_rejection_is_delivered_as_an_event_on_the_channel(signed, server) -> None:
    ch = signed.channel("private-c")
    events = record(ch.events("pusher:subscription_error"))
    reject(server, "private-c", type="AuthError", error="nope", status=401)
    # the stream saw the event, then errored
    assert events.items == [{"type": "AuthError", "error": "nope", "status": 401}]
    assert isinstance(events.error, SubscriptionError)


def test_retry_subscribes_again_after_a_rejection(signed, server) -> None:
    ch = signed.channel("private-c")
    got = record(ch.events("e").pipe(ops.retry(2)))
    assert len(subscribes(server, "private-c")) == 1
    reject(server, "private-c", error="nope", status=401)
    assert len(subscribes(server, "private-c")) == 2
    assert not got.terminated
    server.succeed("private-c")
    server.push("e", "after retry", channel="private-c")
    assert got.items == ["after retry"]
    assert ch.subscribed


def test_retry_exhausted_propagates_the_subscription_error(signed, server) -> None:
    got = record(signed.channel("private-c").events("e").pipe(ops.retry(2)))
    reject(server, "private-c", error="nope", status=401)
    reject(server, "private-c", error="nope", status=401)
    assert isinstance(got.error, SubscriptionError)
    assert len(subscribes(server, "private-c")) == 2


def test_new_observer_after_a_failure_subscribes_again(signed, server) -> None:
    ch = signed.channel("private-c")
    record(ch.events())
    reject(server, "private-c", error="nope", status=401)
    record(ch.events())
    assert len(subscribes(server, "private-c")) == 2


def test_failed_channel_without_observers_is_not_resubscribed_on_reconnect(signed, server, sched) -> None:
    record(signed.channel("private-c").events())
    reject(server, "private-c", error="nope", status=401)
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    assert len(subscribes(server, "private-c")) == 1


def test_pinned_channel_rejected_is_subscribed_again_by_subscribe(signed, server) -> None:
    signed.subscribe("private-c")
    reject(server, "private-c", error="nope", status=401)
    signed.subscribe("private-c")
    assert len(subscribes(server, "private-c")) == 2


def test_authorization_failure_synthesizes_subscription_error_event(make_pusher, server) -> None:
    p = make_pusher()
    server.handshake()
    events = record(p.channel("private-c").events("pusher:subscription_error"))
    assert len(events.items) == 1
    assert events.items[0]["status"] is None
    assert isinstance(events.error, SubscriptionError)


# ---- observers that raise ------------------------------------------------------------------

def raising(exc: Exception):
    def on_next(_value):
        raise exc

    return on_next


def test_raising_channel_observer_is_reported_and_others_still_receive(pusher, server) -> None:
    errors = record(pusher.errors)
    boom = RuntimeError("boom")
    ch = pusher.channel("c")
    bad = ch.events("e").subscribe(raising(boom))
    good = record(ch.events("e"))
    server.push("e", 1, channel="c")
    server.push("e", 2, channel="c")
    assert good.items == [1, 2]
    assert len(errors.items) == 2
    assert all(isinstance(e, ObserverError) for e in errors.items)
    assert errors.items[0].__cause__ is boom
    bad.dispose()


def test_raising_observer_first_in_line_does_not_block_global_streams(pusher, server) -> None:
    errors = record(pusher.errors)
    pusher.channel("c").events("e").subscribe(raising(ValueError("x")))
    global_stream = record(pusher.events("e"))
    server.push("e", 1, channel="c")
    assert global_stream.items == [1]
    assert isinstance(errors.items[0], ObserverError)


def test_raising_observer_keeps_its_subscription(pusher, server) -> None:
    seen = []

    def flaky(value):
        seen.append(value)
        raise RuntimeError("again")

    pusher.channel("c").events("e").subscribe(flaky)
    server.push("e", 1, channel="c")
    server.push("e", 2, channel="c")
    assert seen == [1, 2]
    assert pusher.connection_state == "connected"


@pytest.mark.parametrize("stream", ["frames", "messages", "state", "global_events"])
def test_raising_connection_stream_observer_is_reported(pusher, server, stream: str) -> None:
    errors = record(pusher.errors)
    boom = RuntimeError(stream)
    observable = pusher.events() if stream == "global_events" else getattr(pusher, stream)
    if stream == "state":
        # the replayed current value raises during subscribe; the change below raises again
        observable.subscribe(raising(boom))
        good = record(pusher.state)
        pusher.disconnect()
        assert good.items == ["connected", "disconnected"]
    else:
        observable.subscribe(raising(boom))
        good = record(observable)
        server.push("e", 1, channel="c")
        assert len(good.items) == 1
    observer_errors = [e for e in errors.items if isinstance(e, ObserverError)]
    assert observer_errors and all(e.__cause__ is boom for e in observer_errors)


def test_raising_channel_state_observer_is_reported(pusher, server) -> None:
    errors = record(pusher.errors)
    boom = RuntimeError("state")
    ch = pusher.channel("c")
    ch.state.subscribe(raising(boom))
    good = record(ch.state)
    record(ch.events())
    assert good.items == ["unsubscribed", "pending"]
    assert any(isinstance(e, ObserverError) and e.__cause__ is boom for e in errors.items)


def test_raising_errors_observer_does_not_loop_or_break_delivery(pusher, server) -> None:
    pusher.errors.subscribe(raising(RuntimeError("in errors")))
    errors = record(pusher.errors)
    got = record(pusher.events("e"))
    server.current.receive("not json")
    server.push("e", 1, channel="c")
    assert got.items == [1]
    assert len(errors.items) == 1  # only the ProtocolError; the errors observer's failure is logged


def test_raising_observer_with_a_delivery_scheduler_is_reported_too(make_pusher, server) -> None:
    """With the ``scheduler`` option, observers still must not break delivery."""
    deliver = TestScheduler()
    p = make_pusher(scheduler=deliver)
    server.handshake()
    errors = record(p.errors)
    boom = RuntimeError("boom")
    ch = p.channel("c")
    ch.events("e").subscribe(raising(boom))
    good = record(ch.events("e"))
    server.push("e", 1, channel="c")
    server.push("e", 2, channel="c")
    deliver.advance_by(1)  # must not raise
    assert good.items == [1, 2]
    assert any(isinstance(e, ObserverError) and e.__cause__ is boom for e in errors.items)


# ---- server errors ------------------------------------------------------------------------

def test_pusher_error_is_reported_as_server_error_and_delivered_globally(pusher, server) -> None:
    errors = record(pusher.errors)
    events = record(pusher.events("pusher:error"))
    server.push("pusher:error", {"code": 4201, "message": "Pong reply not received"})
    assert events.items == [{"code": 4201, "message": "Pong reply not received"}]
    (error,) = errors.items
    assert isinstance(error, ServerError) and isinstance(error, PusherError)
    assert error.code == 4201
    assert error.message == "Pong reply not received"
    assert pusher.connection_state == "connected"


def test_pusher_error_without_code_has_code_none(pusher, server) -> None:
    errors = record(pusher.errors)
    server.push("pusher:error", {"message": "something"})
    assert errors.items[0].code is None


def test_connection_established_is_delivered_on_global_streams(make_pusher, server) -> None:
    p = make_pusher()
    named = record(p.events("pusher:connection_established"))
    everything = record(p.events())
    server.handshake(socket_id="4.4", activity_timeout=30)
    assert named.items == [{"socket_id": "4.4", "activity_timeout": 30}]
    assert [e.name for e in everything.items] == ["pusher:connection_established"]


def test_pusher_pong_is_delivered_on_global_streams(pusher, server) -> None:
    got = record(pusher.events("pusher:pong"))
    server.push("pusher:pong", {})
    assert got.items == [{}]


# ---- library and server faults are never ObserverError --------------------------------------

def test_malformed_watchlist_events_are_a_protocol_error_not_an_observer_error(pusher, server) -> None:
    from rxpusher import ProtocolError

    errors = record(pusher.errors)
    watchlist = record(pusher.user.watchlist)
    server.push("pusher_internal:watchlist_events", {"events": 5})
    assert [type(e) for e in errors.items] == [ProtocolError]
    assert 'watchlist_events' in errors.items[0].frame
    assert watchlist.items == [] and not watchlist.done
    server.push("pusher_internal:watchlist_events", {"events": [{"name": "online", "user_ids": [1]}]})
    assert watchlist.items == [{"name": "online", "user_ids": ["1"]}]


@pytest.mark.parametrize("presence", [
    {"ids": 5, "hash": {}},
    {"ids": [], "hash": ["not", "an", "object"]},
    "not an object",
])
def test_malformed_presence_data_fails_the_channel_with_a_protocol_error(
        make_pusher, server, presence) -> None:
    from rxpusher import ProtocolError

    p = make_pusher(secret="s", channel_data={"user_id": "1"})
    server.handshake()
    errors = record(p.errors)
    room = p.channel("presence-room")
    members = record(room.members)
    states = record(room.state)
    server.succeed("presence-room", {"presence": presence})
    assert states.items[-1] == "failed"  # a defined state, not pending for good
    assert isinstance(members.error, SubscriptionError)
    assert any(isinstance(e, ProtocolError) for e in errors.items)
    assert not any(isinstance(e, ObserverError) for e in errors.items)
    assert server.sent("pusher:unsubscribe")[-1]["data"] == {"channel": "presence-room"}
    other = record(p.channel("c").events("e"))
    server.succeed("c")
    server.push("e", 1, channel="c")
    assert other.items == [1]


def test_only_exceptions_from_user_code_are_observer_errors(pusher, server) -> None:
    errors = record(pusher.errors)
    pusher.events("e").subscribe(raising(KeyError("mine")))
    server.push("e", 1, channel="c")
    server.current.receive('{"event": 5}')
    kinds = [type(e).__name__ for e in errors.items]
    assert kinds == ["ObserverError", "ProtocolError"]
    assert isinstance(errors.items[0].__cause__, KeyError)
