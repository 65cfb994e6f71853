"""Client-bound ingest: how many events per second each client decodes and delivers.

Run from the repository root:  python bench/ingest.py  [--events 200000] [--repeat 3]

A server written here (raw sockets, in this process) accepts the WebSocket upgrade, sends
``pusher:connection_established``, waits for the client's ``pusher:subscribe`` of the public
channel ``bench``, confirms it, and then writes N pre-encoded ``client-tick`` frames
(Pusher-style: ``data`` is a JSON string holding ``{"symbol", "price", "seq", "t"}``) with
one ``sendall``. The frames are built before the clock starts, so only the client is
measured. Each subscriber runs in its own process, one at a time:

  ws-default   websocket-client ``create_connection(url)``, loop ``ws.recv()`` and
               ``json.loads`` of frame and data: the default loop.
  ws-skip-utf8 the same with ``skip_utf8_validation=True``.
  pysher       pysher 1.0.8: ``subscribe("bench").bind("client-tick", handler)``.
  pusher-js    pusher-js 8.6.0 on Node (bench/ingest_pusherjs.js, from tests/servers).
  rxpusher     ``Pusher(...).channel("bench").events("client-tick").subscribe(handler)``,
               with orjson when it is installed (the ``rxpusher[fast]`` extra).
  rxpusher-stdlib  the same with the standard library's JSON decoder only.

Every subscriber's handler gets the decoded data, checks ``seq`` and counts. Events/s =
(N - 1) / (last receive - first receive), timed in the subscriber; each subscriber is run
--repeat times (rounds interleave the subscribers) and the median is printed with its ratio
to pusher-js. Every run checks that all N events arrived in order (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
KEY = "bench-key"
CHANNEL = "bench"
EVENT = "client-tick"
ROOT = Path(__file__).resolve().parent.parent
NODE_SCRIPT = Path(__file__).resolve().parent / "ingest_pusherjs.js"
KINDS = ("ws-default", "ws-skip-utf8", "pysher", "pusher-js", "rxpusher", "rxpusher-stdlib")
TIMEOUT = 120.0  # seconds one subscriber run may take
sys.path.insert(0, str(ROOT))  # benchmark this checkout's rxpusher
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def url_for(port: int) -> str:
    return f"ws://{HOST}:{port}/app/{KEY}?protocol=7&client=bench&version=1.0"


# ============================================================================================
# Subscriber side (a child process: python ingest.py --subscriber KIND --port P --events N)
# ============================================================================================


class Counter:
    """The handler of every Python subscriber: checks ``seq`` and times the first and last."""

    __slots__ = ("expected", "count", "first", "last", "in_order", "done")

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first = 0
        self.last = 0
        self.in_order = True
        self.done = threading.Event()

    def __call__(self, data: Any) -> None:
        if self.count == 0:
            self.first = time.perf_counter_ns()
        if data["seq"] != self.count:
            self.in_order = False
        self.count += 1
        if self.count == self.expected:
            self.last = time.perf_counter_ns()
            self.done.set()

    def report(self) -> None:
        print(json.dumps({"count": self.count, "complete": self.count == self.expected
                          and self.in_order, "seconds": (self.last - self.first) / 1e9}),
              flush=True)


def subscribe_frame() -> str:
    return json.dumps({"event": "pusher:subscribe", "data": {"channel": CHANNEL}})


def run_websocket_client(port: int, counter: Counter, skip_utf8: bool) -> None:
    import websocket

    ws = websocket.create_connection(url_for(port), skip_utf8_validation=skip_utf8)
    ws.recv()  # pusher:connection_established
    ws.send(subscribe_frame())
    loads = json.loads
    while not counter.done.is_set():
        message = loads(ws.recv())
        if message["event"] == EVENT:
            data = message["data"]
            counter(loads(data) if isinstance(data, str) else data)
    ws.close()


def run_pysher(port: int, counter: Counter) -> None:
    import pysher

    client = pysher.Pusher(KEY, custom_host=HOST, port=port, secure=False)

    def handler(data: Any) -> None:
        counter(json.loads(data) if isinstance(data, str) else data)

    def on_connected(_data: Any) -> None:
        client.subscribe(CHANNEL).bind(EVENT, handler)

    client.connection.bind("pusher:connection_established", on_connected)
    client.connect()
    counter.done.wait(TIMEOUT)
    client.disconnect(timeout=2)


def run_rxpusher(port: int, counter: Counter, fast: bool) -> None:
    import rxpusher
    from rxpusher import _protocol as protocol

    if not fast:
        protocol._fast_loads = None  # noqa: SLF001 - the benchmark's backend switch
    elif protocol.fast_backend() is None:
        raise SystemExit("orjson is not installed: pip install 'rxpusher[fast]'")
    client = rxpusher.Pusher(KEY, host=HOST, ws_port=port, use_tls=False)
    subscription = client.channel(CHANNEL).events(EVENT).subscribe(counter)
    counter.done.wait(TIMEOUT)
    subscription.dispose()
    client.close()


def run_subscriber(kind: str, port: int, events: int) -> None:
    counter = Counter(events)
    if kind in ("ws-default", "ws-skip-utf8"):
        run_websocket_client(port, counter, skip_utf8=kind == "ws-skip-utf8")
    elif kind == "pysher":
        run_pysher(port, counter)
    elif kind in ("rxpusher", "rxpusher-stdlib"):
        run_rxpusher(port, counter, fast=kind == "rxpusher")
    else:
        raise SystemExit(f"unknown subscriber {kind!r}")
    counter.report()


# ============================================================================================
# Server side: accept the upgrade, handshake, confirm the subscription, blast the frames
# ============================================================================================


def server_frame(text: str) -> bytes:
    """One unmasked text frame, as a server sends it."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


