"""The cost per event of a sequenced stream against a plain ``events(...)`` stream.

Run from the repository root:  python bench/sequenced.py  [--events 50000] [--repeat 7]

No network and no threads: each client is driven through its transport seam
(``rxpusher.testing.ScriptedServer``) with a virtual-time ``TestScheduler``, and pre-built raw
frames (Pusher-style, ``data`` a JSON string carrying ``seq``) are pushed through
``server.current.receive(text)``, what the reader thread calls for each frame. So each figure
covers decoding, the client's bookkeeping, routing and the observer call, plus, for the
sequenced rows, the seq function, the ordering and the stream's own delivery lane:

  plain          channel.events("tick") on one client
  sequenced      rxpusher.sequenced(channel, "tick", seq=...).events on one client
  sequenced x2   the same channel on two clients (two connections), every frame pushed to
                 both: half the events are duplicates dropped; per delivered event

Rounds interleave the three, each round starting with another one (slow drift on the
machine hits them all); the median of
--repeat runs is printed, with the ratios to plain (target for ``sequenced``: <= 1.3x).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("RXPUSHER_SRC", str(ROOT)))  # this checkout, or RXPUSHER_SRC

from reactivex.testing import TestScheduler  # noqa: E402

import rxpusher  # noqa: E402
from rxpusher.testing import ScriptedServer  # noqa: E402

KINDS = ("plain", "sequenced", "sequenced x2")
TARGET = 1.3


class Counter:
    """The observer: counts what it gets and checks the order (touches the data)."""

    __slots__ = ("count", "last")

    def __init__(self) -> None:
        self.count = 0
        self.last = -1

    def on_next(self, data: Any) -> None:
        seq = data["seq"]
        if seq > self.last:
            self.last = seq
            self.count += 1

    def on_error(self, error: Exception) -> None:
        raise error

    def on_completed(self) -> None:
        pass


def frame(seq: int) -> str:
    data = json.dumps({"symbol": "BENCH", "price": 101.25, "seq": seq}, separators=(",", ":"))
    return json.dumps({"event": "tick", "channel": "bench", "data": data}, separators=(",", ":"))


def by_seq(data: Any) -> int:
    return data["seq"]


class Setup:
    """``connections`` clients on their scripted servers; the observer of ``kind``."""

    def __init__(self, kind: str, events: int) -> None:
        self.kind = kind
        connections = 2 if kind == "sequenced x2" else 1
        self.servers = [ScriptedServer() for _ in range(connections)]
        self.clients = [rxpusher.Pusher("key", transport=s.transport, timer_scheduler=TestScheduler())
                        for s in self.servers]
        for server in self.servers:
            server.handshake()
        self.counter = Counter()
        channels = [c.channel("bench") for c in self.clients]
        if kind == "plain":
            stream = channels[0].events("tick")
        else:
            self.feed = rxpusher.sequenced(channels, "tick", seq=by_seq)
            stream = self.feed.events
        self.subscription = stream.subscribe(self.counter)
        for server in self.servers:
            server.succeed("bench")
        self.events = events
        self.next = 0

    def run(self) -> float:
        """Push the next ``events`` seqs (to every connection); ns per delivered event."""
        frames = [frame(i) for i in range(self.next, self.next + self.events)]
        self.next += self.events
        receivers = [s.current.receive for s in self.servers]
        before = self.counter.count
        gc.collect()
        if len(receivers) == 1:
            receive = receivers[0]
            start = time.perf_counter_ns()
            for text in frames:
                receive(text)
        else:
            first, second = receivers
            start = time.perf_counter_ns()
            for text in frames:
                first(text)
                second(text)
        elapsed = time.perf_counter_ns() - start
        got = self.counter.count - before
        assert got == len(frames), f"{self.kind}: {got}/{len(frames)} delivered"
        return elapsed / len(frames)

    def close(self) -> None:
        self.subscription.dispose()
        for client in self.clients:
            client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events per timed run")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()
    setups = {kind: Setup(kind, args.events) for kind in KINDS}
    timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for round_ in range(args.repeat):
        for i in range(len(KINDS)):  # each round starts with another kind
            kind = KINDS[(round_ + i) % len(KINDS)]
            timings[kind].append(setups[kind].run())
    duplicates = setups["sequenced x2"].feed.counters.duplicates
    for setup in setups.values():
        setup.close()
    cost = {kind: statistics.median(values) for kind, values in timings.items()}
    print(f"ns per delivered event, median of {args.repeat} runs of {args.events:,} events "
          "(every event delivered once, in order: yes)")
    for kind in KINDS:
        print(f"{kind:14s} {cost[kind]:>10,.0f} ns   {cost[kind] / cost['plain']:.2f}x plain")
    print(f"(sequenced x2 dropped {duplicates:,} duplicates: every frame came twice)")
    ratio = cost["sequenced"] / cost["plain"]
    print(f"\nsequenced / plain: {ratio:.2f}x  (target <= {TARGET}x: "
          f"{'met' if ratio <= TARGET else 'NOT met'})")
    print(f"total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
