"""HTTP API: the official SDK against it, signatures, bad input."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

import pusher
import pytest
import requests
from pusher.signature import sign
from helpers.raw_pusher_client import RawClient

from rxpusher.server import LocalServer


def signed(server: LocalServer, method: str, path: str, body: bytes = b"",
           secret: str | None = None, **query: str) -> requests.Response:
    """A request signed the way the official SDKs sign, sent with requests."""
    params = {"auth_key": server.key, "auth_timestamp": str(int(time.time())),
              "auth_version": "1.0", **query}
    if method == "POST":
        params.setdefault("body_md5", hashlib.md5(body).hexdigest())
    params = {name: value for name, value in params.items() if value != "-"}
    ordered = "&".join(f"{name}={params[name]}" for name in sorted(params))
    params["auth_signature"] = sign(secret or server.secret, f"{method}\n{path}\n{ordered}")
    return requests.request(method, f"http://{server.host}:{server.port}{path}", params=params,
                            data=body, headers={"Content-Type": "application/json"}, timeout=5)


def test_trigger_to_several_channels(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    first, second = connect(), connect()
    first.subscribe("a")
    second.subscribe("b")
    assert sdk.trigger(["a", "b"], "e", "payload") == {"ok": True}
    assert first.next() == {"event": "e", "channel": "a", "data": "payload"}
    assert second.next() == {"event": "e", "channel": "b", "data": "payload"}


def test_trigger_excludes_the_given_socket(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    author, reader = connect(), connect()
    for client in (author, reader):
        client.subscribe("news")
    sdk.trigger("news", "posted", "x", socket_id=author.socket_id)
    assert reader.next()["event"] == "posted"
    assert author.sync() == []


def test_batch_events(connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    client = connect()
    client.subscribe("batch")
    sdk.trigger_batch([{"channel": "batch", "name": "one", "data": "1"},
                       {"channel": "batch", "name": "two", "data": {"n": 2}}])
    assert [client.next()["event"], client.next()["data"]] == ["one", '{"n": 2}']


def test_channels_info_with_prefix_and_attributes(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    first, second = connect(), connect()
    for client in (first, second):
        client.subscribe("presence-room", sdk, {"user_id": "same"})
        client.subscribe("public-1")
    assert sdk.channels_info() == {"channels": {
        "presence-room": {"subscription_count": 2, "occupied": True},
        "public-1": {"subscription_count": 2, "occupied": True}}}
    assert sdk.channels_info("presence-", ["user_count"]) == {"channels": {
        "presence-room": {"subscription_count": 2, "occupied": True, "user_count": 1}}}
    assert sdk.channels_info("nothing-") == {"channels": {}}


def test_channel_info(connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    client = connect()
    client.subscribe("presence-x", sdk, {"user_id": "u"})
    assert sdk.channel_info("presence-x", ["user_count", "subscription_count"]) == {
        "occupied": True, "subscription_count": 1, "user_count": 1}
    assert sdk.channel_info("empty") == {"occupied": False, "subscription_count": 0}


def test_users_of_a_presence_channel(
        connect: Callable[..., RawClient], sdk: pusher.Pusher) -> None:
    first, second = connect(), connect()
    first.subscribe("presence-users", sdk, {"user_id": "a"})
    second.subscribe("presence-users", sdk, {"user_id": 2})
    assert sdk.users_info("presence-users") == {"users": [{"id": "a"}, {"id": "2"}]}
    with pytest.raises(pusher.errors.PusherBadRequest):
        sdk.users_info("public")


def test_wrong_secret_is_401(pusher_server: LocalServer) -> None:
    options = {**pusher_server.sdk_options(), "secret": "wrong"}
    with pytest.raises(pusher.errors.PusherBadAuth):
        pusher.Pusher(**options).trigger("c", "e", "d")
    with pytest.raises(pusher.errors.PusherBadAuth):
        pusher.Pusher(**options).channels_info()


@pytest.mark.parametrize("query", [
    {"auth_key": "other-key"},
    {"auth_timestamp": str(int(time.time()) - 3600)},
    {"auth_timestamp": "-"},
    {"body_md5": "0" * 32},
])
def test_bad_authentication_is_401(pusher_server: LocalServer, query: dict[str, str]) -> None:
    response = signed(pusher_server, "POST", "/apps/1/events",
                      b'{"name":"e","channel":"c","data":"d"}', **query)
    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_signature_covers_the_path(pusher_server: LocalServer) -> None:
    params = signed(pusher_server, "GET", "/apps/1/channels").request.url.split("?")[1]
    url = f"http://{pusher_server.host}:{pusher_server.port}/apps/1/channels/x?{params}"
    assert requests.get(url, timeout=5).status_code == 401


@pytest.mark.parametrize("body", [
    b"not json",
    b"[]",
    json.dumps({"channel": "c", "data": "d"}).encode(),
    json.dumps({"name": "e", "channel": "c"}).encode(),
    json.dumps({"name": "e", "channels": [], "data": "d"}).encode(),
    json.dumps({"name": "e", "channel": "bad name", "data": "d"}).encode(),
    json.dumps({"name": "e", "channels": [f"c{n}" for n in range(101)], "data": "d"}).encode(),
    json.dumps({"name": "e" * 201, "channel": "c", "data": "d"}).encode(),
    json.dumps({"name": "e", "channel": "c", "data": "d", "socket_id": "abc"}).encode(),
])
def test_bad_events_are_400(pusher_server: LocalServer, body: bytes) -> None:
    response = signed(pusher_server, "POST", "/apps/1/events", body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 400


def test_oversized_event_data_is_413(pusher_server: LocalServer) -> None:
    body = json.dumps({"name": "e", "channel": "c", "data": "x" * 10241}).encode()
    assert signed(pusher_server, "POST", "/apps/1/events", body).status_code == 413


def test_batch_limits(pusher_server: LocalServer) -> None:
    batch = [{"channel": "c", "name": "e", "data": "d"}] * 11
    body = json.dumps({"batch": batch}).encode()
    assert signed(pusher_server, "POST", "/apps/1/batch_events", body).status_code == 400
    body = json.dumps({"batch": "no"}).encode()
    assert signed(pusher_server, "POST", "/apps/1/batch_events", body).status_code == 400


def test_bad_info_attributes_are_400(pusher_server: LocalServer) -> None:
    assert signed(pusher_server, "GET", "/apps/1/channels",
                  info="user_count").status_code == 400
    assert signed(pusher_server, "GET", "/apps/1/channels/public",
                  info="user_count").status_code == 400
    assert signed(pusher_server, "GET", "/apps/1/channels", info="colour").status_code == 400


def test_unknown_app_and_paths_are_404(pusher_server: LocalServer) -> None:
    response = signed(pusher_server, "POST", "/apps/99/events", b"{}")
    assert response.status_code == 404
    assert response.json() == {"error": "The app 99 could not be found.", "code": 404}
    assert signed(pusher_server, "GET", "/apps/1/else").status_code == 404
    assert signed(pusher_server, "GET", "/apps/1/events").status_code == 404


def test_trigger_with_an_object_as_data(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.subscribe("objects")
    body = json.dumps({"name": "e", "channel": "objects", "data": {"k": 1}}).encode()
    assert signed(pusher_server, "POST", "/apps/1/events", body).json() == {"ok": True}
    assert client.next()["data"] == {"k": 1}