def tick_frames(n: int) -> bytes:
    t = time.time_ns()
    frames = []
    for seq in range(n):
        data = json.dumps({"symbol": "BENCH", "price": 101.25, "seq": seq, "t": t + seq},
                          separators=(",", ":"))
        frames.append(server_frame(json.dumps(
            {"event": EVENT, "channel": CHANNEL, "data": data}, separators=(",", ":"))))
    return b"".join(frames)


def read_client_frame(conn: socket.socket, buffer: bytearray) -> tuple[int, bytes] | None:
    """The next (masked) frame from the client as (opcode, payload); None at EOF."""

    def need(size: int) -> bool:
        while len(buffer) < size:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            buffer.extend(chunk)
        return True

    if not need(2):
        return None
    opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
    offset = 2
    if length == 126:
        if not need(4):
            return None
        length, offset = struct.unpack("!H", buffer[2:4])[0], 4
    elif length == 127:
        if not need(10):
            return None
        length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
    if not need(offset + 4 + length):
        return None
    mask = buffer[offset:offset + 4]
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buffer[offset + 4:offset + 4 + length]))
    del buffer[:offset + 4 + length]
    return opcode, payload


class BlastServer:
    """Serves every connection the same script; ``frames`` is what it blasts."""

    def __init__(self, frames: bytes) -> None:
        self.frames = frames
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._script(conn)
            except OSError:
                pass

    def _script(self, conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        head, _, rest = request.partition(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        established = json.dumps({"socket_id": "1.1", "activity_timeout": 120})
        conn.sendall(server_frame(json.dumps(
            {"event": "pusher:connection_established", "data": established})))
        buffer = bytearray(rest)
        while True:
            frame = read_client_frame(conn, buffer)
            if frame is None or frame[0] == 0x8:
                return
            if frame[0] == 0x1 and json.loads(frame[1]).get("event") == "pusher:subscribe":
                break
        conn.sendall(server_frame(json.dumps({
            "event": "pusher_internal:subscription_succeeded", "channel": CHANNEL,
            "data": "{}"})))
        conn.sendall(self.frames)
        while True:  # keep the socket open until the client leaves
            frame = read_client_frame(conn, buffer)
            if frame is None or frame[0] == 0x8:
                return
            if frame[0] == 0x9:
                conn.sendall(struct.pack("!BB", 0x8A, len(frame[1])) + frame[1])

    def close(self) -> None:
        self.listener.close()


# ============================================================================================
# Orchestrator
# ============================================================================================


def run_once(kind: str, port: int, events: int) -> dict[str, Any]:
    if kind == "pusher-js":
        command = ["node", str(NODE_SCRIPT), str(port), str(events)]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--subscriber", kind,
                   "--port", str(port), "--events", str(events)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT + 10,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"count": 0, "complete": False, "seconds": 0.0, "error": "timed out"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"count": 0, "complete": False, "seconds": 0.0,
                "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--chart", metavar="PATH", help="also save a bar chart (PNG) of events/s")
    parser.add_argument("--subscriber", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        run_subscriber(args.subscriber, args.port, args.events)
        return 0
    kinds = list(args.kinds)
    if "pusher-js" in kinds and shutil.which("node") is None:
        print("node is not on PATH: skipping pusher-js", file=sys.stderr)
        kinds.remove("pusher-js")
    server = BlastServer(tick_frames(args.events))
    print(f"{args.events:,} events of {len(server.frames) // args.events} bytes per frame, "
          f"{args.repeat} rounds, python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    rates: dict[str, list[float]] = {kind: [] for kind in kinds}
    failures = 0
    try:
        for round_no in range(args.repeat):
            for kind in kinds:
                result = run_once(kind, server.port, args.events)
                if not result["complete"] or result["seconds"] <= 0:
                    failures += 1
                    print(f"round {round_no + 1} {kind}: INCOMPLETE {result}", file=sys.stderr)
                    continue
                rates[kind].append((args.events - 1) / result["seconds"])
    finally:
        server.close()
    medians = {kind: statistics.median(values) for kind, values in rates.items() if values}
    reference = medians.get("pusher-js")
    print(f"\n| subscriber | events/s (median of {args.repeat}) | vs pusher-js |")
    print("|---|---:|---:|")
    for kind in kinds:
        if kind not in medians:
            print(f"| {kind} | failed | - |")
            continue
        ratio = f"{medians[kind] / reference:.2f}x" if reference else "-"
        print(f"| {kind} | {medians[kind]:,.0f} | {ratio} |")
    if reference:
        print("\n| target | ratio | met |")
        print("|---|---:|---|")
        for kind, target in (("rxpusher", 1.5), ("rxpusher-stdlib", 1.0)):
            if kind in medians:
                ratio = medians[kind] / reference
                print(f"| {kind} >= {target}x pusher-js | {ratio:.2f}x | "
                      f"{'yes' if ratio >= target else 'no'} |")
    if args.chart and medians:
        save_chart(args.chart, [k for k in kinds if k in medians], medians, args.events)
    return 1 if failures else 0


def save_chart(path: str, kinds: list[str], medians: dict[str, float], events: int) -> None:
    """A horizontal bar chart of the median events/s of each subscriber."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(kinds)))
    values = [medians[k] / 1000 for k in kinds]
    colors = ["#d62728" if k.startswith("rxpusher") else "#1f77b4" if k == "pusher-js"
              else "#7f7f7f" for k in kinds]
    ax.barh(kinds, values, color=colors)
    ax.invert_yaxis()
    for y, value in enumerate(values):
        ax.text(value, y, f" {value:,.0f}k", va="center")
    ax.set_xlabel("events/s (thousands), client-bound: the server only blasts frames")
    ax.set_title(f"Client-bound ingest, {events:,} pre-encoded events (median of runs)")
    ax.set_xlim(0, max(values) * 1.2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
