"""End-to-end throughput and latency: bare websocket-client vs pysher vs rxpusher on soketi.

Run from the repository root:  python bench/throughput.py  [--burst 20000] [--seconds 5]

One soketi (tests/servers/node_modules/.bin/soketi, installed by ``npm ci`` there) is started
on free loopback ports and stopped at the end. A publisher (a raw websocket-client connection
in this process, subscribed to ``private-bench`` with a locally signed auth) sends client
events ``client-tick``; soketi relays them to the one subscriber under test, which runs in
its own Python process (no GIL sharing with the publisher; pysher's threads die with it):

  bare     websocket.create_connection(url) with default options; ws.recv() + json.loads of
           each frame (and of its data when that is a string), in a plain loop: the floor.
  pysher   pysher 1.0.8, pysher.Pusher(key, custom_host, port, secure=False, secret), bind.
  rxpusher rxpusher.Pusher(key, host, ws_port, use_tls=False, secret) and
           channel("private-bench").events("client-tick").subscribe(...).

Every subscriber calls the same handler (record receive time, latency, seq).

Phase 1, burst: N events, pre-encoded and written by the publisher as fast as soketi reads
them. Events/s = (N - 1) / (last receive - first receive), measured in the subscriber.
Phase 2, paced: 2,000 events/s for --seconds; each event carries time.perf_counter_ns() taken
just before it is sent (CLOCK_MONOTONIC, shared by every process on the machine); latency =
receive time - that stamp. Median and p99.

Each (subscriber, phase) is measured --repeat times (rounds interleave the subscribers) and the
median is reported. Every run checks that the subscriber got all events (count and seq sum);
the script exits 1 if one did not.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
APP_ID = "4242"
KEY = "bench-key"
SECRET = "bench-secret"
CHANNEL = "private-bench"
EVENT = "client-tick"
ROOT = Path(__file__).resolve().parent.parent
SERVERS_DIR = ROOT / "tests" / "servers"
SOKETI_BIN = SERVERS_DIR / "node_modules" / ".bin" / "soketi"
KINDS = ("bare", "pysher", "rxpusher")  # the measured subscribers (plus "drain", see below)
sys.path.insert(0, os.environ.get("RXPUSHER_SRC", str(ROOT)))  # this checkout, or RXPUSHER_SRC
PHASE_TIMEOUT = 40.0  # seconds a subscriber waits for one phase before giving up


def sign(socket_id: str, channel: str) -> str:
    digest = hmac.new(SECRET.encode(), f"{socket_id}:{channel}".encode(), hashlib.sha256)
    return f"{KEY}:{digest.hexdigest()}"


def url_for(port: int, client: str) -> str:
    return f"ws://{HOST}:{port}/app/{KEY}?protocol=7&client={client}&version=1.0"


# ============================================================================================
# Subscriber side (runs in a child process: python throughput.py --subscriber KIND ...)
# ============================================================================================


class Recorder:
    """The handler every subscriber calls with the decoded data of each ``client-tick``.

    It walks through phases of known sizes; when one is complete it reports it on stdout.
    """

    __slots__ = ("phases", "index", "count", "first", "last", "seq_sum", "lat", "done")

    def __init__(self, sizes: list[int]) -> None:
        self.phases = sizes
        self.index = 0
        self.done = threading.Event()
        self._reset()

    def _reset(self) -> None:
        self.count = 0
        self.first = 0
        self.last = 0
        self.seq_sum = 0
        self.lat: list[int] = []

    def __call__(self, data: Any) -> None:
        now = time.perf_counter_ns()
        if self.count == 0:
            self.first = now
        self.count += 1
        self.last = now
        self.seq_sum += data["seq"]
        self.lat.append(now - data["t"])
        if self.count == self.phases[self.index]:
            self.report()

    def report(self) -> None:
        n = self.phases[self.index] if self.index < len(self.phases) else 0
        lat = sorted(self.lat)
        out = {
            "phase": self.index,
            "count": self.count,
            "expected": n,
            "complete": self.count == n and self.seq_sum == n * (n - 1) // 2,
            "seconds": (self.last - self.first) / 1e9,
            "median_ms": lat[len(lat) // 2] / 1e6 if lat else None,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e6 if lat else None,
        }
        print(json.dumps(out), flush=True)
        self.index += 1
        self._reset()
        if self.index >= len(self.phases):
            self.done.set()

    def finish(self) -> None:
        """Report what the unfinished phases got (a timeout)."""
        while self.index < len(self.phases):
            self.report()


def run_subscriber(kind: str, port: int, sizes: list[int]) -> None:
    recorder = Recorder(sizes)
    ready = lambda: print(json.dumps({"ready": True}), flush=True)  # noqa: E731
    total_timeout = PHASE_TIMEOUT * len(sizes)
    if kind == "bare":
        import websocket

        ws = websocket.create_connection(url_for(port, "bare"))
        established = json.loads(ws.recv())
        socket_id = json.loads(established["data"])["socket_id"]
        ws.send(json.dumps({"event": "pusher:subscribe",
                            "data": {"channel": CHANNEL, "auth": sign(socket_id, CHANNEL)}}))
        # No socket timeout (it would add a poll() to every read): a watchdog ends a stuck run.
        watchdog = threading.Timer(total_timeout, ws.shutdown)
        watchdog.daemon = True
        watchdog.start()
        loads = json.loads
        while not recorder.done.is_set():
            try:
                text = ws.recv()
            except Exception:  # noqa: BLE001 - the watchdog closed the socket
                break
            message = loads(text)
            if message["event"] == EVENT:
                data = message["data"]
                if isinstance(data, str):
                    data = loads(data)
                recorder(data)
            elif message["event"] == "pusher_internal:subscription_succeeded":
                ready()
        watchdog.cancel()
        recorder.finish()
        ws.close()
    elif kind == "drain":
        # Not a client: raw socket reads that only count frames (b'"seq":' occurrences), to
        # show how fast soketi can deliver on this machine (the ceiling for any subscriber).
        import websocket

        ws = websocket.create_connection(url_for(port, "drain"))
        established = json.loads(ws.recv())
        socket_id = json.loads(established["data"])["socket_id"]
        ws.send(json.dumps({"event": "pusher:subscribe",
                            "data": {"channel": CHANNEL, "auth": sign(socket_id, CHANNEL)}}))
        while json.loads(ws.recv())["event"] != "pusher_internal:subscription_succeeded":
            pass
        ready()
        sock = ws.sock
        sock.settimeout(total_timeout)
        marker = b'"seq":'
        tail = b""
        try:
            for n in sizes:
                count, first, last = 0, 0, 0
                while count < n:
                    chunk = sock.recv(1 << 20)
                    if not chunk:
                        break
                    now = time.perf_counter_ns()
                    first = first or now
                    last = now
                    chunk = tail + chunk
                    count += chunk.count(marker)
                    tail = chunk[-(len(marker) - 1):]
                print(json.dumps({"phase": recorder.index, "count": count, "expected": n,
                                  "complete": count == n, "seconds": (last - first) / 1e9,
                                  "median_ms": None, "p99_ms": None}), flush=True)
                recorder.index += 1
        except OSError:
            pass
        recorder.phases = sizes
        recorder.finish()
        ws.close()
    elif kind == "pysher":
        import pysher

        client = pysher.Pusher(KEY, custom_host=HOST, port=port, secure=False, secret=SECRET)

        def on_connected(data: Any) -> None:
            channel = client.subscribe(CHANNEL)
            channel.bind("pusher_internal:subscription_succeeded", lambda _data: ready())
            channel.bind(EVENT, recorder)

        client.connection.bind("pusher:connection_established", on_connected)
        client.connect()
        recorder.done.wait(total_timeout)
        recorder.finish()
        client.disconnect(timeout=2)
    elif kind == "rxpusher":
        import rxpusher

        client = rxpusher.Pusher(KEY, host=HOST, ws_port=port, use_tls=False, secret=SECRET,
                                 **({"io": os.environ["RXPUSHER_IO"]} if "RXPUSHER_IO" in os.environ else {}))
        channel = client.channel(CHANNEL)
        subscription = channel.events(EVENT).subscribe(recorder)
        channel.state.subscribe(lambda s: ready() if s == "subscribed" else None)
        recorder.done.wait(total_timeout)
        recorder.finish()
        subscription.dispose()
        client.close()
    else:
        raise SystemExit(f"unknown subscriber {kind!r}")


# ============================================================================================
# Orchestrator side
# ============================================================================================


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class Soketi:
    def __init__(self) -> None:
        if not SOKETI_BIN.exists():
            raise SystemExit(f"soketi is missing: run `npm ci` in {SERVERS_DIR}")
        self.port = free_port()
        metrics = free_port()
        while metrics == self.port:
            metrics = free_port()
        env = dict(os.environ)
        env.update({
            "SOKETI_HOST": HOST,
            "SOKETI_PORT": str(self.port),
            "SOKETI_METRICS_SERVER_PORT": str(metrics),
            "SOKETI_METRICS_ENABLED": "false",
            "SOKETI_DEFAULT_APP_ID": APP_ID,
            "SOKETI_DEFAULT_APP_KEY": KEY,
            "SOKETI_DEFAULT_APP_SECRET": SECRET,
            "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
            # appManager.array.apps.0.maxClientEventsPerSecond (dist/cli/cli.js): no rate limit
            "SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC": "100000000",
            "SOKETI_SHUTDOWN_GRACE_PERIOD": "100",
            "SOKETI_DEBUG": "false",
        })
        self.proc = subprocess.Popen(
            [str(SOKETI_BIN), "start"], cwd=SERVERS_DIR, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise SystemExit(f"soketi exited with {self.proc.returncode} at start-up")
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("soketi did not open its port within 30 s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group started above, and only it
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


class Publisher:
    """A raw websocket-client connection subscribed to the private channel."""

    def __init__(self, port: int) -> None:
        import websocket

        self._abnf = websocket.ABNF
        self.ws = websocket.create_connection(url_for(port, "bench-publisher"))
        established = json.loads(self.ws.recv())
        socket_id = json.loads(established["data"])["socket_id"]
        self.ws.send(json.dumps({"event": "pusher:subscribe",
                                 "data": {"channel": CHANNEL, "auth": sign(socket_id, CHANNEL)}}))
        while True:
            message = json.loads(self.ws.recv())
            if message["event"] == "pusher_internal:subscription_succeeded":
                break
            if message["event"] == "pusher:error" or "error" in message["event"]:
                raise SystemExit(f"publisher could not subscribe: {message}")
        self.sock = self.ws.sock
        # The publisher never reads again: make sure soketi has nothing to send it
        # (client events are not echoed to their sender).

    def frame(self, seq: int, t: int) -> bytes:
        text = json.dumps({"event": EVENT, "channel": CHANNEL,
                           "data": {"symbol": "BENCH", "price": 101.25, "seq": seq, "t": t}},
                          separators=(",", ":"))
        return self._abnf.create_frame(text, self._abnf.OPCODE_TEXT).format()

    def burst(self, n: int, chunk: int = 256) -> None:
        """n pre-encoded frames, written in chunks as fast as the server reads them."""
        t = time.perf_counter_ns()
        frames = [self.frame(i, t) for i in range(n)]
        for start in range(0, n, chunk):
            self.sock.sendall(b"".join(frames[start:start + chunk]))

    def paced(self, n: int, rate: float) -> None:
        """n frames at ``rate`` per second, each stamped just before it is sent."""
        interval = 1e9 / rate
        start = time.perf_counter_ns()
        for i in range(n):
            due = start + int(i * interval)
            while True:
                left = due - time.perf_counter_ns()
                if left <= 0:
                    break
                if left > 300_000:
                    time.sleep((left - 200_000) / 1e9)
            self.sock.sendall(self.frame(i, time.perf_counter_ns()))

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass


class Child:
    """A subscriber process and its JSON-lines stdout."""

    baseline: str | None = None  # source tree of the "rxpusher-baseline" kind (--baseline)

    def __init__(self, kind: str, port: int, sizes: list[int]) -> None:
        self.kind = kind
        env = dict(os.environ)
        if kind == "rxpusher-baseline":
            assert Child.baseline, "--baseline DIR is needed for rxpusher-baseline"
            env["RXPUSHER_SRC"] = Child.baseline
            kind = "rxpusher"
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--subscriber", kind,
             "--port", str(port), "--sizes", ",".join(map(str, sizes))],
            cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
        )
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)

    def read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                raise TimeoutError(f"{self.kind}: no report within {timeout} s")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"{self.kind} subscriber exited ({self.proc.wait()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._selector.close()
        self.proc.stdout.close()


def measure(kind: str, port: int, publisher: Publisher, burst: int, paced: int,
            rate: float) -> tuple[dict[str, Any], dict[str, Any]]:
    child = Child(kind, port, [burst] if kind == "drain" else [burst, paced])
    try:
        assert child.read(30).get("ready")
        time.sleep(0.2)  # let the subscriber's process settle (imports, GC) before timing
        publisher.burst(burst)
        burst_report = child.read(PHASE_TIMEOUT + 5)
        if kind == "drain":  # throughput ceiling only
            return burst_report, {"count": 0, "expected": 0, "complete": True,
                                  "median_ms": None, "p99_ms": None}
        time.sleep(0.2)
        publisher.paced(paced, rate)
        paced_report = child.read(PHASE_TIMEOUT + 5)
        return burst_report, paced_report
    finally:
        child.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=20_000, help="events per burst")
    parser.add_argument("--rate", type=float, default=2000.0, help="paced events per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the paced phase")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chart", metavar="PATH",
                        help="also save a bar chart (PNG) of events/s and median latency")
    parser.add_argument("--kinds", default="drain," + ",".join(KINDS),
                        help="subscribers to measure, in this order (drain: soketi ceiling)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="source tree of another rxpusher (its rxpusher/ inside DIR), "
                        "measured as the kind rxpusher-baseline (see bench/before_after.py)")
    parser.add_argument("--subscriber", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        run_subscriber(args.subscriber, args.port, [int(s) for s in args.sizes.split(",")])
        return 0

    kinds = [k for k in args.kinds.split(",") if k]
    Child.baseline = args.baseline
    paced_n = int(args.rate * args.seconds)
    started = time.monotonic()
    server = Soketi()
    results: dict[str, dict[str, list[float]]] = {k: {"eps": [], "med": [], "p99": []} for k in kinds}
    all_complete = True
    try:
        publisher = Publisher(server.port)
        print(f"soketi on {HOST}:{server.port}; burst {args.burst} events, paced "
              f"{paced_n} events at {args.rate:.0f}/s; {args.repeat} rounds\n")
        for round_ in range(1, args.repeat + 1):
            for kind in kinds:
                b, p = measure(kind, server.port, publisher, args.burst, paced_n, args.rate)
                eps = (b["count"] - 1) / b["seconds"] if b["seconds"] > 0 else 0.0
                ok = b["complete"] and p["complete"]
                all_complete &= ok
                results[kind]["eps"].append(eps)
                if p["median_ms"] is not None:
                    results[kind]["med"].append(p["median_ms"])
                    results[kind]["p99"].append(p["p99_ms"])
                    paced_text = (f"paced {p['count']:>6}/{p['expected']} median "
                                  f"{p['median_ms']:.3f} ms p99 {p['p99_ms']:.3f} ms")
                else:
                    paced_text = "(soketi delivery ceiling, no client)"
                print(f"round {round_} {kind:9s} burst {b['count']:>6}/{b['expected']} "
                      f"{eps:>9,.0f} ev/s | {paced_text}{'' if ok else '  INCOMPLETE'}",
                      flush=True)
        publisher.close()
    finally:
        server.stop()

    med = {k: {m: statistics.median(v) if v else float("nan") for m, v in r.items()}
           for k, r in results.items()}
    print(f"\nmedian of {args.repeat} runs (all events received: {'yes' if all_complete else 'NO'})")
    print(f"{'subscriber':10s} {'events/s':>10s} {'median ms':>10s} {'p99 ms':>8s}")
    for k in kinds:
        print(f"{k:10s} {med[k]['eps']:>10,.0f} {med[k]['med']:>10.3f} {med[k]['p99']:>8.3f}")
    if {"bare", "pysher", "rxpusher"} <= set(kinds):
        rx, bare, py = med["rxpusher"], med["bare"], med["pysher"]
        r_bare = rx["eps"] / bare["eps"]
        r_py = rx["eps"] / py["eps"]
        d_lat = rx["med"] - bare["med"]
        print()
        print(f"rxpusher / bare   events/s: {r_bare:.2f}x  (target >= 1.5x: "
              f"{'met' if r_bare >= 1.5 else 'NOT met'})")
        print(f"rxpusher / pysher events/s: {r_py:.2f}x  (target >= 2x: "
              f"{'met' if r_py >= 2 else 'NOT met'})")
        print(f"median latency rxpusher - bare: {d_lat:+.3f} ms  (target <= 0.1 ms: "
              f"{'met' if d_lat <= 0.1 else 'NOT met'})")
    if args.chart:
        save_chart(args.chart, kinds, med)
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    return 0 if all_complete else 1


def save_chart(path: str, kinds: list[str], med: dict[str, dict[str, float]]) -> None:
    """Bar charts of events/s and median latency per subscriber (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = [k for k in kinds if k != "drain"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.bar(clients, [med[k]["eps"] for k in clients], color="#4c72b0")
    if "drain" in kinds:
        left.axhline(med["drain"]["eps"], color="grey", linestyle="--", label="soketi ceiling")
        left.legend(loc="upper left", fontsize=8)
    left.set_title("burst: events/s (higher is better)")
    right.bar(clients, [med[k]["med"] for k in clients], color="#dd8452")
    right.set_title("median latency at 2,000/s, ms (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print("chart:", path)


if __name__ == "__main__":
    sys.exit(main())
