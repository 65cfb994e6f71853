"""User sign-in, events sent to the user and the watchlist, with scripted frames."""

from __future__ import annotations

import json

import rxpusher
from rxpusher._auth import sign

from .support import SOCKET_ID, record, wait_for


def signin_frames(server):
    return server.sent("pusher:signin")


def test_signin_signed_locally_is_sent_once_connected(make_pusher, server) -> None:
    pusher = make_pusher(secret="s3cret", user_data={"id": 7, "name": "Ann"})
    pusher.signin()
    assert signin_frames(server) == []          # not connected yet
    server.handshake(socket_id=SOCKET_ID)
    (frame,) = signin_frames(server)
    user_data = frame["data"]["user_data"]
    assert json.loads(user_data) == {"id": "7", "name": "Ann"}
    assert frame["data"]["auth"] == "key:" + sign("s3cret", f"{SOCKET_ID}::user::{user_data}")


def test_signin_success_subscribes_to_server_to_user_and_delivers_user_events(make_pusher, server) -> None:
    pusher = make_pusher(secret="s3cret", user_data={"id": "7"})
    pusher.signin()
    server.handshake()
    got = record(pusher.user.events("notice"))
    every = record(pusher.user.events())
    server.push("pusher:signin_success", {"user_data": json.dumps({"id": "7"})})
    assert pusher.user.signed_in and pusher.user.id == "7"
    assert {"event": "pusher:subscribe", "data": {"channel": "#server-to-user-7"}} in server.sent()
    server.push("notice", {"hi": 1}, channel="#server-to-user-7")
    assert got.items == [{"hi": 1}]
    assert [(e.name, e.channel) for e in every.items] == [("notice", "#server-to-user-7")]


def test_signin_is_repeated_after_every_reconnect(make_pusher, server, sched) -> None:
    pusher = make_pusher(secret="s3cret", user_data={"id": "7"})
    pusher.signin()
    server.handshake(socket_id="1.1")
    server.push("pusher:signin_success", {"user_data": json.dumps({"id": "7"})})
    server.current.drop(1006)
    assert not pusher.user.signed_in
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    frames = signin_frames(server)
    assert len(frames) == 2
    assert frames[1]["data"]["auth"] == "key:" + sign(
        "s3cret", f"2.2::user::{frames[1]['data']['user_data']}"
    )


def test_user_authorizer_is_used_and_failures_are_authentication_errors(make_pusher, server) -> None:
    pusher = make_pusher(user_authorizer=lambda sid: {"auth": "key:abc", "user_data": '{"id":"1"}'})
    pusher.signin()
    server.handshake()
    wait_for(lambda: signin_frames(server))
    assert signin_frames(server)[0]["data"] == {"auth": "key:abc", "user_data": '{"id":"1"}'}

    def broken(socket_id: str) -> dict:
        raise RuntimeError("vault closed")

    other = make_pusher(user_authorizer=broken)
    errors = record(other.errors)
    other.signin()
    server.handshake()
    wait_for(lambda: errors.items)
    (error,) = errors.items
    assert isinstance(error, rxpusher.AuthenticationError)
    assert isinstance(error.__cause__, RuntimeError)


def test_user_auth_endpoint_status_is_reported(make_pusher, server, auth_endpoint) -> None:
    auth_endpoint.reply(403, "nope")
    pusher = make_pusher(user_auth_endpoint=auth_endpoint.url)
    errors = record(pusher.errors)
    pusher.signin()
    server.handshake()
    wait_for(lambda: errors.items)
    assert isinstance(errors.items[0], rxpusher.AuthenticationError)
    assert errors.items[0].status == 403


def test_watchlist_events_are_emitted_one_by_one(make_pusher, server) -> None:
    pusher = make_pusher(secret="s3cret", user_data={"id": "7", "watchlist": ["8", "9"]})
    watch = record(pusher.user.watchlist)
    pusher.signin()
    server.handshake()
    server.push(
        "pusher_internal:watchlist_events",
        {"events": [{"name": "online", "user_ids": ["8"]}, {"name": "offline", "user_ids": ["9"]}]},
    )
    assert watch.items == [
        {"name": "online", "user_ids": ["8"]},
        {"name": "offline", "user_ids": ["9"]},
    ]


def test_close_completes_user_streams(make_pusher, server) -> None:
    pusher = make_pusher()
    events, watch = record(pusher.user.events("x")), record(pusher.user.watchlist)
    pusher.close()
    assert events.completed and watch.completed


def test_user_events_subscribed_after_close_complete_at_once(make_pusher, server) -> None:
    p = make_pusher()
    server.handshake()
    before = record(p.user.events("e"))
    p.close()
    after = record(p.user.events("e"))
    assert before.completed and after.completed


def test_events_for_another_users_channel_are_not_delivered(make_pusher, server) -> None:
    p = make_pusher(secret="s", user_data={"id": "42"})
    server.handshake()
    got = record(p.user.events("note"))
    server.push("note", {"n": 0}, channel="#server-to-user-7")  # not signed in yet
    p.signin()
    server.push("pusher:signin_success", {"user_data": json.dumps({"id": "42"})})
    server.push("note", {"n": 1}, channel="#server-to-user-7")
    server.push("note", {"n": 2}, channel="#other")
    server.push("note", {"n": 3}, channel="#server-to-user-42")
    assert got.items == [{"n": 3}]
