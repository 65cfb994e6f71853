"""Live ticker: price channels merged into one stream, a moving average per symbol.

Run it (no account needed: a local Pusher-compatible server is started and fed prices):

    python examples/ticker.py --seconds 3

Against a real app (publishes with the official ``pusher`` SDK, ``pip install pusher``):

    python examples/ticker.py --key KEY --cluster eu --app-id ID --secret SECRET

It subscribes ``ticker-BTC``, ``ticker-ETH`` and ``ticker-SOL``, merges their ``price``
events, and prints a 5-tick simple moving average per symbol, at most 4 lines a second per
symbol. Exits 0 after ``--seconds`` (1 if no price arrived).
"""

from __future__ import annotations

import random
import threading
from statistics import fmean

import reactivex
from _common import backend, parser
from reactivex import operators as ops

from rxpusher import Pusher

SYMBOLS = {"BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0}


def publish_prices(trigger, stop: threading.Event, interval: float = 0.02) -> None:
    """A random walk per symbol, one price per symbol every ``interval`` seconds."""
    prices = dict(SYMBOLS)
    while not stop.wait(interval):
        for symbol, price in prices.items():
            prices[symbol] = round(price * (1 + random.gauss(0, 0.001)), 2)
            trigger(f"ticker-{symbol}", "price", {"symbol": symbol, "price": prices[symbol]})


def main() -> int:
    args = parser(__doc__.splitlines()[0]).parse_args()
    with backend(args) as server, Pusher(server.key, **server.client_options) as pusher:
        pusher.state.subscribe(lambda s: print(f"[connection] {s}"))

        # One stream of (symbol, price) from several channels.
        ticks = reactivex.merge(*(
            pusher.channel(f"ticker-{symbol}").events("price") for symbol in SYMBOLS
        )).pipe(ops.map(lambda d: (d["symbol"], float(d["price"]))))

        # Per symbol: a 5-tick moving average, sampled at most every 250 ms.
        averages = ticks.pipe(
            ops.group_by(lambda tick: tick[0]),
            ops.flat_map(lambda group: group.pipe(
                ops.map(lambda tick: tick[1]),
                ops.buffer_with_count(5, 1),
                ops.map(lambda window: (group.key, fmean(window), len(window))),
                ops.throttle_first(0.25),
            )),
        )
        received = []
        done = threading.Event()
        subscription = averages.subscribe(
            lambda a: print(f"{a[0]:>4} sma({a[2]}) = {a[1]:>10.2f}"),
            on_error=lambda e: (print("error:", e), done.set()),
        )
        counter = ticks.subscribe(received.append)

        stop = threading.Event()
        publisher = None
        if server.local is not None or server.sdk_options is not None:
            # wait until the channels are subscribed before publishing
            server_ready = reactivex.combine_latest(*(
                pusher.channel(f"ticker-{s}").state for s in SYMBOLS
            )).pipe(ops.filter(lambda states: all(x == "subscribed" for x in states)),
                    ops.first(), ops.timeout(10.0))
            server_ready.run()
            publisher = threading.Thread(target=publish_prices, args=(server.trigger, stop))
            publisher.start()
        done.wait(args.seconds)
        stop.set()
        if publisher is not None:
            publisher.join()
        subscription.dispose()
        counter.dispose()
        print(f"received {len(received)} prices on {len(SYMBOLS)} channels")
        return 0 if received else 1


if __name__ == "__main__":
    raise SystemExit(main())
