"""rxpusher.bridge against real brokers (redis-server, nats-server -js) and real soketi, with
events triggered by the official ``pusher`` SDK. Each test runs once per sink."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

import rxpusher
from rxpusher import BridgeError, Pusher
from rxpusher.bridge import JetStreamSink, RedisStreamSink
from helpers.brokers import QUICK, Broker, unused_url
from helpers.soketi_harness import Collector, Soketi, wait_for, wait_subscribed


@pytest.fixture
def server(soketi_server: Soketi) -> Soketi:
    """soketi alone (the sinks are what is under test), restartable by the tests."""
    soketi_server.start()  # a previous test may have left it stopped
    return soketi_server


def data_of(entries: list[dict[str, Any]], key: str = "n") -> list[Any]:
    return [json.loads(e["data"])[key] for e in entries]


def test_each_sink_writes_50_sdk_triggered_events_in_order_with_their_fields(
        broker: Broker, make_pusher: Callable[..., Pusher], sdk: Any,
        unique: Callable[[str], str]) -> None:
    name = unique("bridge")
    pusher = make_pusher()
    sink = broker.sink()
    channel = pusher.channel(name)
    channel.events().subscribe(sink)
    wait_subscribed(channel)
    before = datetime.now().astimezone()
    for n in range(50):
        sdk.trigger(name, "tick", {"n": n, "text": "é\n"})
    wait_for(lambda: len(broker.events(name)) == 50, 20,
             message=lambda: f"50 entries, have {len(broker.events(name))}")
    entries = broker.events(name)
    assert data_of(entries) == list(range(50))
    assert sink.stats.written == 50
    for entry in entries:
        assert entry["channel"] == name and entry["event"] == "tick"
        assert json.loads(entry["data"]) == {"n": json.loads(entry["data"])["n"], "text": "é\n"}
        assert entry["user_id"] is None
        assert entry["id"].startswith(f"{name}:sha256:")
        received = datetime.fromisoformat(entry["received_at"])
        assert received.utcoffset() is not None and received >= before.replace(microsecond=0)
        assert entry["received_at"].endswith("Z")
    assert len({e["id"] for e in entries}) == 50
    assert sink.close() is True
    # the writer thread and, for NATS, the event loop's thread end with close()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("rxpusher-bridge")]


def test_two_bridges_on_one_sequenced_feed_write_each_seq_once(
        broker: Broker, make_pusher: Callable[..., Pusher], sdk: Any,
        unique: Callable[[str], str]) -> None:
    name = unique("bridge-seq")
    channels = []
    for _ in range(2):  # two bridges: each its own connection, feed and sink
        channel = make_pusher().channel(name)
        feed = rxpusher.sequenced(channel, "tick", seq=lambda data: data["seq"])
        feed.events.subscribe(broker.sink(seq="seq"))  # the feed tells the sink its channel
        channels.append(channel)
    for channel in channels:
        wait_subscribed(channel)
    for n in range(1, 51):
        sdk.trigger(name, "tick", {"seq": n})
    wait_for(lambda: sum(s.stats.written + s.stats.duplicates for s in broker.sinks) == 100, 20,
             message=lambda: f"both sinks done: {[s.stats for s in broker.sinks]}")
    entries = broker.events(name)
    assert [e["seq"] for e in entries] == list(range(1, 51))  # each seq exactly once, in order
    assert [e["id"] for e in entries] == [f"{name}:{n}" for n in range(1, 51)]
    assert {(e["channel"], e["event"]) for e in entries} == {(name, "tick")}
    assert sum(s.stats.duplicates for s in broker.sinks) == 50


def test_a_soketi_restart_under_a_sink_gives_an_interruption_entry(
        broker: Broker, server: Soketi, make_pusher: Callable[..., Pusher], sdk: Any,
        unique: Callable[[str], str]) -> None:
    name = unique("bridge-int")
    pusher = make_pusher(reconnect=QUICK)
    channel = pusher.channel(name)
    channel.events().subscribe(broker.sink())
    wait_subscribed(channel)
    sdk.trigger(name, "tick", {"n": 0})
    wait_for(lambda: len(broker.events(name)) == 1, 10)
    server.restart()
    wait_for(lambda: any(e["type"] == "interruption" for e in broker.entries(name)), 30,
             message=lambda: f"an interruption entry in {broker.entries(name)}")
    wait_subscribed(channel)
    sdk.trigger(name, "tick", {"n": 1})
    wait_for(lambda: len(broker.events(name)) == 2, 10)
    kinds = [e["type"] for e in broker.entries(name)]
    assert kinds == ["event", "interruption", "event"]
    [notice] = [e for e in broker.entries(name) if e["type"] == "interruption"]
    assert notice["lost_at"] <= notice["resubscribed_at"]


def test_a_broker_stopped_for_two_seconds_then_restarted_loses_nothing(
        broker: Broker, make_pusher: Callable[..., Pusher], sdk: Any,
        unique: Callable[[str], str]) -> None:
    name = unique("bridge-down")
    pusher = make_pusher()
    errors = Collector()
    pusher.errors.subscribe(errors)
    sink = broker.sink()
    channel = pusher.channel(name)
    channel.events().subscribe(sink)
    wait_subscribed(channel)
    for n in range(10):
        sdk.trigger(name, "tick", {"n": n})
    wait_for(lambda: sink.stats.written == 10, 10)
    broker.server.stop()
    down_at = time.monotonic()
    for n in range(10, 30):
        sdk.trigger(name, "tick", {"n": n})
    wait_for(lambda: sink.stats.buffered == 20 and not sink.stats.connected, 10,
             message=lambda: f"20 buffered while the broker is down: {sink.stats}")
    wait_for(lambda: any(isinstance(e, BridgeError) for e in errors.items), 10)
    time.sleep(max(0.0, 2.0 - (time.monotonic() - down_at)))  # the outage lasts 2 s
    broker.server.start()
    for n in range(30, 40):
        sdk.trigger(name, "tick", {"n": n})
    wait_for(lambda: sink.stats.written == 40, 20, message=lambda: f"all 40 written: {sink.stats}")
    assert data_of(broker.events(name)) == list(range(40))
    assert not [e for e in broker.entries(name) if e["type"] == "gap"]


def test_with_a_tiny_buffer_a_broker_outage_gives_a_gap_entry(
        broker: Broker, make_pusher: Callable[..., Pusher], sdk: Any,
        unique: Callable[[str], str]) -> None:
    name = unique("bridge-gap")
    pusher = make_pusher()
    sink = broker.sink(max_buffer=5, seq="n")
    channel = pusher.channel(name)
    channel.events().subscribe(sink)
    wait_subscribed(channel)
    sdk.trigger(name, "tick", {"n": 0})
    wait_for(lambda: sink.stats.written == 1, 10)
    broker.server.stop()
    for n in range(1, 21):
        sdk.trigger(name, "tick", {"n": n})
    wait_for(lambda: sink.stats.dropped == 15, 10, message=lambda: f"15 dropped: {sink.stats}")
    broker.server.start()
    wait_for(lambda: len(broker.events(name)) == 6, 20, message=lambda: f"6 events: {sink.stats}")
    entries = broker.entries(name)
    assert [e["type"] for e in entries] == ["event", "gap"] + ["event"] * 5
    gap = entries[1]
    assert gap["reason"] == "buffer_full"
    assert (int(gap["count"]), int(gap["first"]), int(gap["last"])) == (15, 1, 15)
    assert [e["seq"] for e in broker.events(name)] == [0, 16, 17, 18, 19, 20]


@pytest.mark.parametrize("kind", ["redis", "nats"])
def test_a_bad_broker_url_is_a_bridge_error_and_the_other_subscriptions_go_on(
        kind: str, make_pusher: Callable[..., Pusher], sdk: Any,
        unique: Callable[[str], str]) -> None:
    bridged, other = unique("bridge-bad"), unique("plain")
    pusher = make_pusher()
    errors = Collector()
    pusher.errors.subscribe(errors)
    sink_class = RedisStreamSink if kind == "redis" else JetStreamSink
    sink = sink_class(unused_url(kind), reconnect=QUICK)
    try:
        pusher.channel(bridged).events().subscribe(sink)
        received = Collector()
        pusher.channel(other).events("tick").subscribe(received)
        wait_subscribed(pusher.channel(bridged))
        wait_subscribed(pusher.channel(other))
        sdk.trigger(bridged, "tick", {"n": 1})
        sdk.trigger(other, "tick", {"n": 2})
        wait_for(lambda: any(isinstance(e, BridgeError) for e in errors.items), 10)
        received.wait_count(1)
        assert received.items == [{"n": 2}]
        error = next(e for e in errors.items if isinstance(e, BridgeError))
        assert error.broker == kind and "cannot connect" in str(error)
        assert pusher.channel(bridged).subscribed and pusher.connection_state == "connected"
        wait_for(lambda: sink.stats.buffered == 1)  # kept for when the broker comes
    finally:
        assert sink.close(0.2) is False
