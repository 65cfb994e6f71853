"""Channel handles: reference-counted subscriptions, pinning, resubscribe, state views."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from reactivex import operators as ops

from rxpusher import Channel, Event, PusherError

from .support import SOCKET_ID, record


def subscribes(server, channel: str | None = None) -> list[dict]:
    frames = server.sent("pusher:subscribe")
    return [f for f in frames if channel is None or f["data"]["channel"] == channel]


def unsubscribes(server, channel: str) -> list[dict]:
    return [f for f in server.sent("pusher:unsubscribe") if f["data"]["channel"] == channel]


def hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


# ---- handles ---------------------------------------------------------------------------

def test_channel_returns_the_same_handle_for_a_name(pusher) -> None:
    a = pusher.channel("c")
    assert isinstance(a, Channel)
    assert pusher.channel("c") is a
    assert a.name == "c"


def test_channel_handle_alone_does_not_subscribe(pusher, server) -> None:
    pusher.channel("c")
    assert subscribes(server) == []
    assert pusher.all_channels() == []


def test_new_channel_state_is_unsubscribed(pusher) -> None:
    ch = pusher.channel("c")
    assert record(ch.state).items == ["unsubscribed"]
    assert ch.subscribed is False
    assert ch.subscription_count is None


# ---- reference counting --------------------------------------------------------------------

def test_first_observer_sends_subscribe(pusher, server) -> None:
    record(pusher.channel("c").events("e"))
    assert subscribes(server) == [{"event": "pusher:subscribe", "data": {"channel": "c"}}]


def test_more_observers_send_no_more_subscribes(pusher, server) -> None:
    ch = pusher.channel("c")
    record(ch.events("e"))
    record(ch.events("f"))
    record(ch.events())
    assert len(subscribes(server, "c")) == 1


def test_last_observer_to_dispose_sends_unsubscribe(pusher, server) -> None:
    ch = pusher.channel("c")
    a = record(ch.events("e"))
    b = record(ch.events())
    server.succeed("c")
    a.dispose()
    assert unsubscribes(server, "c") == []
    b.dispose()
    assert unsubscribes(server, "c") == [{"event": "pusher:unsubscribe", "data": {"channel": "c"}}]
    assert record(ch.state).items == ["unsubscribed"]


def test_disposing_twice_unsubscribes_once(pusher, server) -> None:
    r = record(pusher.channel("c").events())
    r.dispose()
    r.dispose()
    assert len(unsubscribes(server, "c")) == 1


def test_state_view_does_not_subscribe_or_count(pusher, server) -> None:
    ch = pusher.channel("c")
    states = record(ch.state)
    assert subscribes(server) == []
    events = record(ch.events())
    events.dispose()
    assert len(unsubscribes(server, "c")) == 1  # the state observer did not keep it
    assert states.items == ["unsubscribed", "pending", "unsubscribed"]


def test_state_goes_pending_then_subscribed(pusher, server) -> None:
    ch = pusher.channel("c")
    states = record(ch.state)
    record(ch.events())
    assert ch.subscribed is False
    server.succeed("c")
    assert states.items == ["unsubscribed", "pending", "subscribed"]
    assert ch.subscribed is True


def test_subscribe_again_after_the_last_observer_left(pusher, server) -> None:
    ch = pusher.channel("c")
    record(ch.events()).dispose()
    record(ch.events())
    assert len(subscribes(server, "c")) == 2


def test_observer_before_connection_subscribes_at_handshake(make_pusher, server) -> None:
    p = make_pusher()
    ch = p.channel("c")
    record(ch.events())
    assert subscribes(server) == []
    assert record(ch.state).items == ["pending"]
    server.handshake()
    assert len(subscribes(server, "c")) == 1


def test_channel_left_before_connection_is_never_subscribed(make_pusher, server) -> None:
    p = make_pusher()
    record(p.channel("c").events()).dispose()
    server.handshake()
    assert subscribes(server) == []
    assert server.sent("pusher:unsubscribe") == []


def test_late_subscription_succeeded_for_a_left_channel_is_ignored(pusher, server) -> None:
    ch = pusher.channel("c")
    record(ch.events()).dispose()
    server.succeed("c")
    assert ch.subscribed is False
    assert record(ch.state).items == ["unsubscribed"]


# ---- subscribe / unsubscribe (pinning) -----------------------------------------------------------

def test_subscribe_returns_the_channel_and_sends_subscribe(pusher, server) -> None:
    ch = pusher.subscribe("c")
    assert ch is pusher.channel("c")
    assert len(subscribes(server, "c")) == 1


def test_subscribe_twice_sends_one_subscribe(pusher, server) -> None:
    pusher.subscribe("c")
    pusher.subscribe("c")
    assert len(subscribes(server, "c")) == 1


def test_subscribed_channel_stays_after_its_observers_leave(pusher, server) -> None:
    ch = pusher.subscribe("c")
    record(ch.events()).dispose()
    assert unsubscribes(server, "c") == []
    assert pusher.all_channels() == [ch]


def test_unsubscribe_sends_unsubscribe_and_completes_channel_streams(pusher, server) -> None:
    ch = pusher.subscribe("c")
    server.succeed("c")
    events = record(ch.events("e"))
    everything = record(ch.events())
    state = record(ch.state)
    pusher.unsubscribe("c")
    assert len(unsubscribes(server, "c")) == 1
    assert events.completed and everything.completed
    assert not events.errors
    assert pusher.all_channels() == []
    # state is a view of the handle, which lives on: it shows the channel left
    assert not state.completed and state.items[-1] == "unsubscribed"


def test_the_handle_stays_the_one_for_its_name_and_subscribes_again(pusher, server) -> None:
    ch = pusher.subscribe("c")
    server.succeed("c")
    pusher.unsubscribe("c")
    assert pusher.channel("c") is ch
    again = record(ch.events("e"))
    assert len(server.sent("pusher:subscribe")) == 2
    server.succeed("c")
    server.push("e", 1, channel="c")
    assert again.items == [1] and ch.subscribed


def test_unsubscribe_with_observers_still_attached_unsubscribes(pusher, server) -> None:
    ch = pusher.channel("c")
    record(ch.events())
    pusher.unsubscribe("c")
    assert len(unsubscribes(server, "c")) == 1


def test_unsubscribe_unknown_channel_is_a_no_op(pusher, server) -> None:
    pusher.unsubscribe("never-seen")
    assert server.sent("pusher:unsubscribe") == []


def test_unsubscribed_channel_events_stop(pusher, server) -> None:
    ch = pusher.subscribe("c")
    events = record(ch.events("e"))
    pusher.unsubscribe("c")
    server.push("e", 1, channel="c")
    assert events.items == []


def test_subscribe_after_unsubscribe_subscribes_again(pusher, server) -> None:
    pusher.subscribe("c")
    pusher.unsubscribe("c")
    ch = pusher.subscribe("c")
    got = record(ch.events("e"))
    server.push("e", 1, channel="c")
    assert len(subscribes(server, "c")) == 2
    assert got.items == [1]


def test_all_channels_lists_subscribed_and_subscribing_channels(pusher, server) -> None:
    a = pusher.subscribe("a")
    b = pusher.channel("b")
    record(b.events())
    pusher.channel("idle")
    server.succeed("a")
    assert set(pusher.all_channels()) == {a, b}
    assert all(isinstance(c, Channel) for c in pusher.all_channels())


# ---- events ------------------------------------------------------------------------------------

def test_channel_events_with_name_deliver_data_of_that_event_only(pusher, server) -> None:
    got = record(pusher.channel("c").events("e"))
    server.push("e", {"x": 1}, channel="c")
    server.push("other", {"x": 2}, channel="c")
    server.push("e", {"x": 3}, channel="elsewhere")
    assert got.items == [{"x": 1}]


def test_channel_events_without_name_deliver_every_event_of_the_channel(pusher, server) -> None:
    got = record(pusher.channel("c").events())
    server.push("e", 1, channel="c", user_id="u1")
    server.push("f", 2, channel="c")
    server.push("e", 3, channel="other")
    assert got.items == [Event("e", "c", 1, "u1"), Event("f", "c", 2, None)]


def test_subscription_succeeded_is_delivered_as_pusher_event_on_the_channel(pusher, server) -> None:
    ch = pusher.channel("c")
    succeeded = record(ch.events("pusher:subscription_succeeded"))
    everything = record(ch.events())
    server.succeed("c", {"some": "data"})
    assert succeeded.items == [{"some": "data"}]
    assert [e.name for e in everything.items] == ["pusher:subscription_succeeded"]


@pytest.mark.parametrize(
    "internal",
    ["pusher_internal:subscription_succeeded", "pusher_internal:member_added",
     "pusher_internal:member_removed", "pusher_internal:anything_new"],
)
def test_pusher_internal_events_are_never_delivered(pusher, server, internal: str) -> None:
    ch = pusher.channel("presence-x" if "member" in internal else "c")
    streams = [record(ch.events()), record(ch.events(internal)), record(pusher.events()),
               record(pusher.events(internal))]
    server.push(internal, {"user_id": "1"}, channel=ch.name)
    for stream in streams:
        assert all(getattr(i, "name", "").startswith("pusher_internal:") is False for i in stream.items)
    assert streams[1].items == [] and streams[3].items == []


def test_pusher_internal_events_are_not_on_global_streams(pusher, server) -> None:
    everything = record(pusher.events())
    record(pusher.channel("c").events())
    server.succeed("c")
    assert everything.items == []


def test_subscription_count_updates_the_property_and_is_delivered(pusher, server) -> None:
    ch = pusher.channel("c")
    counts = record(ch.events("pusher:subscription_count"))
    server.succeed("c")
    server.push("pusher:subscription_count", {"subscription_count": 7}, channel="c")
    assert ch.subscription_count == 7
    assert counts.items == [{"subscription_count": 7}]


def test_subscription_count_resets_on_disconnect(pusher, server) -> None:
    ch = pusher.subscribe("c")
    server.push("pusher:subscription_count", {"subscription_count": 7}, channel="c")
    pusher.disconnect()
    assert ch.subscription_count is None


def test_cache_miss_is_delivered_on_its_channel(pusher, server) -> None:
    got = record(pusher.channel("cache-c").events("pusher:cache_miss"))
    server.push("pusher:cache_miss", {}, channel="cache-c")
    assert got.items == [{}]


def test_routing_keeps_channels_apart_with_many_channels(pusher, server) -> None:
    recorders = {f"ch{i}": record(pusher.channel(f"ch{i}").events("e")) for i in range(200)}
    server.push("e", "hello", channel="ch123")
    assert recorders["ch123"].items == ["hello"]
    assert sum(len(r.items) for r in recorders.values()) == 1


def test_events_rejects_an_empty_event_name(pusher) -> None:
    with pytest.raises(ValueError):
        pusher.channel("c").events("")


# ---- reconnects ---------------------------------------------------------------------------

def test_every_active_channel_is_resubscribed_after_a_reconnect(pusher, server, sched) -> None:
    pusher.subscribe("pinned")
    record(pusher.channel("observed").events())
    server.succeed("pinned")
    server.succeed("observed")
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    second = [f["data"]["channel"] for f in server.current.sent if f["event"] == "pusher:subscribe"]
    assert sorted(second) == ["observed", "pinned"]


def test_channel_is_pending_while_disconnected_then_subscribed_again(pusher, server, sched) -> None:
    ch = pusher.subscribe("c")
    server.succeed("c")
    states = record(ch.state)
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    server.succeed("c")
    assert states.items == ["subscribed", "pending", "subscribed"]


def test_observers_keep_receiving_after_a_reconnect(pusher, server, sched) -> None:
    got = record(pusher.channel("c").events("e"))
    server.push("e", 1, channel="c")
    server.current.drop(None)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    server.push("e", 2, channel="c")
    assert got.items == [1, 2]
    assert not got.terminated


def test_private_channel_is_reauthorized_with_the_new_socket_id(make_pusher, server, sched) -> None:
    p = make_pusher(key="app-key", secret="s3cret")
    server.handshake(socket_id="111.111")
    p.subscribe("private-c")
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="222.222")
    frames = subscribes(server, "private-c")
    assert len(frames) == 2
    assert frames[0]["data"]["auth"] == "app-key:" + hmac_hex("s3cret", "111.111:private-c")
    assert frames[1]["data"]["auth"] == "app-key:" + hmac_hex("s3cret", "222.222:private-c")


def test_channel_left_while_pending_is_not_resubscribed(pusher, server, sched) -> None:
    r = record(pusher.channel("c").events())
    assert len(subscribes(server, "c")) == 1  # pending: no subscription_succeeded yet
    r.dispose()
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    assert len(subscribes(server, "c")) == 1


def test_channel_left_while_disconnected_is_not_resubscribed(pusher, server, sched) -> None:
    r = record(pusher.channel("c").events())
    server.succeed("c")
    server.current.drop(1006)
    r.dispose()
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    assert len(subscribes(server, "c")) == 1
    assert unsubscribes(server, "c") == []  # nothing to leave on a socket that never had it


def test_disconnect_then_connect_resubscribes_active_channels(pusher, server) -> None:
    pusher.subscribe("c")
    pusher.disconnect()
    pusher.connect()
    server.handshake(socket_id="2.2")
    assert len(subscribes(server, "c")) == 2
    assert server.current.sent[0]["event"] == "pusher:subscribe"


def test_disconnect_sets_active_channels_pending(pusher, server) -> None:
    ch = pusher.subscribe("c")
    server.succeed("c")
    pusher.disconnect()
    assert record(ch.state).items == ["pending"]
    assert ch.subscribed is False


# ---- close ---------------------------------------------------------------------------------

def test_close_completes_every_stream(pusher, server) -> None:
    ch = pusher.subscribe("c")
    record(pusher.channel("presence-p").events())  # fails (no auth) but still a handle
    streams = [
        record(pusher.frames), record(pusher.messages), record(pusher.state),
        record(pusher.errors), record(pusher.events()), record(pusher.events("e")),
        record(ch.events()), record(ch.events("e")), record(ch.state),
    ]
    pusher.close()
    for stream in streams:
        assert stream.completed, stream
        assert not stream.errors


def test_streams_subscribed_after_close_complete_at_once(pusher) -> None:
    ch = pusher.channel("c")
    pusher.close()
    for observable in (pusher.frames, pusher.messages, pusher.state, pusher.errors,
                       pusher.events(), ch.events(), ch.state):
        assert record(observable).completed


def test_close_is_idempotent_and_connect_after_close_raises(pusher) -> None:
    pusher.close()
    pusher.close()
    with pytest.raises(PusherError):
        pusher.connect()


def test_close_closes_the_transport_and_does_not_reconnect(pusher, server, sched) -> None:
    transport = server.current
    pusher.close()
    assert transport.closed_with is not None
    sched.advance_by(1000)
    assert server.attempts == 1


def test_context_manager_closes(make_pusher, server) -> None:
    with make_pusher() as p:
        server.handshake()
        frames = record(p.frames)
    assert frames.completed


def test_retry_operator_on_a_channel_stream_keeps_one_subscription(pusher, server) -> None:
    got = record(pusher.channel("c").events("e").pipe(ops.take(2)))
    server.push("e", 1, channel="c")
    server.push("e", 2, channel="c")
    assert got.items == [1, 2] and got.completed
    assert len(unsubscribes(server, "c")) == 1  # take() disposed the last observer


def test_refusal_leaves_a_pinned_channel_to_resubscribe_on_connect(pusher, server) -> None:
    ch = pusher.subscribe("c")
    server.succeed("c")
    server.current.drop(4001, "refused")
    assert ch in pusher.all_channels()
    pusher.connect()
    server.handshake(socket_id="2.2")
    assert len(subscribes(server, "c")) == 2


def test_refusal_releases_a_channel_whose_only_observers_were_errored(pusher, server) -> None:
    ch = pusher.channel("c")
    record(ch.events())
    server.current.drop(4001, "refused")
    assert pusher.all_channels() == []
    pusher.connect()
    server.handshake(socket_id="2.2")
    assert len(subscribes(server, "c")) == 1


def test_unsubscribe_while_disconnected_sends_nothing(pusher, server) -> None:
    pusher.subscribe("c")
    pusher.disconnect()
    pusher.unsubscribe("c")
    assert unsubscribes(server, "c") == []


# ---- released handles ---------------------------------------------------------------------

def test_channels_nothing_refers_to_are_released(pusher, server) -> None:
    """5,000 per-order channel names used once each: the client keeps nothing for them."""
    import gc
    import tracemalloc

    def churn(prefix: str, n: int) -> None:
        for i in range(n):
            subscription = pusher.channel(f"{prefix}-{i}").events("e").subscribe()
            subscription.dispose()
            server.current.sent.clear()  # the scripted server's own record of frames

    churn("warm", 200)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    churn("order", 5000)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 100_000, f"{grown} bytes kept for 5,000 released channels"
    assert pusher.all_channels() == []


def test_a_released_handle_is_replaced_by_an_equivalent_one(pusher, server) -> None:
    import gc

    first = pusher.channel("c")
    state = record(first.state)
    first.events("e").subscribe().dispose()
    first_id = id(first)
    del first
    gc.collect()
    again = pusher.channel("c")
    assert again.name == "c" and again.state is not None
    assert again == pusher.channel("c") and hash(again) == hash(pusher.channel("c"))
    again.events("e").subscribe()
    assert state.items == ["unsubscribed", "pending", "unsubscribed", "pending"]
    assert first_id is not None


def test_an_event_with_an_empty_channel_name_reaches_global_streams_once(pusher, server) -> None:
    got = record(pusher.events("e"))
    everything = record(pusher.events())
    server.current.receive('{"event": "e", "channel": "", "data": "1"}')
    assert got.items == [1] and len(everything.items) == 1
