"""User authentication (pusher:signin) and server-to-user events."""

from __future__ import annotations

import json
from collections.abc import Callable

import pusher
import websocket
from helpers.raw_pusher_client import RawClient


def signin(client: RawClient, sdk: pusher.Pusher, user: dict[str, object]) -> dict[str, object]:
    signed = sdk.authenticate_user(client.socket_id, user)
    client.send("pusher:signin", signed)
    return client.next()


def test_signin_succeeds_with_a_valid_signature(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    client = connect()
    answer = signin(client, sdk, {"id": "42", "name": "Zaphod"})
    assert answer["event"] == "pusher:signin_success"
    assert json.loads(answer["data"]["user_data"]) == {"id": "42", "name": "Zaphod"}


def test_bad_signin_signature_closes_with_4009(connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.send("pusher:signin", {"user_data": '{"id":"1"}', "auth": "app-key:bad"})
    assert client.next() == {"event": "pusher:error", "data": {
        "code": 4009, "message": "Connection not authorized."}}
    opcode, payload = client.ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(payload[:2], "big") == 4009


def test_signin_needs_a_user_id(connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    client = connect()
    client.send("pusher:signin", {
        "user_data": '{"name":"nobody"}',
        "auth": sdk.authenticate_user(client.socket_id, {"id": "x"})["auth"]})
    assert client.next()["data"]["code"] == 4009


def test_send_to_user_reaches_every_connection_of_that_user(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    phone, laptop, someone_else = connect(), connect(), connect()
    for client in (phone, laptop):
        signin(client, sdk, {"id": "u1"})
    signin(someone_else, sdk, {"id": "u2"})
    sdk.send_to_user("u1", "notice", {"text": "hi"})
    for client in (phone, laptop):
        assert client.next() == {"event": "notice", "channel": "#server-to-user-u1",
                                 "data": json.dumps({"text": "hi"})}
    assert someone_else.sync() == []


def test_server_to_user_channel_is_only_for_that_user(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    client = connect()
    assert client.subscribe("#server-to-user-u1")["event"] == "pusher:subscription_error"
    signin(client, sdk, {"id": "u1"})
    assert client.subscribe("#server-to-user-u1")["event"] == (
        "pusher_internal:subscription_succeeded")


def test_signed_out_when_disconnected(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    gone, staying = connect(), connect()
    signin(gone, sdk, {"id": "u"})
    signin(staying, sdk, {"id": "u"})
    gone.close()
    sdk.send_to_user("u", "still-here", "1")
    assert staying.next()["event"] == "still-here"


def watchlist_events(client: RawClient) -> list[dict[str, object]]:
    message = client.next()
    assert message["event"] == "pusher_internal:watchlist_events"
    return json.loads(message["data"])["events"]


def test_watchlist_tells_who_is_online_then_each_change_once_per_user(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    alice_phone, alice_laptop, watcher = connect(), connect(), connect()
    signin(alice_phone, sdk, {"id": "alice"})
    answer = signin(watcher, sdk, {"id": "me", "watchlist": ["alice", "bob"]})
    assert answer["event"] == "pusher:signin_success"
    assert watchlist_events(watcher) == [{"name": "online", "user_ids": ["alice"]}]
    signin(alice_laptop, sdk, {"id": "alice"})      # a second connection: no news
    bob = connect()
    signin(bob, sdk, {"id": "bob"})
    assert watchlist_events(watcher) == [{"name": "online", "user_ids": ["bob"]}]
    alice_phone.close()                             # alice is still on her laptop
    bob.close()
    assert watchlist_events(watcher) == [{"name": "offline", "user_ids": ["bob"]}]
    alice_laptop.close()
    assert watchlist_events(watcher) == [{"name": "offline", "user_ids": ["alice"]}]
    assert watcher.sync() == []
