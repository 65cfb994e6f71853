"""A service that keeps two connections to two server nodes and reads one complete feed.

Run it (no account needed: two local Pusher-compatible servers stand for two nodes of a
cluster, and the publisher sends every event to both, as a cluster would):

    python examples/redundant_feed.py

or against two soketi nodes on Redis (the publisher uses the official SDK on the first):

    python examples/redundant_feed.py --key app-key --app-id app-id --secret app-secret \\
        --host 127.0.0.1 --host2 127.0.0.2 --port 6001 --no-tls

Each price carries a consecutive ``seq`` set by the publisher, which keeps what it sent.
``rxpusher.sequenced`` merges the ``new-price`` events of both connections into one stream:
each seq once, in order. The script cuts each connection in turn (the node drops it and
refuses new ones for a moment) and cuts the other once it is back: while one is down the
other covers it, so the book misses nothing and nothing is backfilled; the backfill (served
from the publisher's list) is there for an outage of both. Exits 0 once every price arrived
exactly once, in order (1 otherwise).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import rxpusher
from rxpusher import Backoff, Gap

from _common import Backend, backend, parser

CHANNEL, EVENT = "AAPL", "new-price"


class Publisher:
    """Numbered prices, kept (the app's database) and sent to every node."""

    def __init__(self, nodes: list[Backend]) -> None:
        self.nodes = nodes
        self.sent: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def publish(self) -> None:
        with self.lock:
            seq = len(self.sent) + 1
            data = {"seq": seq, "price": round(100 + (seq % 11) * 0.25, 2)}
            self.sent.append(data)
        for node in self.nodes:
            try:
                node.trigger(CHANNEL, EVENT, data)
            except Exception as exc:  # noqa: BLE001 - a node is down: kept in self.sent
                print(f"  (publish of {seq} to a node failed: {type(exc).__name__})")

    def backfill(self, channel: str, event: str, after: int, before: int | None) -> list[Any]:
        with self.lock:
            top = len(self.sent) if before is None else before - 1
            return self.sent[after:top]


def main() -> int:
    p = parser(__doc__.split("\n\n")[0], seconds=20.0)
    p.add_argument("--host2", help="the second node's host (with --host for the first)")
    p.add_argument("--prices", type=int, default=60,
                   help="about how many prices to publish (more while a connection is down)")
    args = p.parse_args()
    if args.key and not args.host2:
        p.error("with --key, give both nodes: --host and --host2")
    second = p.parse_args([*_argv_for_second(args)]) if args.key else args
    with backend(args) as first, backend(second) as other:
        nodes = [first] if args.key else [first, other]   # a real cluster relays by itself
        publisher = Publisher(nodes)
        clients = [rxpusher.Pusher(b.key, reconnect=Backoff(initial=0.2, maximum=0.5),
                                   **b.client_options) for b in (first, other)]
        channels = [client.channel(CHANNEL) for client in clients]
        feed = rxpusher.sequenced(channels, EVENT, seq=lambda d: d["seq"],
                                  backfill=publisher.backfill, reorder_window=0.5)
        book: list[int] = []
        gaps: list[Gap] = []
        arrived = threading.Condition()

        def on_price(data: Any) -> None:
            with arrived:
                book.append(data["seq"])
                arrived.notify_all()

        def on_gap(gap: Gap) -> None:
            gaps.append(gap)
            print(f"  gap: {gap.first}..{gap.last} on {gap.channel}")

        feed.gaps.subscribe(on_gap)
        keep = feed.events.subscribe(on_price)
        states = [c.state.subscribe(lambda s, name=name: print(f"  connection {name}: {s}"))
                  for c, name in zip(channels, "ab")]
        deadline = time.monotonic() + args.seconds

        def publish_while(more: Any, at_least: int) -> None:
            """Publish a price every 20 ms: at least ``at_least``, then while ``more()``."""
            for _ in range(at_least):
                publisher.publish()
                time.sleep(0.02)
            while more() and time.monotonic() < deadline:
                publisher.publish()
                time.sleep(0.02)

        try:
            for channel in channels:
                channel.wait_subscribed(timeout=10)
            third = max(1, args.prices // 3)
            publish_while(lambda: False, third)
            for cut in (0, 1):
                print(f"cutting connection {'ab'[cut]} after seq {len(publisher.sent)}")
                _cut(nodes, cut, clients[cut])
                publish_while(lambda: not channels[cut].subscribed, third // 2)
            publish_while(lambda: False, third)
            total = len(publisher.sent)
            with arrived:
                arrived.wait_for(lambda: len(book) >= total, max(0.0, deadline - time.monotonic()))
            counters = feed.counters
            in_order = book == list(range(1, total + 1))
            print(f"book: {len(book)} of {total} prices, each once, in order: {in_order}")
            print(f"gaps: {len(gaps)}, backfilled: {counters.backfilled}, "
                  f"duplicates dropped: {counters.duplicates}")
            return 0 if in_order and not gaps else 1
        finally:
            for state in states:
                state.dispose()
            keep.dispose()
            for client in clients:
                client.close()


def _argv_for_second(args: Any) -> list[str]:
    """The command line of the second node: the first one's with --host2 as --host."""
    argv = ["--key", args.key, "--host", args.host2]
    for name in ("port", "app_id", "secret"):
        value = getattr(args, name)
        if value:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    if args.no_tls:
        argv.append("--no-tls")
    return argv


def _cut(nodes: list[Backend], index: int, client: rxpusher.Pusher) -> None:
    """Take connection ``index`` down for a moment: its node drops it and refuses new ones
    (locally); against real nodes, the client drops it itself."""
    if len(nodes) > index and nodes[index].local is not None:
        nodes[index].local.refuse_connections(0.6)
        nodes[index].local.close_connections(4200)
    else:
        client.reconnect()


if __name__ == "__main__":
    raise SystemExit(main())
