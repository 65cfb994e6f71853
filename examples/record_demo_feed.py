"""Record the demo's market feed to a file that ``rxpusher.replay`` plays back.

Run it (no account needed: the demo's local server and synthetic market feed are started):

    python examples/record_demo_feed.py                      # -> examples/data/market_feed.jsonl
    python examples/record_demo_feed.py --prices 200 --output /tmp/feed.jsonl

A client subscribes to the demo's symbols (AAPL, MSFT, GOOG, AMZN) and records every frame
it receives with ``pusher.record(path)`` (one JSON line per frame: ``{"t": seconds,
"frame": text}``) until ``--prices`` prices have arrived: 1,200 by default, 15 s of feed at
20 prices a second per symbol, about 150 kB. The file in examples/data/ was made this way;
notebooks/06_backtest_on_a_recorded_feed.ipynb replays it. Exits 0.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import reactivex
from reactivex import operators as ops

import rxpusher
from rxpusher._demo import SYMBOLS, MarketFeed  # the feed `rxpusher demo` shows
from rxpusher.server import LocalServer

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "data" / "market_feed.jsonl"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prices", type=int, default=1_200, help="stop after this many prices")
    p.add_argument("--rate", type=float, default=20.0, help="prices a second per symbol")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the recording")
    args = p.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)

    enough = threading.Event()
    with LocalServer() as server, \
            rxpusher.Pusher(server.key, auto_connect=False, **server.client_options()) as client:
        recording = client.record(args.output)       # from the first frame on
        client.connect()
        prices = reactivex.merge(*(client.channel(s).events("new-price") for s in SYMBOLS))
        counting = prices.pipe(ops.take(args.prices)).subscribe(
            on_completed=enough.set)
        client.wait_connected(timeout=10)
        for symbol in SYMBOLS:
            client.channel(symbol).wait_subscribed(timeout=10)
        feed = MarketFeed(server.trigger, rate=args.rate)
        feed.start()
        try:
            if not enough.wait(60):
                raise SystemExit(f"fewer than {args.prices} prices in 60 s")
        finally:
            feed.stop()
            counting.dispose()
            recording.dispose()                       # flushes and closes the file
    frames = sum(1 for _ in args.output.open(encoding="utf-8"))
    size = args.output.stat().st_size
    print(f"recorded {frames} frames ({args.prices} prices, {size / 1000:.0f} kB) to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
