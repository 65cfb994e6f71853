"""Channel authorization against soketi and the local server: auth endpoint, authorizer, local
signing, failures."""

from __future__ import annotations

import base64
import threading

import pytest
from reactivex import operators as ops

import rxpusher
from helpers.soketi_harness import Collector, wait_state, wait_subscribed

pytestmark = pytest.mark.integration


def _observe(channel, name=None):
    c = Collector(f"{channel.name}.events({name!r})")
    c.subscribe_to(channel.events(name) if name else channel.events())
    return c


def test_private_channel_via_endpoint_with_params_headers_and_basic_auth(
    make_pusher, soketi, auth_server, unique
):
    name = unique("private-orders")
    auth_server.behaviour.required_params = {"tenant": "acme", "role": "trader"}
    auth_server.behaviour.required_headers = {"X-CSRF-Token": "tok-123"}
    auth_server.behaviour.basic_auth = ("alice", "s3cret:with colon")
    pusher = make_pusher(
        auth_endpoint=auth_server.url,
        auth={
            "params": {"tenant": "acme", "role": "trader"},
            "headers": {"X-CSRF-Token": "tok-123"},
            "username": "alice",
            "password": "s3cret:with colon",
        },
    )
    channel = pusher.channel(name)
    orders = _observe(channel, "order")
    wait_subscribed(channel)

    soketi.sdk.trigger(name, "order", {"id": 7})
    assert orders.wait_count(1) == [{"id": 7}]
    assert orders.error is None

    [req] = auth_server.requests
    assert req.status == 200
    assert req.path == "/pusher/auth"
    assert req.params == {
        "socket_id": pusher.socket_id,
        "channel_name": name,
        "tenant": "acme",
        "role": "trader",
    }
    headers = {k.lower(): v for k, v in req.headers.items()}
    assert headers["x-csrf-token"] == "tok-123"
    assert headers["content-type"].startswith("application/x-www-form-urlencoded")
    expected = base64.b64encode(b"alice:s3cret:with colon").decode()
    assert headers["authorization"] == f"Basic {expected}"
    assert name in soketi.channels()


def test_endpoint_403_fails_only_that_channel(make_pusher, soketi, auth_server, unique):
    denied, allowed, public = unique("private-denied"), unique("private-allowed"), unique("pub")
    auth_server.behaviour.deny_channels = {denied}
    pusher = make_pusher(auth_endpoint=auth_server.url)
    errors = Collector("errors")
    errors.subscribe_to(pusher.errors)

    bad = _observe(pusher.channel(denied), "e")
    bad_all = _observe(pusher.channel(denied))
    good = _observe(pusher.channel(allowed), "e")
    pub = _observe(pusher.channel(public), "e")

    err = bad.wait_error()
    assert isinstance(err, rxpusher.SubscriptionError)
    assert isinstance(err, rxpusher.PusherError)
    assert err.channel == denied
    assert err.status == 403
    assert isinstance(err.message, str)
    other = bad_all.wait_error()
    assert isinstance(other, rxpusher.SubscriptionError) and other.status == 403
    assert not pusher.channel(denied).subscribed

    wait_subscribed(pusher.channel(allowed))
    wait_subscribed(pusher.channel(public))
    soketi.sdk.trigger([allowed, public], "e", "fine")
    assert good.wait_count(1) == ["fine"]
    assert pub.wait_count(1) == ["fine"]
    assert good.error is None and pub.error is None
    assert pusher.connection_state == "connected"
    errors.wait_item(lambda e: isinstance(e, rxpusher.PusherError), what="auth failure on errors")
    assert denied not in soketi.channels()


def test_unreachable_endpoint_gives_status_0(make_pusher, soketi, unreachable_endpoint, unique):
    private, public = unique("private-nowhere"), unique("pub-nowhere")
    pusher = make_pusher(auth_endpoint=unreachable_endpoint)
    bad = _observe(pusher.channel(private), "e")
    pub = _observe(pusher.channel(public), "e")

    err = bad.wait_error()
    assert isinstance(err, rxpusher.SubscriptionError)
    assert err.channel == private
    assert err.status == 0

    wait_subscribed(pusher.channel(public))
    soketi.sdk.trigger(public, "e", 1)
    assert pub.wait_count(1) == [1]
    assert pusher.connection_state == "connected"


def test_endpoint_answering_non_json_gives_status_200(make_pusher, auth_server, unique):
    name = unique("private-garbage")
    auth_server.behaviour.raw_body = "<html>not json</html>"
    pusher = make_pusher(auth_endpoint=auth_server.url)
    err = _observe(pusher.channel(name)).wait_error()
    assert isinstance(err, rxpusher.SubscriptionError)
    assert (err.channel, err.status) == (name, 200)


