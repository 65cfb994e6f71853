"""Public channels against soketi and the local server: subscribe, receive SDK events,
reference counting."""

from __future__ import annotations

import pytest

import rxpusher
from helpers.soketi_harness import Collector, wait_for, wait_state, wait_subscribed

pytestmark = pytest.mark.integration


def test_public_channel_receives_events_triggered_by_the_sdk(make_pusher, soketi, unique):
    name = unique("prices")
    pusher = make_pusher()
    channel = pusher.channel(name)
    prices = Collector("prices")
    prices.subscribe_to(channel.events("new-price"))
    wait_subscribed(channel)
    assert pusher.connection_state == "connected"
    assert pusher.socket_id

    soketi.sdk.trigger(name, "new-price", {"symbol": "AAPL", "price": 101.5})
    soketi.sdk.trigger(name, "other-event", {"ignored": True})
    soketi.sdk.trigger(name, "new-price", {"symbol": "AAPL", "price": 102})

    assert prices.wait_count(2) == [
        {"symbol": "AAPL", "price": 101.5},
        {"symbol": "AAPL", "price": 102},
    ]
    assert prices.error is None and not prices.completed


def test_channel_events_without_name_are_event_records(make_pusher, soketi, unique):
    name = unique("records")
    pusher = make_pusher()
    channel = pusher.channel(name)
    events = Collector("events")
    events.subscribe_to(channel.events())
    wait_subscribed(channel)

    soketi.sdk.trigger(name, "greet", {"hello": "world"})
    event = events.wait_item(lambda e: e.name == "greet")

    assert isinstance(event, rxpusher.Event)
    assert event.channel == name
    assert event.data == {"hello": "world"}
    assert event.user_id is None
    names = [e.name for e in events.snapshot()]
    # pusher:subscription_succeeded is delivered on its channel, internals never are.
    assert "pusher:subscription_succeeded" in names
    assert not any(n.startswith("pusher_internal:") for n in names)


def test_payload_decoding_string_and_json_string(make_pusher, soketi, unique):
    name = unique("payloads")
    pusher = make_pusher()
    channel = pusher.channel(name)
    got = Collector("payloads")
    got.subscribe_to(channel.events("p"))
    wait_subscribed(channel)

    soketi.sdk.trigger(name, "p", "plain text, not json")
    soketi.sdk.trigger(name, "p", '{"already": "encoded"}')
    soketi.sdk.trigger(name, "p", [1, 2, 3])

    assert got.wait_count(3) == ["plain text, not json", {"already": "encoded"}, [1, 2, 3]]


def test_global_events_stream_sees_every_channel(make_pusher, soketi, unique):
    a, b = unique("global-a"), unique("global-b")
    pusher = make_pusher(auto_connect=False)
    by_name = Collector("pusher.events('tick')")
    by_name.subscribe_to(pusher.events("tick"))
    all_events = Collector("pusher.events()")
    all_events.subscribe_to(pusher.events())
    # Global streams do not subscribe channels: channel observers do.
    ch_a, ch_b = pusher.channel(a), pusher.channel(b)
    keep = [ch_a.events().subscribe(), ch_b.events().subscribe()]
    assert pusher.connection_state == "initialized"
    pusher.connect()
    wait_subscribed(ch_a)
    wait_subscribed(ch_b)

    soketi.sdk.trigger(a, "tick", 1)
    soketi.sdk.trigger(b, "tick", 2)

    assert by_name.wait_count(2) == [1, 2]
    all_events.wait(lambda c: sum(e.name == "tick" for e in c.items) == 2, what="two ticks")
    seen = all_events.snapshot()
    ticks = [(e.channel, e.data) for e in seen if e.name == "tick"]
    assert ticks == [(a, 1), (b, 2)]
    established = [e for e in seen if e.name == "pusher:connection_established"]
    assert len(established) == 1
    assert established[0].data["socket_id"] == pusher.socket_id
    assert not any(e.name.startswith("pusher_internal:") for e in seen)
    for d in keep:
        d.dispose()


def test_callback_api_bind_and_bind_all(make_pusher, soketi, unique):
    name = unique("callbacks")
    pusher = make_pusher()
    channel = pusher.channel(name)
    bound = Collector("bind")
    bound_all = Collector("bind_all")
    global_bound = Collector("pusher.bind")
    channel.bind("cb-event", bound.on_next)
    channel.bind_all(lambda event_name, data: bound_all.on_next((event_name, data)))
    pusher.bind("cb-event", global_bound.on_next)
    wait_subscribed(channel)

    soketi.sdk.trigger(name, "cb-event", {"n": 1})

    assert bound.wait_count(1) == [{"n": 1}]
    bound_all.wait_item(lambda item: item == ("cb-event", {"n": 1}))
    assert global_bound.wait_count(1) == [{"n": 1}]

    keep = channel.events().subscribe()  # keeps the channel subscribed once unbound
    channel.unbind()
    soketi.sdk.trigger(name, "cb-event", {"n": 2})
    # the global binding still sees it; the channel bindings are gone
    assert global_bound.wait_count(2) == [{"n": 1}, {"n": 2}]
    assert bound.snapshot() == [{"n": 1}]
    assert [item for item in bound_all.snapshot() if item[0] == "cb-event"] == [
        ("cb-event", {"n": 1})
    ]
    keep.dispose()


