"""Client events within the server's limit: soketi and the local server set to Pusher's
10 client events per second per connection."""

from __future__ import annotations

import time
from typing import Any, Iterable

import pytest
from reactivex import operators as ops

import rxpusher
from helpers.local_harness import LocalPusherServer
from helpers.soketi_harness import Collector, ServerHarness, Soketi

pytestmark = pytest.mark.integration


@pytest.fixture
def limited(server: ServerHarness) -> Iterable[ServerHarness]:
    """A server of the test's kind that allows 10 client events per second per connection."""
    other: ServerHarness
    if server.kind == "soketi":
        other = Soketi(extra_env={"SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC": "10"})
    else:
        other = LocalPusherServer(client_events_per_second=10)
    other.start()
    try:
        yield other
    finally:
        other.cleanup()


def _pair(limited: ServerHarness, name: str, **options: Any) -> tuple[Any, Any]:
    a = rxpusher.Pusher(limited.key, **limited.client_options(secret=limited.secret, **options))
    b = rxpusher.Pusher(limited.key, **limited.client_options(secret=limited.secret))
    a.subscribe(name).wait_subscribed(10)
    b.subscribe(name).wait_subscribed(10)
    return a, b


def test_35_client_events_at_once_all_arrive_in_order_at_most_10_a_second(limited, unique):
    name = unique("private-burst")
    a, b = _pair(limited, name)
    try:
        got = Collector("client-n")
        got.subscribe_to(b.channel(name).events("client-n").pipe(
            ops.map(lambda data: (time.monotonic(), data["i"]))))
        errors = Collector("sender errors")
        errors.subscribe_to(a.errors)
        started = time.monotonic()
        for i in range(35):
            a.channel(name).trigger("client-n", {"i": i})
        assert time.monotonic() - started < 1.0  # queued, not blocking the caller
        items = got.wait_count(35, timeout=20)
        assert [i for _, i in items] == list(range(35))
        times = [t for t, _ in items]
        # the 11th arrives a second after the 1st, and so on (a little jitter allowed)
        assert all(times[k + 10] - times[k] > 0.9 for k in range(25)), times
        assert not [e for e in errors.snapshot() if isinstance(e, rxpusher.ServerError)]
    finally:
        a.close()
        b.close()


def test_without_pacing_the_server_rejects_the_excess_as_rate_limit_errors_and_stays(
        limited, unique):
    name = unique("private-flood")
    a, b = _pair(limited, name, client_event_rate=None)
    try:
        errors = Collector("sender errors")
        errors.subscribe_to(a.errors)
        socket_id = a.socket_id
        for i in range(30):
            a.channel(name).trigger("client-n", {"i": i})
        error = errors.wait_item(lambda e: isinstance(e, rxpusher.RateLimitError), timeout=10)
        assert isinstance(error, rxpusher.ServerError) and error.code == 4301
        # the connection stays: a server event still reaches the same socket
        after = Collector("after")
        after.subscribe_to(a.channel(name).events("after"))
        limited.sdk.trigger(name, "after", {"ok": True})
        assert after.wait_count(1) == [{"ok": True}]
        assert a.socket_id == socket_id and a.connection_state == "connected"
    finally:
        a.close()
        b.close()


def test_trigger_while_not_connected_raises_and_queues_nothing(limited, unique):
    name = unique("private-offline")
    a, b = _pair(limited, name)
    try:
        got = Collector("client-n")
        got.subscribe_to(b.channel(name).events("client-n"))
        a.disconnect()
        with pytest.raises(rxpusher.PusherError):
            a.channel(name).trigger("client-n", {"i": 0})
        a.connect()
        a.channel(name).wait_subscribed(10)
        a.channel(name).trigger("client-n", {"i": 1})
        assert got.wait_count(1) == [{"i": 1}]
    finally:
        a.close()
        b.close()
