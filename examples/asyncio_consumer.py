"""asyncio consumer: ``async for`` over a channel with rxpusher.aio.

Run it (no account needed: a local Pusher-compatible server is started and fed trades):

    python examples/asyncio_consumer.py --seconds 3

Against a real app (publishes with the official ``pusher`` SDK):

    python examples/asyncio_consumer.py --key KEY --cluster eu --app-id ID --secret SECRET

rxpusher delivers on its reader thread; ``rxpusher.aio.iterate`` moves the items onto the
running event loop with one wake-up per burst, through a bounded buffer
(``overflow="drop_oldest"`` here: a slow consumer sees the newest trades). ``await first(...)``
waits for one item, e.g. the connection becoming ``connected``. Leaving the ``async for``
(``break``, a timeout, cancellation) disposes the subscription, so the channel is
unsubscribed on the server. Exits 0 after ``--seconds`` (1 if nothing arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from _common import backend, parser
from reactivex import operators as ops

from rxpusher import Pusher
from rxpusher.aio import first, iterate

CHANNEL = "trades"


async def publish(server, stop: asyncio.Event) -> None:
    """Feed trades from a worker thread (the HTTP publish call blocks)."""
    n = 0
    while not stop.is_set():
        batch = [{"n": n + i, "price": round(100 + random.gauss(0, 1), 2)} for i in range(5)]
        n += len(batch)
        for trade in batch:
            await asyncio.to_thread(server.trigger, CHANNEL, "trade", trade)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):
                await stop.wait()


async def main() -> int:
    args = parser(__doc__.splitlines()[0]).parse_args()
    with backend(args) as server, Pusher(server.key, **server.client_options) as pusher:
        state = await first(pusher.state.pipe(ops.filter(lambda s: s == "connected")),
                            timeout=10)
        print("connection:", state, pusher.socket_id)

        trades = pusher.channel(CHANNEL).events("trade")
        stop = asyncio.Event()
        count, total = 0, 0.0
        async with iterate(trades, maxsize=1000, overflow="drop_oldest") as stream:
            # The channel is now subscribed; wait for the server to confirm it.
            await first(pusher.channel(CHANNEL).state.pipe(
                ops.filter(lambda s: s == "subscribed")), timeout=10)
            publisher = asyncio.create_task(publish(server, stop))
            try:
                async with asyncio.timeout(args.seconds):
                    async for trade in stream:
                        count += 1
                        total += trade["price"]
                        if count % 50 == 0:
                            print(f"{count} trades, mean price {total / count:.2f}")
            except TimeoutError:
                pass  # --seconds elapsed: leaving the block releases the channel
            stop.set()
            await publisher
            dropped = stream.dropped
        print(f"received {count} trades (dropped {dropped}); channel subscribed now:",
              pusher.channel(CHANNEL).subscribed)
        return 0 if count else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
