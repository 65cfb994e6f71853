"""``rxpusher demo``: a local server, a synthetic market feed, and a live view built from Rx
operators — runnable on a fresh machine with no account and nothing else started."""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO

import reactivex
from reactivex import operators as ops

from ._client import Pusher
from ._presence import Members

SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN")
ROOM = "presence-demo"
WINDOW = 20  # prices in each moving average
COLUMNS = 80  # every line fits an 80-column terminal


def moving_average(window: int) -> Callable[[reactivex.Observable[float]], reactivex.Observable[float]]:
    """Average of the last ``window`` values, emitted for every value."""

    def accumulate(history: deque[float], price: float) -> deque[float]:
        history.append(price)
        return history

    def average(history: deque[float]) -> float:
        return sum(history) / len(history)

    seed: deque[float] = deque(maxlen=window)
    return reactivex.compose(ops.scan(accumulate, seed=seed), ops.map(average))


class MarketFeed:
    """Publishes a random-walk price per symbol on its channel, ``rate`` times a second."""

    def __init__(self, publish: Callable[[str, str, Any], None], rate: float = 20.0) -> None:
        self._publish = publish
        self._interval = 1.0 / rate
        self._stop = threading.Event()
        self._prices = {symbol: 100.0 + 50 * i for i, symbol in enumerate(SYMBOLS)}
        self._thread = threading.Thread(target=self._run, name="demo-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        rng = random.Random(7)
        while not self._stop.wait(self._interval):
            for symbol, price in self._prices.items():
                price = max(1.0, price * (1 + rng.gauss(0, 0.002)))
                self._prices[symbol] = price
                self._publish(symbol, "new-price", {"symbol": symbol, "price": round(price, 2)})


def run(seconds: float = 10.0, out: TextIO = sys.stdout) -> int:
    """Run the demo for ``seconds``; returns the number of prices the view received."""
    try:
        from .server import LocalServer
    except ImportError:
        print("the demo needs the local server: pip install 'rxpusher[server]'", file=sys.stderr)
        return -1

    with LocalServer() as server:
        viewer = Pusher(server.key, secret=server.secret,
                        channel_data={"user_id": "viewer", "user_info": {"role": "dashboard"}},
                        **server.client_options())
        trader = Pusher(server.key, secret=server.secret,
                        channel_data={"user_id": "trader", "user_info": {"role": "bot"}},
                        **server.client_options())
        feed = MarketFeed(lambda ch, ev, data: server.trigger(ch, ev, data))
        received = [0]
        try:
            prices: dict[str, reactivex.Observable[float]] = {
                s: viewer.channel(s).events("new-price").pipe(ops.map(_price)) for s in SYMBOLS
            }
            averages = [prices[s].pipe(moving_average(WINDOW)) for s in SYMBOLS]
            latest = reactivex.combine_latest(
                reactivex.combine_latest(*prices.values()),
                reactivex.combine_latest(*averages),
            )
            throughput = reactivex.merge(*prices.values()).pipe(
                ops.do_action(lambda _: received.__setitem__(0, received[0] + 1)),
                ops.buffer_with_time(1.0),
                ops.map(len),
                ops.start_with(0),
            )
            members = viewer.channel(ROOM).members.pipe(ops.start_with(Members()))
            view = reactivex.combine_latest(latest, throughput, members).pipe(
                ops.sample(0.5),
            )
            trader.subscribe(ROOM)
            started = time.monotonic()
            done = threading.Event()
            def failed(error: Exception) -> None:
                print(f"demo failed: {error}", file=sys.stderr)
                done.set()

            screen = Screen(out)
            subscription = view.subscribe(
                lambda row: screen.show(time.monotonic() - started, *row), on_error=failed
            )
            print(_fit(f"rxpusher demo: ws://{server.host}:{server.port}, {len(SYMBOLS)} "
                       f"channels, {seconds:g} s (Ctrl-C stops)"), file=out, flush=True)
            feed.start()
            done.wait(seconds)
            subscription.dispose()
        finally:
            feed.stop()
            viewer.close()
            trader.close()
    print(f"\n{received[0]} prices received. Bye.", file=out, flush=True)
    return received[0]


def _price(data: Any) -> float:
    return float(data["price"])


def _fit(line: str) -> str:
    return line if len(line) <= COLUMNS else line[: COLUMNS - 3] + "..."


class Screen:
    """Shows each sample of the view: on a terminal a block of lines redrawn in place, else
    (piped, or ``TERM=dumb``) one plain line per sample. No line is wider than 80 columns."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._live = out.isatty() and os.environ.get("TERM") != "dumb"
        self._drawn = 0  # lines of the block on screen, to move back over

    def show(self, elapsed: float, latest: tuple[tuple[float, ...], tuple[float, ...]],
             rate: int, members: Members) -> None:
        """Draw one sample: the latest prices and averages, prices per second, who is online."""
        prices, averages = latest
        if not self._live:
            quotes = " ".join(f"{s} {p:.2f}" for s, p in zip(SYMBOLS, prices))
            print(_fit(f"{elapsed:5.1f}s {quotes}  {rate} ev/s  {len(members)} online"),
                  file=self._out, flush=True)
            return
        who = ", ".join(sorted(members)) or "-"
        lines = [f"{elapsed:5.1f}s  {rate:4d} ev/s  online: {who}"]
        lines += [f"  {s:<5} {p:9.2f}   avg({WINDOW}) {a:9.2f}   {(p / a - 1) * 100:+6.2f}%"
                  for s, p, a in zip(SYMBOLS, prices, averages)]
        up = f"\x1b[{self._drawn}F" if self._drawn else ""  # to the first line of the block
        self._out.write(up + "".join(f"{_fit(line)}\x1b[K\n" for line in lines))
        self._out.flush()
        self._drawn = len(lines)
