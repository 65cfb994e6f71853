"""The connection against soketi and the local server: frames, messages, state, refused
connections."""

from __future__ import annotations

import json

import pytest

import rxpusher
from helpers.soketi_harness import Collector, wait_state, wait_subscribed

pytestmark = pytest.mark.integration


def test_connects_and_streams_frames_messages_and_state(make_pusher, soketi):
    pusher = make_pusher(auto_connect=False)
    frames, messages, states = Collector("frames"), Collector("messages"), Collector("state")
    frames.subscribe_to(pusher.frames)
    messages.subscribe_to(pusher.messages)
    states.subscribe_to(pusher.state)
    assert states.wait_count(1) == ["initialized"]
    assert pusher.socket_id is None

    pusher.connect()
    wait_state(pusher, "connected")
    states.wait_value("connected")
    assert states.snapshot()[:3] == ["initialized", "connecting", "connected"]

    first = frames.wait_count(1)[0]
    assert isinstance(first, str)
    decoded = json.loads(first)
    assert decoded["event"] == "pusher:connection_established"
    # The server sends the data as a JSON string; messages carry it decoded once.
    assert isinstance(decoded["data"], str)
    established = messages.wait_item(lambda e: e.name == "pusher:connection_established")
    assert isinstance(established, rxpusher.Event)
    assert established.data["socket_id"] == pusher.socket_id
    assert established.channel is None

    # A late observer of state gets the current value replayed.
    late = Collector("late state")
    late.subscribe_to(pusher.state)
    assert late.wait_count(1) == ["connected"]


def test_wrong_app_key_is_refused_with_4001(make_pusher, soketi, unique):
    pusher = make_pusher(key="no-such-key", auto_connect=False)
    states, errors = Collector("state"), Collector("errors")
    frames = Collector("frames")
    states.subscribe_to(pusher.state)
    errors.subscribe_to(pusher.errors)
    frames.subscribe_to(pusher.frames)
    public = Collector("public channel")
    public.subscribe_to(pusher.channel(unique("refused")).events("e"))
    everything = Collector("pusher.events()")
    everything.subscribe_to(pusher.events())
    named = Collector("pusher.events('e')")
    named.subscribe_to(pusher.events("e"))

    pusher.connect()

    for stream in (public, everything, named):
        err = stream.wait_error()
        assert isinstance(err, rxpusher.ConnectionRefused), stream.name
        assert isinstance(err, rxpusher.PusherError)
        assert err.code == 4001
        assert isinstance(err.reason, str)
    wait_state(pusher, "disconnected")
    states.wait(lambda c: c.items[-1] == "disconnected", what="state to end at disconnected")
    assert "connected" not in states.snapshot()
    # frames, state and errors stay open.
    assert not states.done and not errors.done and not frames.done
    # The server's pusher:error frame went through frames as received.
    assert any('"pusher:error"' in f and "4001" in f for f in frames.snapshot())

    # connect() may be called again; it is refused again, the same way.
    again = Collector("after second connect")
    again.subscribe_to(pusher.channel(unique("refused-again")).events())
    pusher.connect()
    err = again.wait_error()
    assert isinstance(err, rxpusher.ConnectionRefused) and err.code == 4001
    wait_state(pusher, "disconnected")


def test_context_manager_closes_and_completes_streams(soketi, unique):
    name = unique("ctx")
    with rxpusher.Pusher(soketi.key, **soketi.client_options()) as pusher:
        events, states = Collector("events"), Collector("state")
        events.subscribe_to(pusher.channel(name).events("e"))
        states.subscribe_to(pusher.state)
        wait_subscribed(pusher.channel(name))
        soketi.sdk.trigger(name, "e", 1)
        events.wait_count(1)
    events.wait_completed()
    states.wait_completed()
    assert pusher.socket_id is None or pusher.connection_state != "connected"
    soketi.wait_vacant(name)


def test_idle_connection_pings_and_the_server_pongs(make_pusher, soketi):
    # The server announces activity_timeout 30 (soketi's value; the local one is configured
    # alike); the smaller option wins, so the client pings after 0.3 s of silence and the
    # server's pusher:pong keeps the connection up.
    pusher = make_pusher(activity_timeout=0.3, pong_timeout=1.0)
    pongs = Collector("pong")
    pongs.subscribe_to(pusher.events("pusher:pong"))
    wait_state(pusher, "connected")
    states = Collector("state")
    states.subscribe_to(pusher.state)
    socket_id = pusher.socket_id
    pongs.wait_count(2, timeout=10)
    assert pusher.connection_state == "connected"
    assert pusher.socket_id == socket_id
    assert states.snapshot() == ["connected"]
