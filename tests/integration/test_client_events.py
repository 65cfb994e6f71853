"""Client events between two rxpusher clients through soketi and the local server."""

from __future__ import annotations

import pytest

from helpers.soketi_harness import Collector, wait_state, wait_subscribed

pytestmark = pytest.mark.integration


def _pair(make_pusher, soketi, name, **options):
    a = make_pusher(secret=soketi.secret, **options)
    b = make_pusher(secret=soketi.secret, **options)
    a_all, b_all = Collector("a events"), Collector("b events")
    a_all.subscribe_to(a.channel(name).events())
    b_all.subscribe_to(b.channel(name).events())
    wait_subscribed(a.channel(name))
    wait_subscribed(b.channel(name))
    return a, b, a_all, b_all


def _flush(soketi, name, *collectors):
    """Trigger a server event and wait until every collector has it: whatever soketi sent
    those connections before has then been delivered too."""
    soketi.sdk.trigger(name, "marker", {"flush": True})
    for c in collectors:
        c.wait_item(lambda e: e.name == "marker", what="the flush marker")


def test_client_event_reaches_the_other_client_not_the_sender(make_pusher, soketi, unique):
    name = unique("private-chat")
    a, b, a_all, b_all = _pair(make_pusher, soketi, name)

    a.channel(name).trigger("client-typing", {"who": "a"})
    got = b_all.wait_item(lambda e: e.name == "client-typing")
    assert got.channel == name
    assert got.data == {"who": "a"}

    _flush(soketi, name, a_all, b_all)
    assert not any(e.name == "client-typing" for e in a_all.snapshot())

    b.channel(name).trigger("client-reply", "plain")
    assert a_all.wait_item(lambda e: e.name == "client-reply").data == "plain"
    _flush(soketi, name, b_all)
    assert not any(e.name == "client-reply" for e in b_all.snapshot())


def test_client_events_by_name_and_in_order(make_pusher, soketi, unique):
    name = unique("private-burst")
    # the test servers set no client-event limit: unpaced, 300 at once keep their order
    a, b, _, _ = _pair(make_pusher, soketi, name, client_event_rate=None)
    received = Collector("b client-n")
    received.subscribe_to(b.channel(name).events("client-n"))
    n = 300
    for i in range(n):
        a.channel(name).trigger("client-n", {"i": i})
    items = received.wait_count(n, timeout=20)
    assert [d["i"] for d in items] == list(range(n))


def test_presence_client_events_carry_the_sender_user_id(
    make_pusher, soketi, auth_server, unique
):
    room = unique("presence-chat")
    a = make_pusher(auth_endpoint=auth_server.url, auth={"params": {"user_id": "ann"}})
    b = make_pusher(auth_endpoint=auth_server.url, auth={"params": {"user_id": "ben"}})
    b_all = Collector("ben events")
    b_all.subscribe_to(b.channel(room).events())
    keep = a.channel(room).events().subscribe()
    wait_subscribed(a.channel(room))
    wait_subscribed(b.channel(room))

    a.channel(room).trigger("client-wave", {"hand": "left"})
    event = b_all.wait_item(lambda e: e.name == "client-wave")
    assert event.user_id == "ann"
    assert event.data == {"hand": "left"}
    keep.dispose()


def test_trigger_validation(make_pusher, soketi, unique):
    pusher = make_pusher(secret=soketi.secret)
    wait_state(pusher, "connected")
    public = pusher.channel(unique("public-no-client-events"))
    private = pusher.channel(unique("private-validation"))
    with pytest.raises(ValueError):
        public.trigger("client-x", {})
    with pytest.raises(ValueError):
        private.trigger("not-a-client-event", {})
