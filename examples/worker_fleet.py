"""A fleet of workers behind a broker: the bridge writes a Pusher feed into Redis Streams and
NATS JetStream, and workers share the work through the brokers' own consumer groups.

Run it (no account needed: a local Pusher-compatible server in this process, and Debian's
``redis-server`` and ``nats-server`` started on free loopback ports; extras
``rxpusher[server,redis,nats]``):

    python examples/worker_fleet.py
    python examples/worker_fleet.py --redis redis://localhost:6379/0 --nats nats://localhost:4222

What it shows:

- the writing side: ``channel.events().subscribe(RedisStreamSink(url))`` (and the same with
  ``JetStreamSink``), one line each;
- the Redis fleet: three workers in one consumer group (``XGROUP CREATE``), each reading with
  ``XREADGROUP GROUP orders worker-N COUNT 10 BLOCK 200 STREAMS pusher:orders >`` and
  acknowledging with ``XACK`` after handling an entry: Redis hands each entry to one worker;
  an entry not acknowledged stays pending for ``XAUTOCLAIM`` by another worker;
- the JetStream fleet: three workers pulling from one durable consumer (``pull_subscribe``
  with ``durable="workers"``, explicit acks): JetStream hands each message to one of them and
  redelivers one not acknowledged in time; the bridge creates the stream when it connects, so a
  worker first waits (bounded) until a stream captures its subject;
- what a worker does with the entry types: ``event`` (``json.loads(entry["data"])``),
  ``interruption`` and ``gap`` (refetch from the source of truth).

It publishes 30 orders and exits 0 once each was handled exactly once in each fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import rxpusher
from rxpusher.bridge import JetStreamSink, RedisStreamSink
from rxpusher.server import LocalServer

ORDERS = 30
WORKERS = 3


def handle(worker: str, entry: dict[str, Any], seen: Counter[int], lock: threading.Lock) -> None:
    """What a worker does with one entry."""
    if entry["type"] == "event":
        order = json.loads(entry["data"])
        with lock:
            seen[order["id"]] += 1
    else:  # "interruption" or "gap": events may be missing, reload from the backend
        print(f"{worker}: {entry['type']} on {entry['channel']}: refetch the orders")


# ---- Redis Streams: a consumer group ---------------------------------------------------------


def redis_fleet(url: str, stream: str, seen: Counter[int], stop: threading.Event) -> list[threading.Thread]:
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        client.xgroup_create(stream, "orders", id="0", mkstream=True)
    except redis.ResponseError as exc:  # BUSYGROUP: the group exists (a restarted fleet)
        if "BUSYGROUP" not in str(exc):
            raise
    lock = threading.Lock()

    def work(name: str) -> None:
        worker = redis.Redis.from_url(url, decode_responses=True)
        while not stop.is_set():
            answer = worker.xreadgroup("orders", name, {stream: ">"}, count=10, block=200)
            for _, entries in answer or []:
                for entry_id, entry in entries:
                    handle(name, entry, seen, lock)
                    worker.xack(stream, "orders", entry_id)  # done: not redelivered
        worker.close()

    return [threading.Thread(target=work, args=(f"redis-worker-{n}",), daemon=True)
            for n in range(WORKERS)]


# ---- NATS JetStream: a durable pull consumer -------------------------------------------------


def nats_fleet(url: str, subject: str, seen: Counter[int], stop: threading.Event) -> list[threading.Thread]:
    import nats
    import nats.errors
    import nats.js.errors

    lock = threading.Lock()

    async def stream_of(js: Any, subject: str, within: float = 30.0) -> str:
        """The stream that captures ``subject``. The bridge creates it when it connects, so a
        worker started first (or a fleet started before the bridge) waits for it, bounded in
        time: ``pull_subscribe`` on a subject no stream captures raises ``NotFoundError``."""
        deadline = time.monotonic() + within
        while True:
            try:
                name: str = await js.find_stream_name_by_subject(subject)
                return name
            except nats.js.errors.NotFoundError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"no JetStream stream captures {subject} after "
                                     f"{within:.0f} s: is the bridge running?") from None
                await asyncio.sleep(0.1)  # the bridge has not connected yet: ask again

    def work(name: str) -> None:
        async def run() -> None:
            nc = await nats.connect(url)
            js = nc.jetstream()
            stream = await stream_of(js, subject)
            pull = await js.pull_subscribe(subject, durable="workers",  # one shared consumer
                                           stream=stream)
            while not stop.is_set():
                try:
                    messages = await pull.fetch(10, timeout=0.2)
                except (nats.errors.TimeoutError, asyncio.TimeoutError):  # nothing yet
                    continue
                for message in messages:
                    handle(name, json.loads(message.data), seen, lock)
                    await message.ack()  # done: not redelivered
            await nc.close()

        asyncio.run(run())

    return [threading.Thread(target=work, args=(f"nats-worker-{n}",), daemon=True)
            for n in range(WORKERS)]


# ---- brokers for the demo ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def broker(argv: list[str], port: int, ready: str, folder: Path) -> Iterator[None]:
    """Run a broker binary until the block ends; wait until it logs ``ready``."""
    log = folder / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    try:
        deadline = time.monotonic() + 15
        while ready not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv[0]} did not start: {log.read_text()[-500:]}")
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def local_brokers(stack: ExitStack) -> tuple[str, str]:
    """redis-server and nats-server -js on free loopback ports, in a temporary folder."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rxpusher-fleet-")))
    binaries = {name: shutil.which(name) or f"/usr/sbin/{name}"
                for name in ("redis-server", "nats-server")}
    for name, path in binaries.items():
        if not os.path.exists(path):
            raise SystemExit(f"{name} is not installed (apt-get install {name}), or pass "
                             "--redis and --nats")
    redis_port, nats_port = free_port(), free_port()
    (folder / "redis").mkdir()
    (folder / "nats").mkdir()
    stack.enter_context(broker(
        [binaries["redis-server"], "--bind", "127.0.0.1", "--port", str(redis_port), "--save",
         "", "--appendonly", "no"], redis_port, "Ready to accept connections", folder / "redis"))
    stack.enter_context(broker(
        [binaries["nats-server"], "-a", "127.0.0.1", "-p", str(nats_port), "-js", "-sd",
         str(folder / "nats" / "store")], nats_port, "Server is ready", folder / "nats"))
    return f"redis://127.0.0.1:{redis_port}/0", f"nats://127.0.0.1:{nats_port}"


