"""Client events: where they are allowed, who gets them, rate limiting."""

from __future__ import annotations

from collections.abc import Callable

import pusher
from helpers.raw_pusher_client import RawClient

from rxpusher.server import LocalServer


def test_client_event_reaches_other_subscribers_not_the_sender(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    sender, receiver, outsider = connect(), connect(), connect()
    for client in (sender, receiver):
        client.subscribe("private-chat", sdk)
    sender.send("client-typing", {"who": "me"}, channel="private-chat")
    assert receiver.next() == {"event": "client-typing", "channel": "private-chat",
                               "data": {"who": "me"}}
    assert sender.sync() == []
    assert outsider.sync() == []


def test_presence_client_events_carry_the_user_id(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    sender, receiver = connect(), connect()
    sender.subscribe("presence-chat", sdk, {"user_id": "ann"})
    receiver.subscribe("presence-chat", sdk, {"user_id": "ben"})
    sender.send("client-hi", "hello", channel="presence-chat")
    assert receiver.expect("client-hi") == {"event": "client-hi", "channel": "presence-chat",
                                            "data": "hello", "user_id": "ann"}


def test_client_events_on_public_channels_are_rejected(
        connect: Callable[..., RawClient]) -> None:
    sender, receiver = connect(), connect()
    for client in (sender, receiver):
        client.subscribe("public")
    sender.send("client-x", {}, channel="public")
    [rejection] = sender.sync()
    assert rejection["event"] == "pusher:error"
    assert "only supported on private and presence channels" in rejection["data"]["message"]
    assert receiver.sync() == []


def test_client_events_need_a_subscribed_sender(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    stranger, receiver = connect(), connect()
    receiver.subscribe("private-room", sdk)
    stranger.send("client-x", {}, channel="private-room")
    [rejection] = stranger.sync()
    assert rejection["event"] == "pusher:error"
    assert "must be subscribed" in rejection["data"]["message"]
    assert receiver.sync() == []


def test_client_events_are_rate_limited_with_4301(
        make_server: Callable[..., LocalServer]) -> None:
    server = make_server(client_events_per_second=3)
    sdk = pusher.Pusher(**server.sdk_options())
    sender, receiver = RawClient(server.ws_url), RawClient(server.ws_url)
    for client in (sender, receiver):
        client.subscribe("private-fast", sdk)
    for n in range(10):
        sender.send("client-n", n, channel="private-fast")
    errors = sender.sync()
    assert errors, "a burst of 10 events over a limit of 3 per second must be refused"
    assert all(frame["event"] == "pusher:error" and frame["data"]["code"] == 4301
               for frame in errors)
    assert len(receiver.sync()) == 10 - len(errors)
    sender.close()
    receiver.close()


def test_oversized_client_events_are_refused(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    sender = connect()
    sender.subscribe("private-big", sdk)
    sender.send("client-big", "x" * 11000, channel="private-big")
    sender.send("client-" + "n" * 200, "x", channel="private-big")
    assert [frame["data"]["code"] for frame in sender.sync()] == [4301, 4301]
