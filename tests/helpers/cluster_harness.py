"""A three-node soketi cluster on Redis, for the cluster integration tests.

- ``RedisServer``: Debian's ``redis-server`` (``.ci/run`` installs it) on a private loopback
  port, without persistence (``--save '' --appendonly no``), in its own temporary directory.
  A missing ``redis-server`` is an error, never a skip.
- ``SoketiCluster``: that Redis plus ``size`` soketi nodes (``soketi_harness.Soketi``) with the
  Redis adapter, rate limiter and cache, sharing one port on 127.0.0.1, 127.0.0.2, ...; each
  node has its own metrics port and working directory. ``start()`` returns once an event
  published through one node's HTTP API reaches a client on every other node.

Every process is started with ``soketi_harness.spawn`` (own process group, orphan-proof,
reaped at exit) and only those processes are ever stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import websocket

from helpers.soketi_harness import (
    DEFAULT_TIMEOUT,
    HOST,
    Soketi,
    free_port,
    reap,
    spawn,
    wait_for,
)


class RedisServer:
    """A private ``redis-server`` on a free loopback port, no persistence, own directory."""

    def __init__(self) -> None:
        self.host = HOST
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rxpusher-redis-"))
        self.proc: Any = None

    def start(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start Redis and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed (`apt-get install -y redis-server`; "
                ".ci/run does it)"
            )
        argv = [
            binary,
            "--bind", self.host,
            "--port", str(self.port),
            "--dir", str(self.dir),
            "--daemonize", "no",
            "--protected-mode", "yes",
            *self.persistence(),
        ]
        self.proc = spawn(argv, cwd=self.dir, env=dict(os.environ), log_path=self.dir / "log")
        wait_for(self._pong, timeout, 0.02, lambda: f"redis PONG; log: {self.log()}")

    def persistence(self) -> list[str]:
        """The persistence options: none (a subclass may keep data across restarts)."""
        return ["--save", "", "--appendonly", "no"]

    def _pong(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log()}")
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        try:
            return (self.dir / "log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop Redis and remove its directory."""
        proc, self.proc = self.proc, None
        if proc is not None:
            reap(proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def _shared_port(hosts: list[str]) -> int:
    """A port that is free on every address of ``hosts`` (0 when this try found none)."""
    port = free_port()
    for host in hosts:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                return 0
    return port


class SoketiCluster:
    """``size`` soketi nodes on Redis, one shared port on 127.0.0.1 ... 127.0.0.<size>."""

    def __init__(self, size: int = 3) -> None:
        self.redis = RedisServer()
        self.hosts = [f"127.0.0.{i + 1}" for i in range(size)]
        self.port: int = wait_for(
            lambda: _shared_port(self.hosts), message="a port free on every node address"
        )
        # Unique per test session (and per cluster): nodes of another cluster never mix in.
        self.prefix = f"rxpusher-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.workdir = Path(tempfile.mkdtemp(prefix="rxpusher-cluster-"))
        self.nodes: list[Soketi] = []
        for host in self.hosts:
            cwd = self.workdir / host
            cwd.mkdir()
            self.nodes.append(
                Soketi(port=self.port, host=host, cwd=cwd, extra_env=self._redis_env())
            )
        used = {self.port}
        for node in self.nodes:  # one metrics port each
            while node.metrics_port in used:
                node.metrics_port = free_port()
            used.add(node.metrics_port)

    def _redis_env(self) -> dict[str, str]:
        return {
            "SOKETI_ADAPTER_DRIVER": "redis",
            "SOKETI_ADAPTER_REDIS_PREFIX": self.prefix,
            "SOKETI_DB_REDIS_HOST": self.redis.host,
            "SOKETI_DB_REDIS_PORT": str(self.redis.port),
            "SOKETI_DB_REDIS_KEY_PREFIX": f"{self.prefix}:",
            "SOKETI_RATE_LIMITER_DRIVER": "redis",
            "SOKETI_CACHE_DRIVER": "redis",
        }

    # credentials (every node has the same app) -----------------------------------------------
    @property
    def key(self) -> str:
        return self.nodes[0].key

    @property
    def secret(self) -> str:
        return self.nodes[0].secret

    def node_at(self, url: str) -> Soketi:
        """The node a client's WebSocket URL (``pusher.url``) points at."""
        for node in self.nodes:
            if f"//{node.host}:{node.port}/" in url:
                return node
        raise AssertionError(f"{url!r} is no node of {self.nodes}")

    # lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start Redis and every node that is not running, then wait until they are linked."""
        if self.redis.proc is None:
            self.redis.start()
        for node in self.nodes:
            node.start()
        self.wait_linked()

    def wait_linked(self, timeout: float = 30.0) -> None:
        """Wait until an event published through a node's HTTP API reaches a client on every
        other node (through node 1 for the others, through the last node for node 1)."""
        for i, receiver in enumerate(self.nodes):
            source = self.nodes[0] if i else self.nodes[-1]
            _wait_crossing(source, receiver, timeout)

    def cleanup(self) -> None:
        """Stop every node and Redis; remove the logs and working directories."""
        try:
            for node in self.nodes:
                node.cleanup()
        finally:
            self.redis.stop()
            shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"--- {node.host} ---\n{node.log()}" for node in self.nodes)


def _wait_crossing(source: Soketi, receiver: Soketi, timeout: float) -> None:
    """Publish on ``source`` (official SDK) until a raw WebSocket client on ``receiver`` gets
    the event: the nodes' Redis subscriptions are in place."""
    channel = f"cluster-probe-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + timeout
    ws = websocket.create_connection(f"{receiver.ws_url}?protocol=7", timeout=timeout)
    try:
        _next_event(ws, deadline, "pusher:connection_established")
        ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}))
        _next_event(ws, deadline, "pusher_internal:subscription_succeeded")
        while True:
            source.sdk.trigger(channel, "probe", {})
            ws.settimeout(0.2)  # re-publish while the receiving node is not subscribed yet
            try:
                if _next_event(ws, deadline, "probe"):
                    return
            except websocket.WebSocketTimeoutException:
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"no event crossed from {source} to {receiver} in {timeout}s:\n"
                        f"{source.log()}\n{receiver.log()}"
                    ) from None
    finally:
        ws.close()


def _next_event(ws: Any, deadline: float, name: str) -> bool:
    """Read frames until one named ``name`` (True); raise once past ``deadline``."""
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv())
        if frame.get("event") == name:
            return True
    raise AssertionError(f"no {name!r} before the deadline")
