"""Events per second from a soketi burst into Redis Streams and NATS JetStream through the
bridge sinks, against bare redis-py / nats-py writers of the same events, in the same run.

Run from the repository root:  python bench/bridge.py  [--events 20000] [--repeat 3]

Starts its own soketi (tests/servers, ``npm ci`` there), redis-server and nats-server -js on
free loopback ports (the test helpers of tests/helpers), and for each round:

  received      an rxpusher client receives a burst of --events events triggered through
                soketi's HTTP API (batches of 10, 4 publisher threads): the feed's own rate,
                the ceiling of the end-to-end rows
  redis e2e     the same kind of burst into RedisStreamSink (channel.events().subscribe(sink)):
                events/s from the first event received to the last entry written
  nats e2e      the same into JetStreamSink
  redis sink    the Events of the burst fed to a RedisStreamSink as fast as it takes them,
                timed until the last is written (the sink's own rate: Lua dedupe + XADD,
                pipelined in batches of 500)
  redis bare    the same Events written by plain redis-py: the same entries (made in the
                timed part, as the sink makes them), XADD pipelined in batches of 500,
                no dedupe
  nats sink     the Events fed to a JetStreamSink until the last is acknowledged
  nats bare     plain nats-py: js.publish_async of the same bodies with Nats-Msg-Id, batches
                of 500, every ack awaited

Each row's events/s is the median of --repeat rounds (rounds interleave the rows); the
ratios sink / bare are printed, and every row checks that every event was written (the
script exits 1 if one was not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("RXPUSHER_SRC", str(ROOT)))  # this checkout, or RXPUSHER_SRC
sys.path.insert(1, str(ROOT / "tests"))  # the servers of the test helpers

import rxpusher  # noqa: E402
from rxpusher import Event  # noqa: E402
from rxpusher.bridge import JetStreamSink, RedisStreamSink  # noqa: E402
from rxpusher.bridge._entries import nats_body, redis_fields, to_record, event_item  # noqa: E402
from helpers.brokers import Nats, Redis  # noqa: E402
from helpers.soketi_harness import Soketi, wait_for  # noqa: E402

ROWS = ("received", "redis e2e", "nats e2e", "redis sink", "redis bare", "nats sink",
        "nats bare")
BATCH = 500
PUBLISHERS = 4
TIMEOUT = 120.0


def burst(server: Soketi, channel: str, events: int) -> None:
    """``events`` events on ``channel`` through the HTTP API, 10 per request, 4 threads."""
    per = events // PUBLISHERS

    def publish(offset: int) -> None:
        sdk = server.sdk
        for start in range(offset, offset + per, 10):
            sdk.trigger_batch([{"channel": channel, "name": "tick",
                                "data": {"n": n, "price": 101.25, "symbol": "BENCH"}}
                               for n in range(start, min(start + 10, offset + per))])

    threads = [threading.Thread(target=publish, args=(i * per,)) for i in range(PUBLISHERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Clock:
    """First and last moment something happened, and how many times."""

    def __init__(self) -> None:
        self.first = 0.0
        self.last = 0.0
        self.count = 0
        self.items: list[Event] = []

    def on_next(self, event: Event) -> None:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.last = now
        self.count += 1
        self.items.append(event)

    def on_error(self, error: Exception) -> None:
        raise error

    def on_completed(self) -> None:
        pass


def receive(server: Soketi, events: int) -> tuple[float, list[Event]]:
    """events/s of a burst received by a plain observer, and the Events."""
    channel = f"bench-{uuid.uuid4().hex[:8]}"
    with rxpusher.Pusher(server.key, **server.client_options()) as pusher:
        clock = Clock()
        pusher.channel(channel).events("tick").subscribe(
            lambda data: clock.on_next(Event("tick", channel, data)))
        pusher.channel(channel).wait_subscribed(10)
        burst(server, channel, events)
        wait_for(lambda: clock.count == events, TIMEOUT,
                 message=lambda: f"{events} events received, have {clock.count}")
    return (events - 1) / (clock.last - clock.first), clock.items


def end_to_end(server: Soketi, sink: Any, events: int) -> float:
    """events/s from the first event received to the last written, through ``sink``."""
    channel = f"bench-{uuid.uuid4().hex[:8]}"
    with rxpusher.Pusher(server.key, **server.client_options()) as pusher:
        first: list[float] = []
        stream = pusher.channel(channel).events()
        stream.subscribe(lambda _: first.append(time.perf_counter()) if not first else None)
        stream.subscribe(sink)
        pusher.channel(channel).wait_subscribed(10)
        burst(server, channel, events)
        wait_for(lambda: sink.stats.written == events, TIMEOUT,
                 message=lambda: f"{events} written, have {sink.stats}")
        done = time.perf_counter()
    sink.close()
    return events / (done - first[0])


def through_sink(sink: Any, items: list[Event]) -> float:
    """events/s of ``items`` fed to ``sink`` until the last is written."""
    channel = f"bench-{uuid.uuid4().hex[:8]}"
    renamed = [Event(e.name, channel, e.data) for e in items]
    wait_for(lambda: sink.stats.connected, 10, message="the sink connected")
    start = time.perf_counter()
    for event in renamed:
        sink.on_next(event)
    wait_for(lambda: sink.stats.written == len(renamed), TIMEOUT, 0.001,
             message=lambda: f"{len(renamed)} written, have {sink.stats}")
    elapsed = time.perf_counter() - start
    sink.close()
    return len(renamed) / elapsed


def records(items: list[Event]) -> list[dict[str, Any]]:
    channel = f"bench-{uuid.uuid4().hex[:8]}"
    return [to_record(event_item(channel, e.name, e.data, e.user_id, None)) for e in items]


def redis_bare(redis: Redis, items: list[Event]) -> float:
    """Plain redis-py: XADD of the same fields, pipelined in batches."""
    import redis as redis_py

    client = redis_py.Redis.from_url(redis.url, decode_responses=True)
    start = time.perf_counter()
    entries = records(items)
    stream = f"pusher:{entries[0]['channel']}"
    for offset in range(0, len(entries), BATCH):
        pipe = client.pipeline(transaction=False)
        for record in entries[offset:offset + BATCH]:
            fields = redis_fields(record)
            pipe.xadd(stream, dict(zip(fields[::2], fields[1::2])))
        pipe.execute()
    elapsed = time.perf_counter() - start
    assert client.xlen(stream) == len(entries)
    client.close()
    return len(entries) / elapsed


def nats_bare(nats_server: Nats, items: list[Event]) -> float:
    """Plain nats-py: publish_async with Nats-Msg-Id, batches, every ack awaited."""
    import nats

    async def run() -> float:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        start = time.perf_counter()
        entries = records(items)
        subject = f"pusher.{entries[0]['channel']}.tick"
        acked = 0
        for offset in range(0, len(entries), BATCH):
            futures = [await js.publish_async(subject, nats_body(record),
                                              headers={"Nats-Msg-Id": record["id"]})
                       for record in entries[offset:offset + BATCH]]
            acks = await asyncio.gather(*futures)
            acked += sum(0 if ack.duplicate else 1 for ack in acks)
        elapsed = time.perf_counter() - start
        await nc.close()
        assert acked == len(entries), acked
        return len(entries) / elapsed

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    events = args.events - args.events % (10 * PUBLISHERS)
    soketi, redis, nats_server = Soketi(), Redis(), Nats()
    results: dict[str, list[float]] = {row: [] for row in ROWS}
    try:
        for server in (soketi, redis, nats_server):
            server.start()
        # the stream every JetStream row writes to (the sink would create it the same way)
        JetStreamSink(nats_server.url).close()
        for round_ in range(args.repeat):
            rate, items = receive(soketi, events)
            results["received"].append(rate)
            order = list(ROWS[1:])
            shift = round_ % len(order)
            for row in order[shift:] + order[:shift]:
                if row == "redis e2e":
                    results[row].append(end_to_end(soketi, RedisStreamSink(redis.url), events))
                elif row == "nats e2e":
                    results[row].append(end_to_end(soketi, JetStreamSink(nats_server.url), events))
                elif row == "redis sink":
                    results[row].append(through_sink(RedisStreamSink(redis.url), items))
                elif row == "nats sink":
                    results[row].append(through_sink(JetStreamSink(nats_server.url), items))
                elif row == "redis bare":
                    results[row].append(redis_bare(redis, items))
                else:
                    results[row].append(nats_bare(nats_server, items))
    finally:
        for server in (soketi, redis, nats_server):
            server.cleanup()
    median = {row: statistics.median(values) for row, values in results.items()}
    print(f"{events:,} events per burst, median of {args.repeat} round(s), "
          f"every event written in every row")
    for row in ROWS:
        print(f"{row:<12} {median[row]:>10,.0f} events/s")
    for broker in ("redis", "nats"):
        print(f"{broker} sink / bare: {median[f'{broker} sink'] / median[f'{broker} bare']:.2f}x"
              f"   e2e / received: {median[f'{broker} e2e'] / median['received']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