def test_server_rejection_of_a_bad_signature(make_pusher, soketi, unique):
    name = unique("private-forged")
    pusher = make_pusher(secret="not-the-app-secret")
    err = _observe(pusher.channel(name)).wait_error()
    assert isinstance(err, rxpusher.SubscriptionError)
    assert err.channel == name
    assert err.status == 401  # pusher:subscription_error status of soketi (and the local server)
    assert pusher.connection_state == "connected"
    assert name not in soketi.channels()


def test_private_channel_without_any_authorization_errors_that_channel(
    make_pusher, soketi, unique
):
    private, public = unique("private-noauth"), unique("pub-noauth")
    pusher = make_pusher()
    bad = _observe(pusher.channel(private))
    pub = _observe(pusher.channel(public), "e")
    err = bad.wait_error()
    assert isinstance(err, rxpusher.SubscriptionError)
    assert err.channel == private
    wait_subscribed(pusher.channel(public))
    soketi.sdk.trigger(public, "e", "ok")
    assert pub.wait_count(1) == ["ok"]


def test_local_signing_with_secret_private(make_pusher, soketi, auth_server, unique):
    name = unique("private-local")
    # An endpoint is configured too: `secret` comes first, so it must never be called.
    pusher = make_pusher(secret=soketi.secret, auth_endpoint=auth_server.url)
    channel = pusher.channel(name)
    got = _observe(channel, "e")
    wait_subscribed(channel)
    soketi.sdk.trigger(name, "e", {"signed": "locally"})
    assert got.wait_count(1) == [{"signed": "locally"}]
    assert auth_server.requests == []


def test_local_signing_with_secret_presence_channel_data(make_pusher, soketi, unique):
    name = unique("presence-local")
    pusher = make_pusher(
        secret=soketi.secret,
        channel_data={"user_id": 42, "user_info": {"name": "Ada"}},
    )
    channel = pusher.channel(name)
    members = Collector("members")
    members.subscribe_to(channel.members)
    snapshot = members.wait_item(lambda m: m.count == 1, what="a members snapshot with me")
    assert snapshot.me == rxpusher.Member("42", {"name": "Ada"})
    assert dict(snapshot) == {"42": {"name": "Ada"}}
    wait_subscribed(channel)
    assert soketi.users(name) == {"42"}
    got = _observe(channel, "e")
    soketi.sdk.trigger(name, "e", 2)
    assert got.wait_count(1) == [2]


def test_authorizer_callable_comes_before_endpoint(make_pusher, soketi, auth_server, unique):
    name = unique("private-authorizer")
    calls = []
    lock = threading.Lock()

    def authorizer(channel_name, socket_id):
        with lock:
            calls.append((channel_name, socket_id, threading.current_thread().name))
        return soketi.sdk.authenticate(channel=channel_name, socket_id=socket_id)

    pusher = make_pusher(authorizer=authorizer, auth_endpoint=auth_server.url)
    channel = pusher.channel(name)
    got = _observe(channel, "e")
    wait_subscribed(channel)
    soketi.sdk.trigger(name, "e", "authorized")
    assert got.wait_count(1) == ["authorized"]
    assert [(c, s) for c, s, _ in calls] == [(name, pusher.socket_id)]
    assert auth_server.requests == []


def test_retry_on_a_failed_stream_subscribes_again(make_pusher, soketi, auth_server, unique):
    name = unique("private-retry")
    auth_server.behaviour.fail_first = 1
    auth_server.behaviour.fail_status = 403
    pusher = make_pusher(auth_endpoint=auth_server.url)
    channel = pusher.channel(name)
    got = Collector("retried")
    got.subscribe_to(channel.events("e").pipe(ops.retry(3)))
    auth_server.wait_requests(2)
    wait_subscribed(channel)
    soketi.sdk.trigger(name, "e", "second time lucky")
    assert got.wait_count(1) == ["second time lucky"]
    assert got.error is None
    assert [r.status for r in auth_server.requests] == [403, 200]


def test_bindings_survive_a_subscription_error(make_pusher, soketi, auth_server, unique):
    name = unique("private-bound")
    auth_server.behaviour.deny_channels = {name}
    pusher = make_pusher(auth_endpoint=auth_server.url)
    wait_state(pusher, "connected")
    channel = pusher.channel(name)
    seen = Collector("bind_all")
    channel.bind_all(lambda event, data: seen.on_next((event, data)))
    seen.wait_item(lambda item: item[0] == "pusher:subscription_error", what="subscription_error")

    # The binding keeps the channel: once allowed, pusher.subscribe(name) tries again.
    auth_server.behaviour.deny_channels = set()
    events = Collector("bind e")
    channel.bind("e", events.on_next)
    pusher.subscribe(name)
    wait_subscribed(channel)
    soketi.sdk.trigger(name, "e", "finally")
    assert events.wait_count(1) == ["finally"]
