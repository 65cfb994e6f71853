"""``rxpusher.sequenced`` against real servers, with a numbered publisher that triggers
through the official SDK and answers the backfill from its own list of what it published:

- the server stopped and restarted on its port mid-stream: every seq exactly once, in order
  (what was published during the outage comes from the backfill);
- two soketi nodes on Redis, one SIGKILLed mid-stream, one connection to each: zero gaps,
  every seq once, and no backfill call (the other connection covered the loss);
- a backfill that fails: exactly one ``Gap`` with the bounds of what was lost.
"""

from __future__ import annotations

from typing import Any

import pytest

import rxpusher
from helpers.cluster_harness import SoketiCluster
from helpers.numbered_publisher import NumberedPublisher
from helpers.soketi_harness import Collector, wait_for, wait_subscribed

pytestmark = pytest.mark.integration

FAST = dict(reconnect=rxpusher.Backoff(initial=0.1, maximum=0.5))


@pytest.fixture
def server(restartable):
    """This module's own server of each kind (it is stopped and restarted)."""
    restartable.start()  # a previous test may have left it stopped
    return restartable


def seqs(items: list[Any]) -> list[int]:
    return [d["seq"] for d in items]


def wait_len(collector: Collector, n: int, timeout: float, what: str) -> None:
    """Wait for ``n`` items (the message names the count, not thousands of items)."""
    wait_for(lambda: len(collector.items) >= n, timeout,
             message=lambda: f"{what}: {len(collector.items)} of {n} items")


def test_a_restart_mid_stream_loses_nothing_and_repeats_nothing(server, make_pusher, unique) -> None:
    name = unique("seq-restart")
    publisher = NumberedPublisher(server.sdk, name)
    client = make_pusher(server=server, **FAST)
    feed = rxpusher.sequenced(client.channel(name), "tick", seq=lambda d: d["seq"],
                              backfill=publisher.backfill, reorder_window=0.2)
    got, gaps = Collector("feed"), Collector("gaps")
    gaps.subscribe_to(feed.gaps)
    got.subscribe_to(feed.events)
    wait_subscribed(client.channel(name))
    publisher.run(interval=0.01)
    try:
        wait_len(got, 20, 15, "20 events before the restart")
        server.stop(graceful=True)            # published meanwhile: kept by the publisher only
        wait_for(lambda: publisher.failed_triggers >= 5, 15, message="triggers fail while down")
        server.start()
        wait_for(lambda: publisher.calls, 20, message="the outage backfilled")
        wait_len(got, publisher.last + 20, 20, "20 more events live")
    finally:
        publisher.stop()
    last = publisher.last
    wait_len(got, last, 15, f"every one of the {last} seqs")
    assert seqs(got.items) == list(range(1, last + 1))
    assert gaps.items == [] and got.error is None
    assert publisher.calls[0][3] is None  # the interruption's call: up to now
    assert feed.counters.backfilled >= publisher.failed_triggers


def test_two_connections_to_two_nodes_survive_a_sigkill_without_gap_or_backfill(
        cluster: SoketiCluster, unique) -> None:
    cluster.start()
    name = unique("seq-cluster")
    steady, other, spare = cluster.nodes
    publisher = NumberedPublisher(steady.sdk, name)   # publishes through the node that stays
    a = rxpusher.Pusher(cluster.key, **other.client_options(host=[other.host, spare.host], **FAST))
    b = rxpusher.Pusher(cluster.key, **steady.client_options(**FAST))
    try:
        _survive_a_sigkill(cluster, publisher, a, b)
    finally:
        a.close()
        b.close()


def _survive_a_sigkill(cluster: SoketiCluster, publisher: NumberedPublisher,
                       a: rxpusher.Pusher, b: rxpusher.Pusher) -> None:
    name = publisher.channel
    steady = cluster.nodes[0]
    assert cluster.node_at(b.url) is steady
    channels = [a.channel(name), b.channel(name)]
    feed = rxpusher.sequenced(channels, "tick", seq=lambda d: d["seq"],
                              backfill=publisher.backfill, reorder_window=0.5)
    got, gaps = Collector("feed"), Collector("gaps")
    gaps.subscribe_to(feed.gaps)
    got.subscribe_to(feed.events)
    states = Collector("a's channel")
    states.subscribe_to(channels[0].state)
    for channel in channels:
        wait_subscribed(channel)
    publisher.run(interval=0.01)
    try:
        wait_len(got, 30, 15, "30 events before the kill")
        victim = cluster.node_at(a.url)
        seen = len(states.snapshot())
        victim.stop(graceful=False)           # SIGKILL: a's socket drops without a close
        states.wait(lambda r: "pending" in r.items[seen:] and r.items[-1] == "subscribed",
                    30, "a lost its node, then subscribed on the other one")
        assert cluster.node_at(a.url) is not victim
        wait_len(got, publisher.last + 30, 20, "30 more events")
    finally:
        publisher.stop()
    last = publisher.last
    wait_len(got, last, 15, f"every one of the {last} seqs")
    assert seqs(got.items) == list(range(1, last + 1))
    assert gaps.items == [] and publisher.calls == []
    assert feed.counters.duplicates > 0   # both connections delivered, each seq went out once


def test_a_failing_backfill_is_exactly_one_gap_with_the_lost_bounds(server, make_pusher, unique) -> None:
    name = unique("seq-gap")
    publisher = NumberedPublisher(server.sdk, name)
    calls: list[tuple[int, int | None]] = []

    def backfill(channel: str, event: str, after: int, before: int | None) -> list[Any]:
        calls.append((after, before))
        raise ConnectionError("the backend is down too")

    client = make_pusher(server=server)
    errors = Collector("errors")
    errors.subscribe_to(client.errors)
    feed = rxpusher.sequenced(client.channel(name), "tick", seq=lambda d: d["seq"],
                              backfill=backfill, reorder_window=0.2, backfill_timeout=5)
    got, gaps = Collector("feed"), Collector("gaps")
    gaps.subscribe_to(feed.gaps)
    got.subscribe_to(feed.events)
    wait_subscribed(client.channel(name))
    publisher.publish(10)
    publisher.record_only(5)      # 11..15 never reach the server
    publisher.publish(5)
    wait_len(got, 15, 15, "the events that arrived")
    assert seqs(got.items) == list(range(1, 11)) + list(range(16, 21))
    [gap] = gaps.items
    assert (gap.channel, gap.event, gap.first, gap.last) == (name, "tick", 11, 15)
    assert calls == [(10, 16)]
    errors.wait_item(lambda e: isinstance(e, rxpusher.BackfillError))
