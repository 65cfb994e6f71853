"""Benchmark: items/s from a producer thread into an asyncio consumer.

Compares ``rxpusher.aio.iterate`` (one ``call_soon_threadsafe`` wake-up per burst) with the
naive bridge that hops every item onto the loop (``loop.call_soon_threadsafe(queue.put_nowait,
item)`` per item, consumed with ``await queue.get()``). The producer is a thread emitting on a
``reactivex`` Subject, as rxpusher's reader thread does.

Run:   python bench/aio_bridge.py [--items 200000] [--repeat 3] [--burst 0] [--json]
       python bench/aio_bridge.py --chart docs/img/aio_bridge.png   # needs matplotlib

``--burst N`` makes the producer emit N items then yield the GIL briefly (frames arrive in
bursts from a socket); 0 (the default) emits back to back. Prints items/s for both bridges
and the ratio iterate / naive; exits 0. ``--chart PATH`` also measures bursts of 10 and 100
and saves a bar chart of items/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable

from reactivex.subject import Subject

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rxpusher.aio import iterate


def _producer(subject: Subject[int], items: int, burst: int) -> Callable[[], None]:
    def produce() -> None:
        for i in range(items):
            subject.on_next(i)
            if burst and i % burst == burst - 1:
                time.sleep(0)
        subject.on_completed()

    return produce


async def run_iterate(items: int, burst: int) -> tuple[float, int]:
    """Seconds to deliver ``items`` through ``iterate``, and the wake-ups it scheduled."""
    subject: Subject[int] = Subject()
    received = 0
    stream = iterate(subject, maxsize=None)
    thread = threading.Thread(target=_producer(subject, items, burst))
    start = time.perf_counter()
    thread.start()
    async for _ in stream:
        received += 1
    elapsed = time.perf_counter() - start
    thread.join()
    assert received == items, received
    return elapsed, stream.wakeups


async def run_naive(items: int, burst: int) -> tuple[float, int]:
    """Seconds to deliver ``items`` with one ``call_soon_threadsafe`` per item."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    subject: Subject[int] = Subject()
    subject.subscribe(lambda item: loop.call_soon_threadsafe(queue.put_nowait, item),
                      on_completed=lambda: loop.call_soon_threadsafe(queue.put_nowait, None))
    thread = threading.Thread(target=_producer(subject, items, burst))
    received = 0
    start = time.perf_counter()
    thread.start()
    while await queue.get() is not None:
        received += 1
    elapsed = time.perf_counter() - start
    thread.join()
    assert received == items, received
    return elapsed, items + 1


def measure(items: int, burst: int, repeat: int) -> dict[str, tuple[float, int]]:
    """Best (seconds, wake-ups) of ``repeat`` runs of each bridge."""
    best: dict[str, tuple[float, int]] = {}
    for _ in range(repeat):
        for name, bench in (("iterate", run_iterate), ("naive", run_naive)):
            result = asyncio.run(bench(items, burst))
            if name not in best or result[0] < best[name][0]:
                best[name] = result
    return best


def chart(path: str, items: int, repeat: int) -> None:
    """Save a bar chart of items/s for both bridges, for several burst sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bursts = [10, 100, 0]
    labels = ["bursts of 10", "bursts of 100", "back to back"]
    rates: dict[str, list[float]] = {"iterate": [], "naive": []}
    for burst in bursts:
        best = measure(items, burst, repeat)
        for name, series in rates.items():
            series.append(items / best[name][0])
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    width = 0.38
    for offset, (name, label) in zip((-width / 2, width / 2), (
            ("iterate", "rxpusher.aio.iterate (one wake-up per burst)"),
            ("naive", "call_soon_threadsafe per item"))):
        ax.bar([i + offset for i in range(len(bursts))], [r / 1000 for r in rates[name]],
               width, label=label)
    for i, (a, n) in enumerate(zip(rates["iterate"], rates["naive"])):
        ax.annotate(f"{a / n:.1f}x", (i - width / 2, a / 1000), ha="center", va="bottom")
    ax.set_xticks(range(len(bursts)), labels)
    ax.set_ylabel("thousand items/s")
    ax.set_title("producer thread -> asyncio consumer")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print("chart:", path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--burst", type=int, default=0, help="yield the GIL every N items")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--chart", metavar="PATH", help="also save a chart (PNG) there")
    args = parser.parse_args(argv)

    best = measure(args.items, args.burst, args.repeat)
    rates = {name: args.items / seconds for name, (seconds, _) in best.items()}
    ratio = rates["iterate"] / rates["naive"]
    if args.json:
        print(json.dumps({
            "items": args.items,
            "burst": args.burst,
            "iterate_items_per_s": round(rates["iterate"]),
            "naive_items_per_s": round(rates["naive"]),
            "iterate_wakeups": best["iterate"][1],
            "naive_wakeups": best["naive"][1],
            "ratio": round(ratio, 2),
        }))
    else:
        print(f"items: {args.items}  (best of {args.repeat}, burst={args.burst or 'none'})")
        print(f"iterate (one wake-up per burst): {rates['iterate']:>12,.0f} items/s"
              f"  {best['iterate'][1]:>8,} wake-ups")
        print(f"naive call_soon_threadsafe:    {rates['naive']:>12,.0f} items/s"
              f"  {best['naive'][1]:>8,} wake-ups")
        print(f"ratio iterate/naive: {ratio:.1f}x")
    if args.chart:
        chart(args.chart, args.items, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
