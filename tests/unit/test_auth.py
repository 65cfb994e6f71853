"""Authorization of private and presence subscriptions: secret, authorizer, auth endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading

import pytest

from rxpusher import SubscriptionError

from .support import SOCKET_ID, record, unreachable_url, wait_for


def hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def subscribe_frames(server, channel: str) -> list[dict]:
    return [f["data"] for f in server.sent("pusher:subscribe") if f["data"]["channel"] == channel]


def wait_subscribed_or_failed(server, channel: str, stream) -> None:
    wait_for(lambda: subscribe_frames(server, channel) or stream.terminated)


# ---- local signing with secret ------------------------------------------------------------

def test_secret_signs_private_channel_with_hmac_of_socket_and_channel(make_pusher, server) -> None:
    p = make_pusher(key="app-key", secret="s3cret")
    server.handshake(socket_id="123.456")
    p.subscribe("private-orders")
    (frame,) = subscribe_frames(server, "private-orders")
    assert frame["auth"] == "app-key:" + hmac_hex("s3cret", "123.456:private-orders")
    assert "channel_data" not in frame


def test_secret_signs_presence_with_channel_data_and_string_user_id(make_pusher, server) -> None:
    p = make_pusher(key="app-key", secret="s3cret",
                    channel_data={"user_id": 42, "user_info": {"name": "Ada"}})
    server.handshake(socket_id="123.456")
    p.subscribe("presence-room")
    (frame,) = subscribe_frames(server, "presence-room")
    channel_data = frame["channel_data"]
    assert isinstance(channel_data, str)
    assert json.loads(channel_data) == {"user_id": "42", "user_info": {"name": "Ada"}}
    assert frame["auth"] == "app-key:" + hmac_hex("s3cret", f"123.456:presence-room:{channel_data}")


def test_secret_presence_without_channel_data_fails_that_channel(make_pusher, server) -> None:
    p = make_pusher(secret="s3cret")
    server.handshake()
    stream = record(p.channel("presence-room").events())
    assert isinstance(stream.error, SubscriptionError)
    assert stream.error.channel == "presence-room"
    assert stream.error.status is None
    assert subscribe_frames(server, "presence-room") == []


def test_secret_is_preferred_over_authorizer_and_endpoint(make_pusher, server) -> None:
    calls = []
    p = make_pusher(key="k", secret="s", authorizer=lambda c, s: calls.append(c) or {"auth": "x"},
                    auth_endpoint=unreachable_url())
    server.handshake(socket_id="1.1")
    p.subscribe("private-c")
    assert subscribe_frames(server, "private-c")[0]["auth"] == "k:" + hmac_hex("s", "1.1:private-c")
    assert calls == []


def test_public_channel_needs_no_authorization(make_pusher, server) -> None:
    p = make_pusher()
    server.handshake()
    p.subscribe("public")
    assert subscribe_frames(server, "public") == [{"channel": "public"}]


def test_secret_never_appears_in_logs(make_pusher, server, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="rxpusher")
    p = make_pusher(secret="TOP-SECRET-VALUE", channel_data={"user_id": 1})
    server.handshake()
    p.subscribe("private-c")
    p.subscribe("presence-c")
    server.succeed("private-c")
    assert caplog.records  # frames were logged at DEBUG
    assert "TOP-SECRET-VALUE" not in caplog.text


# ---- authorizer callable ----------------------------------------------------------------------

def test_authorizer_is_called_with_channel_and_socket_id(make_pusher, server) -> None:
    calls = []

    def authorizer(channel, socket_id):
        calls.append((channel, socket_id, threading.current_thread()))
        return {"auth": "key:from-authorizer"}

    p = make_pusher(authorizer=authorizer)
    server.handshake(socket_id="9.9")
    stream = record(p.channel("private-c").events())
    wait_subscribed_or_failed(server, "private-c", stream)
    assert [(c, s) for c, s, _ in calls] == [("private-c", "9.9")]
    assert calls[0][2] is not threading.current_thread()  # never on the reader thread
    assert subscribe_frames(server, "private-c") == [{"channel": "private-c", "auth": "key:from-authorizer"}]


def test_authorizer_presence_channel_data_is_sent_verbatim(make_pusher, server) -> None:
    channel_data = '{"user_id": "7",   "user_info": {"n": 1}}'
    p = make_pusher(authorizer=lambda c, s: {"auth": "key:sig", "channel_data": channel_data})
    server.handshake()
    stream = record(p.channel("presence-c").events())
    wait_subscribed_or_failed(server, "presence-c", stream)
    assert subscribe_frames(server, "presence-c")[0]["channel_data"] == channel_data


def test_authorizer_is_preferred_over_endpoint(make_pusher, server, auth_endpoint) -> None:
    p = make_pusher(authorizer=lambda c, s: {"auth": "key:callable"}, auth_endpoint=auth_endpoint.url)
    server.handshake()
    stream = record(p.channel("private-c").events())
    wait_subscribed_or_failed(server, "private-c", stream)
    assert subscribe_frames(server, "private-c")[0]["auth"] == "key:callable"
    assert auth_endpoint.requests == []


def test_authorizer_raising_errors_that_channel_with_subscription_error(make_pusher, server) -> None:
    boom = RuntimeError("no token")

    def authorizer(channel, socket_id):
        raise boom

    p = make_pusher(authorizer=authorizer)
    server.handshake()
    errors = record(p.errors)
    stream = record(p.channel("private-c").events("e"))
    wait_for(lambda: stream.terminated)
    error = stream.error
    assert isinstance(error, SubscriptionError)
    assert error.channel == "private-c"
    assert error.status is None
    assert "no token" in error.message
    assert error.__cause__ is boom
    assert any(e is error or (isinstance(e, SubscriptionError) and e.channel == "private-c")
               for e in errors.items)
    assert subscribe_frames(server, "private-c") == []


def test_authorizer_answer_without_auth_is_a_subscription_error(make_pusher, server) -> None:
    p = make_pusher(authorizer=lambda c, s: {"nothing": True})
    server.handshake()
    stream = record(p.channel("private-c").events())
    wait_for(lambda: stream.terminated)
    assert isinstance(stream.error, SubscriptionError)


def test_presence_authorizer_answer_without_channel_data_is_a_subscription_error(make_pusher, server) -> None:
    p = make_pusher(authorizer=lambda c, s: {"auth": "key:sig"})
    server.handshake()
    stream = record(p.channel("presence-c").events())
    wait_for(lambda: stream.terminated)
    assert isinstance(stream.error, SubscriptionError)


# ---- missing configuration ---------------------------------------------------------------------

@pytest.mark.parametrize("channel", ["private-c", "presence-c"])
def test_missing_auth_config_errors_only_that_channel(make_pusher, server, channel: str) -> None:
    p = make_pusher()
    server.handshake()
    public = record(p.channel("public").events("e"))
    stream = record(p.channel(channel).events("e"))
    assert isinstance(stream.error, SubscriptionError)
    assert stream.error.channel == channel
    assert stream.error.status is None
    assert stream.error.message
    server.push("e", 1, channel="public")
    assert public.items == [1] and not public.terminated
    assert p.connection_state == "connected"


def test_missing_auth_config_before_connecting_fails_at_the_handshake(make_pusher, server) -> None:
    p = make_pusher()
    stream = record(p.channel("private-c").events())
    assert not stream.terminated
    server.handshake()
    assert isinstance(stream.error, SubscriptionError)


# ---- auth endpoint over HTTP ----------------------------------------------------------------------

def test_endpoint_gets_a_form_post_of_socket_id_and_channel_name(make_pusher, server, auth_endpoint) -> None:
    auth_endpoint.reply(200, {"auth": "key:from-endpoint"})
    p = make_pusher(auth_endpoint=auth_endpoint.url)
    server.handshake(socket_id="5.6")
    stream = record(p.channel("private-c").events())
    wait_subscribed_or_failed(server, "private-c", stream)
    (request,) = auth_endpoint.requests
    assert request["path"] == "/pusher/auth"
    assert request["form"] == {"socket_id": "5.6", "channel_name": "private-c"}
    assert request["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
    assert subscribe_frames(server, "private-c") == [{"channel": "private-c", "auth": "key:from-endpoint"}]


def test_endpoint_gets_auth_params_headers_and_basic_auth(make_pusher, server, auth_endpoint) -> None:
    p = make_pusher(
        auth_endpoint=auth_endpoint.url,
        auth={"params": {"team": "blue", "n": "1"}, "headers": {"X-Token": "t0k"},
              "username": "ada", "password": "pw"},
    )
    server.handshake(socket_id="5.6")
    stream = record(p.channel("private-c").events())
    wait_subscribed_or_failed(server, "private-c", stream)
    (request,) = auth_endpoint.requests
    assert request["form"] == {"socket_id": "5.6", "channel_name": "private-c", "team": "blue", "n": "1"}
    assert request["headers"]["x-token"] == "t0k"
    assert request["headers"]["authorization"] == "Basic " + base64.b64encode(b"ada:pw").decode()


def test_endpoint_presence_channel_data_is_sent_verbatim(make_pusher, server, auth_endpoint) -> None:
    channel_data = '{"user_id":"u-1","user_info":{"name":"Ada"}}'
    auth_endpoint.reply(200, {"auth": "key:sig", "channel_data": channel_data})
    p = make_pusher(auth_endpoint=auth_endpoint.url)
    server.handshake()
    stream = record(p.channel("presence-c").events())
    wait_subscribed_or_failed(server, "presence-c", stream)
    assert subscribe_frames(server, "presence-c") == [
        {"channel": "presence-c", "auth": "key:sig", "channel_data": channel_data}
    ]


def test_endpoint_403_is_subscription_error_with_status_403(make_pusher, server, auth_endpoint) -> None:
    auth_endpoint.reply(403, "Forbidden: not your channel")
    p = make_pusher(auth_endpoint=auth_endpoint.url)
    server.handshake()
    stream = record(p.channel("private-c").events())
    wait_for(lambda: stream.terminated)
    assert isinstance(stream.error, SubscriptionError)
    assert stream.error.status == 403
    assert stream.error.channel == "private-c"
    assert "not your channel" in stream.error.message


def test_endpoint_unreachable_is_subscription_error_with_status_0(make_pusher, server) -> None:
    p = make_pusher(auth_endpoint=unreachable_url())
    server.handshake()
    stream = record(p.channel("private-c").events())
    wait_for(lambda: stream.terminated)
    assert isinstance(stream.error, SubscriptionError)
    assert stream.error.status == 0
    assert stream.error.__cause__ is not None
    # requests' message ends with the cause, past the 200-character cut: it comes first
    assert stream.error.message.startswith("auth endpoint unreachable (connection refused): ")


def test_endpoint_non_json_200_is_subscription_error_with_status_200(make_pusher, server, auth_endpoint) -> None:
    auth_endpoint.reply(200, "<html>login page</html>")
    p = make_pusher(auth_endpoint=auth_endpoint.url)
    server.handshake()
    stream = record(p.channel("private-c").events())
    wait_for(lambda: stream.terminated)
    assert isinstance(stream.error, SubscriptionError)
    assert stream.error.status == 200


def test_endpoint_failure_leaves_other_channels_alone(make_pusher, server, auth_endpoint) -> None:
    auth_endpoint.reply(403, "no")
    p = make_pusher(auth_endpoint=auth_endpoint.url)
    server.handshake()
    public = record(p.channel("news").events("e"))
    stream = record(p.channel("private-c").events())
    wait_for(lambda: stream.terminated)
    server.push("e", "ok", channel="news")
    assert public.items == ["ok"] and not public.terminated
    assert p.connection_state == "connected"


def test_endpoint_failure_is_reported_on_errors(make_pusher, server, auth_endpoint) -> None:
    auth_endpoint.reply(403, "no")
    p = make_pusher(auth_endpoint=auth_endpoint.url)
    errors = record(p.errors)
    server.handshake()
    record(p.channel("private-c").events())
    wait_for(lambda: errors.items)
    assert isinstance(errors.items[0], SubscriptionError)
    assert errors.items[0].status == 403


def test_endpoint_is_called_again_with_the_new_socket_id_after_reconnect(
    make_pusher, server, sched, auth_endpoint
) -> None:
    p = make_pusher(auth_endpoint=auth_endpoint.url)
    server.handshake(socket_id="1.1")
    p.subscribe("private-c")
    wait_for(lambda: len(subscribe_frames(server, "private-c")) == 1)
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    wait_for(lambda: len(subscribe_frames(server, "private-c")) == 2)
    assert [r["form"]["socket_id"] for r in auth_endpoint.requests] == ["1.1", "2.2"]


def test_authorization_outcome_for_an_old_socket_is_dropped(make_pusher, server, sched) -> None:
    """An answer that arrives after the socket changed must not be sent on the new one."""
    release = threading.Event()
    calls = []

    def slow(channel, socket_id):
        calls.append(socket_id)
        if socket_id == "1.1":
            release.wait(5)
        return {"auth": f"key:{socket_id}"}

    p = make_pusher(authorizer=slow)
    server.handshake(socket_id="1.1")
    p.subscribe("private-c")
    wait_for(lambda: calls)
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    wait_for(lambda: subscribe_frames(server, "private-c"))
    release.set()
    p.close()  # waits for the worker
    assert [f["auth"] for f in subscribe_frames(server, "private-c")] == ["key:2.2"]


# ---- hostile or unlucky endpoints -----------------------------------------------------------

class _RawHttp:
    """A loopback HTTP endpoint whose answer is written by ``respond(socket)``."""

    def __init__(self, respond) -> None:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/auth"
        self.requests: list[bytes] = []
        self._respond = respond
        self._thread = threading.Thread(target=self._serve, daemon=True, name="test-raw-http")
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                self.requests.append(conn.recv(65536))
                try:
                    self._respond(conn)
                except OSError:
                    pass

    def close(self) -> None:
        self._sock.close()


def test_a_trickling_endpoint_is_bounded_by_auth_timeout_and_close_returns(server) -> None:
    import time

    import rxpusher

    stop = threading.Event()

    def trickle(conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.wait(0.2):
            conn.sendall(b" ")

    endpoint = _RawHttp(trickle)
    p = rxpusher.Pusher("key", transport=server.transport, auth_endpoint=endpoint.url,
                        auth_timeout=0.5)
    try:
        server.handshake()
        channel = p.subscribe("private-c")
        with pytest.raises(SubscriptionError) as info:
            channel.wait_subscribed(timeout=10)
        assert info.value.status == 0 and "auth_timeout" in info.value.message
        started = time.monotonic()
        p.close()
        assert time.monotonic() - started < 3  # bounded by auth_timeout, not by the trickle
    finally:
        stop.set()
        endpoint.close()
        p.close()


def test_redirects_are_not_followed_and_credentials_stay_home(make_pusher, server) -> None:
    def redirect(conn) -> None:
        conn.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://evil.example/steal\r\n"
                     b"Content-Length: 0\r\n\r\n")

    endpoint = _RawHttp(redirect)
    try:
        p = make_pusher(auth_endpoint=endpoint.url, auth={"headers": {"Authorization": "Bearer t"}})
        server.handshake()
        got = record(p.channel("private-c").events())
        wait_for(lambda: got.done)
        assert isinstance(got.error, SubscriptionError) and got.error.status == 307
        assert len(endpoint.requests) == 1 and server.sent("pusher:subscribe") == []
    finally:
        endpoint.close()


def test_a_raising_params_callable_fails_that_channel(make_pusher, server, auth_endpoint) -> None:
    def params() -> dict:
        raise RuntimeError("token refresh failed")

    p = make_pusher(auth_endpoint=auth_endpoint.url, auth={"params": params})
    server.handshake()
    got = record(p.channel("private-c").events())
    wait_for(lambda: got.done)
    assert isinstance(got.error, SubscriptionError) and "token refresh failed" in got.error.message
    assert p.channel("private-c").wait_subscribed is not None


def test_a_huge_error_body_is_cut_in_messages_and_logs(make_pusher, server, auth_endpoint,
                                                      caplog) -> None:
    auth_endpoint.reply(500, "x" * 10_000_000)
    p = make_pusher(auth_endpoint=auth_endpoint.url)
    server.handshake()
    got = record(p.channel("private-c").events())
    with caplog.at_level(logging.DEBUG, logger="rxpusher"):
        wait_for(lambda: got.done, timeout=10)
    assert got.error.status == 500 and len(str(got.error)) < 400
    assert max(len(r.getMessage()) for r in caplog.records) < 1000


def test_unserializable_channel_data_fails_only_that_channel(make_pusher, server, sched) -> None:
    import datetime

    p = make_pusher(secret="s", channel_data={"user_id": "1",
                                              "user_info": {"since": datetime.datetime.now()}})
    server.handshake()
    room = record(p.channel("presence-room").events())
    news = record(p.channel("private-news").events("e"))
    assert isinstance(room.error, SubscriptionError) and "JSON" in room.error.message
    server.succeed("private-news")
    server.current.drop(None)  # the resubscription loop goes on past the failing channel
    sched.advance_by(1)
    server.handshake()
    assert [f["data"]["channel"] for f in server.current.sent
            if f["event"] == "pusher:subscribe"] == ["private-news"]
    assert not news.done


def test_close_returns_within_auth_timeout_while_authorizers_sleep(server) -> None:
    import time

    import rxpusher

    release = threading.Event()

    def sleepy(channel: str, socket_id: str) -> dict:
        release.wait(30)
        return {"auth": "k:s"}

    p = rxpusher.Pusher("key", transport=server.transport, authorizer=sleepy, auth_timeout=0.5)
    try:
        server.handshake()
        for i in range(6):  # more than the worker pool
            p.subscribe(f"private-{i}")
        wait_for(lambda: len([t for t in threading.enumerate() if t.name == "rxpusher-auth"]) >= 4)
        started = time.monotonic()
        p.close()
        assert time.monotonic() - started < 2.0
    finally:
        release.set()