def main() -> int:
    parser = argparse.ArgumentParser(description="a worker fleet behind Redis and JetStream")
    parser.add_argument("--redis", help="a Redis URL (default: start redis-server)")
    parser.add_argument("--nats", help="a NATS URL with JetStream (default: start nats-server)")
    args = parser.parse_args()
    with ExitStack() as stack:
        redis_url, nats_url = args.redis, args.nats
        if not (redis_url and nats_url):
            redis_url, nats_url = local_brokers(stack)
        server = stack.enter_context(LocalServer())
        pusher = stack.enter_context(rxpusher.Pusher(server.key, **server.client_options()))

        # the writing side: one line per broker
        to_redis = RedisStreamSink(redis_url)
        to_nats = JetStreamSink(nats_url, subject="fleet.{channel}.{event}")
        orders = pusher.channel("orders")
        orders.events().subscribe(to_redis)
        orders.events().subscribe(to_nats)
        orders.wait_subscribed(10)

        stop = threading.Event()
        by_redis: Counter[int] = Counter()
        by_nats: Counter[int] = Counter()
        workers = (redis_fleet(redis_url, "pusher:orders", by_redis, stop)
                   + nats_fleet(nats_url, "fleet.orders.>", by_nats, stop))
        for worker in workers:
            worker.start()
        for n in range(1, ORDERS + 1):
            server.trigger("orders", "order-created", {"id": n, "total": 10 * n})
        deadline = time.monotonic() + 30
        while len(by_redis) < ORDERS or len(by_nats) < ORDERS:
            if time.monotonic() > deadline:
                print(f"timed out: redis {len(by_redis)}, nats {len(by_nats)} of {ORDERS}")
                return 1
            time.sleep(0.05)
        stop.set()
        for worker in workers:
            worker.join(5)
        to_redis.close()
        to_nats.close()
    for name, seen in (("redis", by_redis), ("nats", by_nats)):
        once = sorted(seen) == list(range(1, ORDERS + 1)) and set(seen.values()) == {1}
        print(f"{name} fleet: {len(seen)} orders, each handled {'once' if once else 'NOT once'} "
              f"by one of {WORKERS} workers")
        if not once:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