def test_refcounted_unsubscribe_is_visible_on_the_server(make_pusher, soketi, unique):
    name = unique("refcount")
    pusher = make_pusher()
    channel = pusher.channel(name)
    first, second = Collector("first"), Collector("second")
    d1 = first.subscribe_to(channel.events("e"))
    d2 = second.subscribe_to(channel.events())
    wait_subscribed(channel)
    soketi.wait_occupied(name)
    assert pusher.channel(name) is channel
    assert channel in pusher.all_channels()

    d1.dispose()
    # One observer left: the channel stays subscribed, events still flow to it.
    soketi.sdk.trigger(name, "e", "still here")
    second.wait_item(lambda e: e.name == "e" and e.data == "still here")
    assert name in soketi.channels()
    assert channel.subscribed

    d2.dispose()
    soketi.wait_vacant(name)
    wait_for(lambda: not channel.subscribed, message="channel.subscribed to turn false")
    assert channel not in pusher.all_channels()
    assert first.snapshot() == []

    # A new observer subscribes again (same handle).
    third = Collector("third")
    d3 = third.subscribe_to(channel.events("e"))
    wait_subscribed(channel)
    soketi.wait_occupied(name)
    soketi.sdk.trigger(name, "e", "again")
    assert third.wait_count(1) == ["again"]
    d3.dispose()
    soketi.wait_vacant(name)


def test_state_view_does_not_subscribe(make_pusher, soketi, unique):
    name = unique("state-view")
    pusher = make_pusher()
    wait_state(pusher, "connected")
    channel = pusher.channel(name)
    states = Collector("channel.state")
    states.subscribe_to(channel.state)
    assert states.wait_count(1) == ["unsubscribed"]
    # Observing state alone does not count: a public channel on the same connection gets
    # subscribed and confirmed meanwhile, proving the connection round-trips.
    other = pusher.channel(unique("witness"))
    keep = other.events().subscribe()
    wait_subscribed(other)
    assert name not in soketi.channels()
    assert not channel.subscribed

    d = channel.events().subscribe()
    states.wait_value("subscribed")
    assert "pending" in states.snapshot()
    d.dispose()
    states.wait(lambda c: c.items[-1] == "unsubscribed", what="back to unsubscribed")
    keep.dispose()


def test_subscribe_pins_until_unsubscribe_which_completes_streams(make_pusher, soketi, unique):
    name = unique("pinned")
    pusher = make_pusher()
    channel = pusher.subscribe(name)
    assert isinstance(channel, rxpusher.Channel)
    assert channel is pusher.channel(name)
    wait_subscribed(channel)
    soketi.wait_occupied(name)

    # An observer coming and going does not release a pinned channel.
    events = Collector("events")
    d = events.subscribe_to(channel.events("e"))
    soketi.sdk.trigger(name, "e", 1)
    events.wait_count(1)
    d.dispose()
    late = Collector("late")
    late.subscribe_to(channel.events("e"))
    soketi.sdk.trigger(name, "e", 2)
    assert late.wait_count(1) == [2]
    assert name in soketi.channels()

    pusher.unsubscribe(name)
    late.wait_completed()
    soketi.wait_vacant(name)
    assert channel not in pusher.all_channels()


def test_cache_channel_delivers_cache_miss_then_last_event(make_pusher, soketi, unique):
    name = unique("cache-quotes")
    first = make_pusher()
    ch1 = first.channel(name)
    misses = Collector("cache_miss")
    misses.subscribe_to(ch1.events("pusher:cache_miss"))
    misses.wait_count(1)  # nothing cached yet
    wait_subscribed(ch1)

    soketi.sdk.trigger(name, "quote", {"bid": 1.25})
    second = make_pusher()
    late = Collector("late joiner")
    late.subscribe_to(second.channel(name).events("quote"))
    # The late joiner gets the cached last event without anything being triggered again.
    assert late.wait_count(1) == [{"bid": 1.25}]


def test_disconnect_then_connect_resubscribes(make_pusher, soketi, unique):
    name = unique("reconnect-manual")
    pusher = make_pusher()
    channel = pusher.channel(name)
    events = Collector("events")
    events.subscribe_to(channel.events("e"))
    wait_subscribed(channel)
    first_socket = pusher.socket_id

    pusher.disconnect()
    wait_state(pusher, "disconnected")
    soketi.wait_vacant(name)

    pusher.connect()
    wait_state(pusher, "connected")
    wait_subscribed(channel)
    assert pusher.socket_id != first_socket
    soketi.sdk.trigger(name, "e", "after reconnect")
    assert events.wait_count(1) == ["after reconnect"]
    assert events.error is None and not events.completed


def test_a_raising_observer_does_not_stop_delivery(make_pusher, soketi, unique):
    name = unique("isolation")
    pusher = make_pusher()
    errors = Collector("errors")
    errors.subscribe_to(pusher.errors)
    boom = RuntimeError("observer blew up")

    def bad(_data):
        raise boom

    channel = pusher.channel(name)
    channel.events("e").subscribe(bad)
    good = Collector("good")
    good.subscribe_to(channel.events("e"))
    wait_subscribed(channel)

    soketi.sdk.trigger(name, "e", 1)
    soketi.sdk.trigger(name, "e", 2)
    assert good.wait_count(2) == [1, 2]
    reported = errors.wait_item(lambda e: e.__cause__ is boom, what="the observer's exception")
    assert isinstance(reported, rxpusher.PusherError)
    assert pusher.connection_state == "connected"
