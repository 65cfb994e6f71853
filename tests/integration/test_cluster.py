"""rxpusher against a three-node soketi cluster on Redis (``cluster_harness``).

- an event published through node 1's HTTP API reaches clients on nodes 2 and 3;
- 30 clients spread over the nodes join one presence channel at once, and every client's
  ``members`` ends up listing all 30 (soketi sends ``member_added`` before
  ``subscription_succeeded`` while its cross-node query is in flight: the roster must merge
  those events into the snapshot);
- a client given every node (``host=[...]``) survives a SIGKILL of its node: it reconnects to
  another node, resubscribes, and receives every event published after that.

The cluster (the ``cluster`` fixture of ``conftest.py``) is shared by the session; a test that
kills a node leaves it to the ``server`` fixture of the next test to start it again.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

import rxpusher
from helpers.cluster_harness import SoketiCluster
from helpers.soketi_harness import Collector, Soketi, wait_for, wait_state, wait_subscribed

pytestmark = pytest.mark.integration

FAST = dict(reconnect=rxpusher.Backoff(initial=0.1, maximum=1.0))


@pytest.fixture
def server(cluster: SoketiCluster) -> Soketi:
    """Node 1 (``make_pusher`` defaults to it); every node is running and linked."""
    cluster.start()
    return cluster.nodes[0]


def test_event_published_on_node_1_reaches_clients_on_nodes_2_and_3(
    cluster: SoketiCluster, make_pusher: Any, unique: Any
) -> None:
    name = unique("cluster-news")
    received = []
    for node in cluster.nodes[1:]:
        client = make_pusher(server=node)
        assert cluster.node_at(client.url) is node
        collector = Collector(f"client on {node.host}")
        collector.subscribe_to(client.channel(name).events("price"))
        wait_subscribed(client.channel(name))
        received.append(collector)
    sent = [{"price": i} for i in range(20)]
    for data in sent:
        cluster.nodes[0].sdk.trigger(name, "price", data)
    for collector in received:
        assert collector.wait_count(len(sent)) == sent


def test_concurrent_presence_joins_on_every_node_give_every_client_every_member(
    cluster: SoketiCluster, make_pusher: Any, unique: Any
) -> None:
    room, n = unique("presence-cluster"), 30
    everyone = {f"user-{i}" for i in range(n)}
    clients = [
        make_pusher(
            server=cluster.nodes[i % len(cluster.nodes)],
            secret=cluster.secret,
            channel_data={"user_id": f"user-{i}", "user_info": {"i": i}},
        )
        for i in range(n)
    ]
    for client in clients:
        wait_state(client, "connected")
    members = [Collector(f"members of user-{i}") for i in range(n)]
    start = threading.Barrier(n)

    def join(i: int) -> None:
        start.wait()
        members[i].subscribe_to(clients[i].channel(room).members)

    threads = [threading.Thread(target=join, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def sizes() -> list[int]:
        """The size of each client's latest member list (0 before the first)."""
        return [len(c.snapshot()[-1]) if c.items else 0 for c in members]

    def incomplete() -> list[int]:
        return [
            i
            for i, c in enumerate(members)
            if not c.items or set(c.snapshot()[-1]) != everyone
        ]

    # No member event is pending once all are in: an incomplete list would stay incomplete.
    wait_for(
        lambda: not incomplete(),
        20.0,
        0.05,
        lambda: f"every member list complete: {len(incomplete())} of {n} clients incomplete "
        f"(list sizes {sorted(sizes())})",
    )
    for i, collector in enumerate(members):
        last = collector.snapshot()[-1]
        assert last.count == n and last.me == rxpusher.Member(f"user-{i}", {"i": i})
        assert collector.error is None


def test_failover_after_sigkill_of_the_clients_node_loses_no_event(
    cluster: SoketiCluster, make_pusher: Any, unique: Any
) -> None:
    name = unique("cluster-failover")
    client = make_pusher(host=cluster.hosts, ws_port=cluster.port, **FAST)
    channel = client.channel(name)
    events, states = Collector("events"), Collector("channel state")
    events.subscribe_to(channel.events("tick"))
    states.subscribe_to(channel.state)
    wait_subscribed(channel)
    victim = cluster.node_at(client.url)
    survivors = [node for node in cluster.nodes if node is not victim]
    survivors[0].sdk.trigger(name, "tick", {"i": -1})
    events.wait_value({"i": -1})
    seen = len(states.snapshot())

    victim.stop(graceful=False)  # SIGKILL: the socket drops without a close frame

    def resubscribed(c: Collector) -> bool:
        after = c.items[seen:]
        return any(s != "subscribed" for s in after) and after[-1] == "subscribed"

    states.wait(resubscribed, 30.0, "the channel lost, then subscribed again")
    assert cluster.node_at(client.url) is not victim
    # Through both surviving nodes: the client's own node and across Redis (so the order
    # between the two sources is not defined; every event must arrive exactly once).
    sent = [{"i": i} for i in range(50)]
    for k, data in enumerate(sent):
        survivors[k % len(survivors)].sdk.trigger(name, "tick", data)
    received = events.wait_count(1 + len(sent))[1:]
    assert sorted(received, key=lambda d: d["i"]) == sent
    assert events.error is None and not events.completed
