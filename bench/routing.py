"""In-process routing cost: ns per event with 1, 100 and 10,000 subscribed channels.

Run from the repository root:  python bench/routing.py  [--events 50000] [--repeat 7]

No network and no threads: rxpusher is driven through its transport seam
(``rxpusher.testing.ScriptedServer``) with a virtual-time ``TestScheduler`` for its timers.
For each N, one client subscribes N public channels, each with one
``channel.events("tick")`` observer, and the scripted server confirms every subscription.
Pre-built raw frames (Pusher-style, ``data`` a JSON string) are then pushed through
``server.current.receive(text)``, which is exactly what the reader thread calls for each text
frame, so the figure covers decoding, the connection's bookkeeping, routing and the observer
call:

  one channel   every event on the same channel (``bench-0``)
  round-robin   event i on channel ``bench-{i % N}`` (touches every route; cache-unfriendly)

Each (N, pattern) is timed --repeat times, rounds interleaving the N's; the median is printed
with the cost of ``json.loads`` of frame and data alone (the floor of any client) and the ratio
of the 10,000-channel cost to the 1-channel cost (target: within 1.2x).
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

from rxpusher import Pusher  # noqa: E402
from rxpusher.testing import ScriptedServer  # noqa: E402

SIZES = (1, 100, 10_000)
PATTERNS = ("one channel", "round-robin")


class Counter:
    """The observer on every channel: counts what it gets (and touches the data)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def on_next(self, data: Any) -> None:
        self.count += data["seq"] >= 0

    def on_error(self, error: Exception) -> None:
        raise error

    def on_completed(self) -> None:
        pass


def frame(channel: str, seq: int) -> str:
    data = json.dumps({"symbol": "BENCH", "price": 101.25, "seq": seq}, separators=(",", ":"))
    return json.dumps({"event": "tick", "channel": channel, "data": data}, separators=(",", ":"))


class Setup:
    """One client with n subscribed channels and its pre-built frames."""

    def __init__(self, n: int, events: int) -> None:
        self.n = n
        self.server = ScriptedServer()
        self.pusher = Pusher("key", transport=self.server.transport,
                             timer_scheduler=TestScheduler())
        self.server.handshake()
        self.counters = [Counter() for _ in range(n)]
        self.subscriptions = []
        t0 = time.perf_counter()
        for i, counter in enumerate(self.counters):
            self.subscriptions.append(
                self.pusher.channel(f"bench-{i}").events("tick").subscribe(counter))
        for i in range(n):
            self.server.succeed(f"bench-{i}")
        self.setup_seconds = time.perf_counter() - t0
        subscribed = sum(1 for i in range(n) if self.pusher.channel(f"bench-{i}").subscribed)
        assert subscribed == n, f"{subscribed}/{n} channels subscribed"
        self.frames = {
            "one channel": [frame("bench-0", i) for i in range(events)],
            "round-robin": [frame(f"bench-{i % n}", i) for i in range(events)],
        }

    def received(self) -> int:
        return sum(c.count for c in self.counters)

    def run(self, pattern: str) -> float:
        """Push the pattern's frames; ns per event."""
        frames = self.frames[pattern]
        receive = self.server.current.receive
        before = self.received()
        gc.collect()
        start = time.perf_counter_ns()
        for text in frames:
            receive(text)
        elapsed = time.perf_counter_ns() - start
        got = self.received() - before
        assert got == len(frames), f"N={self.n} {pattern}: {got}/{len(frames)} delivered"
        return elapsed / len(frames)

    def close(self) -> None:
        for subscription in self.subscriptions:
            subscription.dispose()
        self.pusher.close()


def decode_floor(frames: list[str]) -> float:
    """ns per event of json.loads of the frame and of its data, nothing else."""
    loads = json.loads
    gc.collect()
    start = time.perf_counter_ns()
    for text in frames:
        message = loads(text)
        loads(message["data"])
    return (time.perf_counter_ns() - start) / len(frames)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events per timed run")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()

    setups = {}
    for n in SIZES:
        setups[n] = Setup(n, args.events)
        print(f"N={n:>6}: {n} channels subscribed in {setups[n].setup_seconds:.2f} s")
    timings: dict[tuple[int, str], list[float]] = {(n, p): [] for n in SIZES for p in PATTERNS}
    floor: list[float] = []
    for _ in range(args.repeat):
        floor.append(decode_floor(setups[1].frames["one channel"]))
        for n in SIZES:
            for pattern in PATTERNS:
                timings[(n, pattern)].append(setups[n].run(pattern))
    for setup in setups.values():
        setup.close()

    cost = {key: statistics.median(values) for key, values in timings.items()}
    print(f"\nns per event, median of {args.repeat} runs of {args.events:,} events "
          f"(every event delivered: yes)")
    print(f"{'channels':>8s} {'one channel':>12s} {'round-robin':>12s}")
    for n in SIZES:
        print(f"{n:>8,d} {cost[(n, 'one channel')]:>12,.0f} {cost[(n, 'round-robin')]:>12,.0f}")
    print(f"json.loads of frame + data alone: {statistics.median(floor):,.0f} ns per event")
    print()
    for pattern in PATTERNS:
        ratio = cost[(SIZES[-1], pattern)] / cost[(1, pattern)]
        print(f"{pattern:12s} 10,000 / 1 channel: {ratio:.2f}x  (target <= 1.2x: "
              f"{'met' if ratio <= 1.2 else 'NOT met'})")
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
