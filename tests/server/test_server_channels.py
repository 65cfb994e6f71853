"""Subscriptions: public, private, encrypted, presence, cache channels and their errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import pusher
import pytest
from helpers.raw_pusher_client import RawClient

from rxpusher.server import LocalServer, channel_auth

UNAUTHORIZED = {"type": "AuthError", "error": "The connection is unauthorized.", "status": 401}


def test_public_subscription_receives_events_until_unsubscribed(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    client = connect()
    assert client.subscribe("prices") == {
        "event": "pusher_internal:subscription_succeeded", "channel": "prices", "data": "{}"}
    sdk.trigger("prices", "new-price", {"price": 10})
    assert client.next() == {"event": "new-price", "channel": "prices",
                             "data": json.dumps({"price": 10})}
    client.send("pusher:unsubscribe", {"channel": "prices"})
    client.sync()
    sdk.trigger("prices", "new-price", {"price": 11})
    assert client.sync() == []


@pytest.mark.parametrize("channel", ["private-room", "private-encrypted-room"])
def test_private_subscription_needs_a_valid_signature(
        connect: Callable[..., RawClient], sdk: pusher.Pusher, channel: str) -> None:
    client = connect()
    assert client.subscribe(channel, sdk)["event"] == "pusher_internal:subscription_succeeded"
    other = connect()
    other.send("pusher:subscribe", {"channel": channel, "auth": "app-key:0123"})
    assert other.next() == {"event": "pusher:subscription_error", "channel": channel,
                            "data": UNAUTHORIZED}


def test_private_signature_is_bound_to_the_socket(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    first, second = connect(), connect()
    auth = channel_auth(pusher_server.key, pusher_server.secret, first.socket_id, "private-a")
    second.send("pusher:subscribe", {"channel": "private-a", "auth": auth})
    assert second.expect("pusher:subscription_error")["data"] == UNAUTHORIZED
    first.send("pusher:subscribe", {"channel": "private-a", "auth": auth})
    assert first.expect("pusher_internal:subscription_succeeded", "private-a")


def test_private_subscription_without_auth_is_refused(connect: Callable[..., RawClient]) -> None:
    client = connect()
    assert client.subscribe("private-x")["data"] == UNAUTHORIZED


def test_presence_subscription_lists_members(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    alice, bob = connect(), connect()
    alice.subscribe("presence-room", sdk, {"user_id": "alice", "user_info": {"name": "A"}})
    answer = bob.subscribe("presence-room", sdk, {"user_id": "bob"})
    assert answer["event"] == "pusher_internal:subscription_succeeded"
    assert json.loads(answer["data"]) == {"presence": {
        "ids": ["alice", "bob"], "hash": {"alice": {"name": "A"}, "bob": None}, "count": 2}}
    assert alice.next() == {"event": "pusher_internal:member_added", "channel": "presence-room",
                            "data": json.dumps({"user_id": "bob", "user_info": None},
                                               separators=(",", ":"))}


def test_member_added_only_for_first_and_removed_only_with_last_connection(
        connect: Callable[..., RawClient], sdk: pusher.Pusher,
        pusher_server: LocalServer) -> None:
    watcher, tab1, tab2 = connect(), connect(), connect()
    watcher.subscribe("presence-doc", sdk, {"user_id": "w"})
    tab1.subscribe("presence-doc", sdk, {"user_id": 7})
    assert json.loads(watcher.expect("pusher_internal:member_added")["data"])["user_id"] == "7"
    answer = tab2.subscribe("presence-doc", sdk, {"user_id": 7})
    assert json.loads(answer["data"])["presence"]["count"] == 2
    assert watcher.sync() == []
    assert pusher_server.members("presence-doc") == {"w": None, "7": None}
    tab1.send("pusher:unsubscribe", {"channel": "presence-doc"})
    tab1.sync()
    assert watcher.sync() == []
    tab2.close()
    assert watcher.next() == {"event": "pusher_internal:member_removed",
                              "channel": "presence-doc", "data": '{"user_id":"7"}'}


@pytest.mark.parametrize("channel_data", [None, "not json", '{"user_info": {}}', "[]"])
def test_presence_needs_channel_data_with_user_id(
        pusher_server: LocalServer, connect: Callable[..., RawClient],
        channel_data: str | None) -> None:
    client = connect()
    auth = channel_auth(pusher_server.key, pusher_server.secret, client.socket_id,
                        "presence-x", channel_data)
    client.send("pusher:subscribe", {"channel": "presence-x", "auth": auth,
                                     "channel_data": channel_data})
    answer = client.expect("pusher:subscription_error", "presence-x")
    assert answer["data"]["type"] == "AuthError"
    assert answer["data"]["status"] == 401


def test_presence_channel_data_is_signed(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    client = connect()
    signed = json.dumps({"user_id": "u"})
    auth = channel_auth(pusher_server.key, pusher_server.secret, client.socket_id,
                        "presence-x", signed)
    client.send("pusher:subscribe", {"channel": "presence-x", "auth": auth,
                                     "channel_data": json.dumps({"user_id": "admin"})})
    assert client.expect("pusher:subscription_error")["data"] == UNAUTHORIZED


def test_cache_channel_replays_last_event_or_reports_a_miss(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    first = connect()
    first.subscribe("cache-quotes")
    assert first.next() == {"event": "pusher:cache_miss", "channel": "cache-quotes"}
    sdk.trigger("cache-quotes", "quote", "one")
    sdk.trigger("cache-quotes", "quote", "two")
    later = connect()
    later.subscribe("cache-quotes")
    assert later.next() == {"event": "quote", "channel": "cache-quotes", "data": "two"}


def test_private_cache_channel_replays_too(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    sdk.trigger("private-cache-x", "e", "d")
    client = connect()
    assert client.subscribe("private-cache-x", sdk)["event"] == (
        "pusher_internal:subscription_succeeded")
    assert client.next() == {"event": "e", "channel": "private-cache-x", "data": "d"}


def test_cached_event_expires(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(cache_ttl=0.0)
    server.trigger("cache-gone", "e", "d")
    client = RawClient(server.ws_url)
    client.subscribe("cache-gone")
    assert client.next()["event"] == "pusher:cache_miss"
    client.close()


def test_subscription_count_when_enabled(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(subscription_count=True)
    first, second = RawClient(server.ws_url), RawClient(server.ws_url)
    first.subscribe("counted")
    assert first.next() == {"event": "pusher_internal:subscription_count", "channel": "counted",
                            "data": '{"subscription_count":1}'}
    second.subscribe("counted")
    assert second.next()["data"] == '{"subscription_count":2}'
    assert first.next()["data"] == '{"subscription_count":2}'
    second.close()
    assert first.next()["data"] == '{"subscription_count":1}'
    first.close()


def test_no_subscription_count_by_default(connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.subscribe("quiet")
    assert client.sync() == []


def test_invalid_channel_names_are_refused(connect: Callable[..., RawClient]) -> None:
    client = connect()
    bad = client.subscribe("no spaces")
    assert bad["event"] == "pusher:subscription_error"
    assert bad["data"]["status"] == 4009
    long = client.subscribe("x" * 201)
    assert long["data"] == {"type": "LimitReached", "status": 4009, "error":
                            "The channel name is longer than the allowed 200 characters."}


def test_subscribing_twice_is_harmless(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.subscribe("twice")
    client.subscribe("twice")
    assert pusher_server.channels() == {"twice": 1}


def test_disconnect_leaves_every_channel(
        pusher_server: LocalServer, connect: Callable[..., RawClient],
        sdk: pusher.Pusher) -> None:
    client = connect()
    client.subscribe("a")
    client.subscribe("presence-b", sdk, {"user_id": "u"})
    assert pusher_server.channels() == {"a": 1, "presence-b": 1}
    client.close()
    pusher_server.wait_for(lambda: pusher_server.channels() == {})
    assert pusher_server.members("presence-b") == {}


def test_encrypted_channel_events_pass_through_as_sent(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    client = connect()
    answer = client.subscribe("private-encrypted-vault", sdk)
    assert answer["event"] == "pusher_internal:subscription_succeeded"
    sdk.trigger("private-encrypted-vault", "secret", {"gold": 1})
    payload = json.loads(client.expect("secret", "private-encrypted-vault")["data"])
    assert set(payload) == {"nonce", "ciphertext"}
