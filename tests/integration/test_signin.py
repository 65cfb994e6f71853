"""User sign-in against soketi and the local server, signed by the official SDK's user
authentication helper."""

from __future__ import annotations

import json

import pytest

import rxpusher
from helpers.soketi_harness import Collector, wait_for, wait_state

pytestmark = pytest.mark.integration


def test_signin_with_sdk_signed_user_authorizer_is_accepted(make_pusher, sdk):
    client = make_pusher(
        user_authorizer=lambda socket_id: sdk.authenticate_user(socket_id, {"id": "ada", "name": "Ada"})
    )
    messages = Collector("messages")
    messages.subscribe_to(client.messages)
    client.signin()
    success = messages.wait_item(lambda e: e.name == "pusher:signin_success")
    assert json.loads(success.data["user_data"])["id"] == "ada"
    wait_for(lambda: client.user.signed_in)
    assert client.user.id == "ada" and client.user.user_data["name"] == "Ada"


def test_signin_signed_locally_is_accepted_and_repeated_after_reconnect(make_pusher, soketi):
    client = make_pusher(secret=soketi.secret, user_data={"id": 99})
    client.signin()
    wait_for(lambda: client.user.signed_in)
    first_socket = client.socket_id
    client.reconnect()
    wait_state(client, "connected")
    wait_for(lambda: client.user.signed_in and client.socket_id != first_socket)
    assert client.user.id == "99"


def test_signin_failure_from_the_endpoint_is_reported_with_its_status(make_pusher, auth_server):
    auth_server.behaviour.status = 403
    client = make_pusher(user_auth_endpoint=auth_server.url)
    errors = Collector("errors")
    errors.subscribe_to(client.errors)
    client.signin()
    error = errors.wait_item(lambda e: isinstance(e, rxpusher.AuthenticationError))
    assert error.status == 403
    assert not client.user.signed_in


# local server only: soketi 1.6 implements no server-to-user channel (POST
# /apps/{id}/users/{user_id}/events), so there is nothing to compare with.
@pytest.mark.local_only
def test_server_to_user_events_reach_user_events_on_the_local_server():
    """soketi 1.6 has no server-to-user channel: the local server does."""
    import pusher as pusher_sdk

    from rxpusher.server import LocalServer

    with LocalServer() as server:
        sdk = pusher_sdk.Pusher(**server.sdk_options())
        client = rxpusher.Pusher(
            server.key,
            user_authorizer=lambda sid: sdk.authenticate_user(sid, {"id": "grace"}),
            **server.client_options(),
        )
        try:
            notices = Collector("notices")
            notices.subscribe_to(client.user.events("notice"))
            client.signin()
            wait_for(lambda: client.user.signed_in)
            sdk.send_to_user("grace", "notice", {"text": "hello"})
            assert notices.wait_count(1) == [{"text": "hello"}]
        finally:
            client.close()


# local server only: soketi 1.6 sends no watchlist events.
@pytest.mark.local_only
def test_watchlist_reports_watched_users_going_online_and_offline_on_the_local_server():
    import pusher as pusher_sdk

    from rxpusher.server import LocalServer

    with LocalServer() as server:
        sdk = pusher_sdk.Pusher(**server.sdk_options())

        def signer(user: dict):
            return lambda sid: sdk.authenticate_user(sid, user)

        friend = rxpusher.Pusher(server.key, user_authorizer=signer({"id": "friend"}),
                                 **server.client_options())
        watcher = rxpusher.Pusher(
            server.key, user_authorizer=signer({"id": "me", "watchlist": ["friend", "other"]}),
            **server.client_options(),
        )
        try:
            friend.signin()
            wait_for(lambda: friend.user.signed_in)
            events = Collector("watchlist")
            events.subscribe_to(watcher.user.watchlist)
            watcher.signin()
            assert events.wait_count(1) == [{"name": "online", "user_ids": ["friend"]}]
            friend.close()
            assert events.wait_count(2)[1] == {"name": "offline", "user_ids": ["friend"]}
        finally:
            friend.close()
            watcher.close()


# local server only: soketi 1.6 sends no subscription_count events.
@pytest.mark.local_only
def test_subscription_count_updates_reach_the_stream_and_the_property_on_the_local_server():
    from rxpusher.server import LocalServer

    with LocalServer(subscription_count=True) as server:
        first = rxpusher.Pusher(server.key, **server.client_options())
        second = rxpusher.Pusher(server.key, **server.client_options())
        try:
            counts = Collector("counts")
            counts.subscribe_to(first.channel("room").events("pusher:subscription_count"))
            wait_for(lambda: first.channel("room").subscribed)
            second.subscribe("room")
            counts.wait_item(lambda d: d == {"subscription_count": 2})
            assert first.channel("room").subscription_count == 2
            second.close()
            wait_for(lambda: counts.snapshot()[-1] == {"subscription_count": 1})
            assert counts.snapshot()[-2:] == [{"subscription_count": 2}, {"subscription_count": 1}]
            assert first.channel("room").subscription_count == 1
        finally:
            first.close()
            second.close()


def test_signin_refused_with_403_is_a_signin_error_event_and_raised_by_wait_signed_in(
        make_pusher, auth_server):
    auth_server.behaviour.status = 403
    client = make_pusher(user_auth_endpoint=auth_server.url)
    signin_errors = Collector("pusher:signin_error")
    signin_errors.subscribe_to(client.user.events("pusher:signin_error"))
    errors = Collector("errors")
    errors.subscribe_to(client.errors)
    client.wait_connected(10)
    client.signin()
    with pytest.raises(rxpusher.AuthenticationError) as raised:
        client.user.wait_signed_in(10)
    assert raised.value.status == 403
    event = signin_errors.wait_item(lambda e: True)
    assert event["type"] == "AuthError" and event["status"] == 403
    assert isinstance(event["error"], str) and event["error"]
    reported = errors.wait_item(lambda e: isinstance(e, rxpusher.AuthenticationError))
    assert reported.status == 403
    assert not client.user.signed_in and client.connection_state == "connected"


def test_wait_signed_in_returns_once_the_server_accepted(make_pusher, sdk):
    client = make_pusher(
        user_authorizer=lambda socket_id: sdk.authenticate_user(socket_id, {"id": "bea"}))
    client.signin()
    client.user.wait_signed_in(10)
    assert client.user.id == "bea"
