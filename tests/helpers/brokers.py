"""The brokers of the bridge tests, each a real server on a free loopback port in a temporary
directory of its own, stopped by its PID (``soketi_harness.reap`` kills exactly its process
group). A missing binary is an error, never a skip (``.ci/run`` installs both).

- ``Redis``: Debian's ``redis-server`` with an append-only file (fsync on every write), so
  that ``stop()`` then ``start()`` on the same port keeps the streams.
- ``Nats``: Debian's ``nats-server`` with JetStream (``-js -sd DIR``), restartable on the same
  port with its store.

Both have ``url``, ``start()``, ``stop()``, ``cleanup()`` (stop and remove the directory)
and ``log()``.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from rxpusher import Backoff
from rxpusher.bridge import JetStreamSink, RedisStreamSink
from rxpusher.bridge._sink import BrokerSink

from helpers.cluster_harness import RedisServer
from helpers.soketi_harness import DEFAULT_TIMEOUT, HOST, free_port, reap, spawn, wait_for

__all__ = ["Redis", "Nats", "Broker", "QUICK", "unused_url"]

QUICK = Backoff(initial=0.1, maximum=0.5)
"""A reconnect policy for sinks under test: outages end quickly."""


def unused_url(scheme: str) -> str:
    """A broker URL on a loopback port nobody listens on (bound, then released)."""
    return f"{scheme}://{HOST}:{free_port()}"


class Redis(RedisServer):
    """``redis-server`` that keeps its data across ``stop()``/``start()`` (AOF, fsync always)."""

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def persistence(self) -> list[str]:
        return ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]

    def stop(self) -> None:
        """Stop Redis (SIGTERM: it syncs its AOF first); its directory stays for ``start()``."""
        proc, self.proc = self.proc, None
        if proc is not None:
            reap(proc)
        wait_for(lambda: not _port_open(self.port), 10, message=f"redis port {self.port} closed")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self) -> Any:
        """A redis-py client (str responses) on this server."""
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True)


class Nats:
    """``nats-server -js`` on a free loopback port, store in its own directory."""

    def __init__(self) -> None:
        self.host = HOST
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rxpusher-nats-"))
        self.proc: Any = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start the server and wait until JetStream is ready."""
        binary = shutil.which("nats-server") or (
            "/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
        if binary is None:
            raise RuntimeError(
                "nats-server is not installed (`apt-get install -y nats-server`; .ci/run does it)")
        wait_for(lambda: not _port_open(self.port), 10, message=f"nats port {self.port} free")
        argv = [binary, "-a", self.host, "-p", str(self.port), "-js", "-sd",
                str(self.dir / "store"), "-l", str(self.dir / "log")]
        self.proc = spawn(argv, cwd=self.dir, env=dict(os.environ),
                          log_path=self.dir / "stdout")
        wait_for(self._ready, timeout, 0.02, lambda: f"nats-server ready; log: {self.log()}")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"nats-server exited with {self.proc.returncode}: {self.log()}")
        return "Server is ready" in self.log() and _port_open(self.port)

    def log(self) -> str:
        text = ""
        for name in ("log", "stdout"):
            try:
                text += (self.dir / name).read_text(errors="replace")[-2000:]
            except OSError:
                pass
        return text

    def stop(self) -> None:
        """Stop the server; its store stays for ``start()``."""
        proc, self.proc = self.proc, None
        if proc is not None:
            reap(proc)
            # the next start() waits for "Server is ready" in a fresh log
            try:
                (self.dir / "log").unlink()
            except OSError:
                pass
        wait_for(lambda: not _port_open(self.port), 10, message=f"nats port {self.port} closed")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def messages(self, stream: str = "PUSHER") -> list[dict[str, Any]]:
        """Every message body of ``stream`` in stream order (decoded JSON), with its headers
        under ``"_headers"``: read with nats-py on a loop of its own."""
        import asyncio
        import json

        import nats

        async def read() -> list[dict[str, Any]]:
            nc = await nats.connect(self.url)
            try:
                js = nc.jetstream()
                info = await js.stream_info(stream)
                out = []
                for seq in range(info.state.first_seq, info.state.last_seq + 1):
                    if not info.state.messages:
                        break
                    msg = await js.get_msg(stream, seq)
                    body = json.loads(msg.data)
                    body["_headers"] = dict(msg.headers or {})
                    out.append(body)
                return out
            finally:
                await nc.close()

        return asyncio.run(read())


class Broker:
    """One broker under test: makes sinks on it and reads back a channel's entries in
    stream order, in one shape (``user_id`` None when absent, ``seq`` an int)."""

    def __init__(self, kind: str, server: Redis | Nats) -> None:
        self.kind = kind
        self.server = server
        self.sinks: list[BrokerSink] = []

    def sink(self, **options: Any) -> BrokerSink:
        options.setdefault("reconnect", QUICK)
        sink: BrokerSink
        if self.kind == "redis":
            sink = RedisStreamSink(self.server.url, **options)
        else:
            sink = JetStreamSink(self.server.url, **options)
        self.sinks.append(sink)
        return sink

    def entries(self, channel: str) -> list[dict[str, Any]]:
        if not self.server.proc:
            return []
        if isinstance(self.server, Redis):
            rows = [fields for _, fields in self.server.client().xrange(f"pusher:{channel}")]
            for row in rows:
                if "user_id" in row:
                    row["user_id"] = row["user_id"] or None
                if "seq" in row:
                    row["seq"] = int(row["seq"])
            return rows
        try:
            return [m for m in self.server.messages() if m["channel"] == channel]
        except Exception:  # noqa: BLE001 - no stream yet
            return []

    def events(self, channel: str) -> list[dict[str, Any]]:
        return [e for e in self.entries(channel) if e["type"] == "event"]

    def close(self) -> None:
        for sink in self.sinks:
            sink.close(2.0)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False
