"""Many connections in one process: N rxpusher clients on presence channels of a soketi
cluster.

Run from the repository root:  python bench/connections.py  [--n 100 500 1000] [--chart PATH]

Three soketi nodes (tests/servers/node_modules/.bin/soketi, installed by ``npm ci`` there) on
one Redis (``redis-server``), started with tests/helpers/cluster_harness.py on loopback
addresses 127.0.0.1-3 and stopped at the end. Each N runs in a fresh Python process (so that
memory freed by a previous run does not hide what this one costs), in which:

1. N clients (``rxpusher.Pusher(key, host=node, secret=..., channel_data=...)``, the nodes in
   turn, ``io`` as given by --io) each join a presence channel of --group members
   (``presence-bench-<n>-<k>``, signed locally) and observe its ``members``; the run waits
   until every client is connected and sees its whole channel. RSS per connection is
   measured then, against the RSS after one warm-up client connected and closed (one-time
   costs such as lazy imports are not counted).
2. For --seconds, every client sends ``pusher:ping`` once a second (``pusher.ping()``, from
   one pinger thread, client i at offset i/N of each second, so N pings per second overall)
   and records the time until its ``pusher:pong`` arrives (``pusher.events("pusher:pong")``):
   the ping latency, from the call to the observer, measured on this process's monotonic
   clock. Then a burst: every client pings at once (one after the other from the pinger, as
   fast as it can) and the latencies of that round are reported apart. Meanwhile --events server events are published on every presence channel through
   the HTTP API of the nodes in turn, each stamped with the publish time, so most of them
   cross nodes through Redis; their delivery latency is reported too.
3. A sleeper thread sleeps 5 ms in a loop throughout step 2 (steady and burst) and records how late it wakes
   up: the GIL and the I/O threads' effect on unrelated threads of the process.

Reported per N: ping latency p50/p99/max (steady) and p50/p99 (burst), event latency p50/p99, pings and events delivered
(every one is expected; the script exits 1 otherwise), threads in the process (all of them:
the main thread, the pinger, the sleeper and this script's helpers included), the library's
threads, RSS per connection ((RSS with the clients connected - RSS before) / N, from
/proc/self/status), the sleeper's lateness (p99 and max) and how long connecting took.

Targets for 1,000 connections (issue 10): every ping and event delivered; ping p99 <= 200 ms;
<= 16 threads in total; <= 100 KiB RSS per connection; sleeper woken <= 50 ms late. The
script prints them next to the figures; it does not fail on them (benchmarks, not tests).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmark this checkout's rxpusher
sys.path.insert(0, str(ROOT / "tests"))  # tests/helpers: the cluster harness

import rxpusher  # noqa: E402

TARGETS = {"ping_p99_ms": 200.0, "threads": 16, "rss_kib": 100.0, "sleeper_ms": 50.0}
SLEEP = 0.005


@dataclass
class Result:
    """The figures of one run."""

    n: int
    io: str
    connect_s: float = 0.0
    ping_ms: list[float] = field(default_factory=list)
    burst_ms: list[float] = field(default_factory=list)
    pings_sent: int = 0
    event_ms: list[float] = field(default_factory=list)
    events_expected: int = 0
    threads: int = 0
    library_threads: int = 0
    rss_kib: float = 0.0
    sleeper_ms: list[float] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return (len(self.ping_ms) + len(self.burst_ms) == self.pings_sent
                and len(self.event_ms) == self.events_expected)


def rss_kib() -> float:
    """The resident set size of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nearest rank), 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def raise_file_limit(needed: int) -> None:
    """Raise the soft limit of open files (for this process and the servers it starts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


class Sleeper:
    """A thread that sleeps 5 ms in a loop and records how late it wakes up (ms)."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.recording = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sleeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            time.sleep(SLEEP)
            late = (time.perf_counter() - start - SLEEP) * 1000
            if self.recording:
                self.lateness.append(late)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate`` (cheap) until true; ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        pause.wait(0.05)


@dataclass
class Node:
    """One soketi node of the cluster, as a child process reaches it."""

    host: str
    port: int
    app_id: str
    key: str
    secret: str
    sdk: Any = None

    def trigger(self, channels: list[str], event: str, data: Any) -> None:
        """Publish through this node's HTTP API (the official SDK)."""
        if self.sdk is None:
            import pusher as pusher_sdk

            self.sdk = pusher_sdk.Pusher(app_id=self.app_id, key=self.key, secret=self.secret,
                                         host=self.host, port=self.port, ssl=False, timeout=10)
        self.sdk.trigger(channels, event, data)


def run(nodes: list[Node], n: int, io: str, group: int, seconds: float, events: int) -> Result:
    """Connect ``n`` clients, measure, close them; the figures."""
    result = Result(n=n, io=io)
    warm = rxpusher.Pusher(nodes[0].key, host=nodes[0].host, ws_port=nodes[0].port,
                           use_tls=False, secret=nodes[0].secret, io=io)
    warm.wait_connected(30)  # one-time costs (lazy imports, the I/O thread) are not counted
    warm.close()
    gc.collect()
    rss_before = rss_kib()
    threads_before = set(threading.enumerate())
    sleeper = Sleeper()

    clients: list[rxpusher.Pusher] = []
    members_seen: list[int] = [0] * n
    pongs: list[list[float]] = [[] for _ in range(n)]
    got_events: list[list[float]] = [[] for _ in range(n)]
    channels = [f"presence-bench-{n}-{io}-{k}" for k in range((n + group - 1) // group)]
    sizes = {name: min(group, n - k * group) for k, name in enumerate(channels)}
    started = time.perf_counter()
    for i in range(n):
        node = nodes[i % len(nodes)]
        client = rxpusher.Pusher(
            node.key, host=node.host, ws_port=node.port, use_tls=False,
            secret=node.secret, channel_data={"user_id": f"user-{i}"}, io=io,
        )
        clients.append(client)
        channel = client.channel(channels[i // group])

        def on_members(members: Any, i: int = i) -> None:
            members_seen[i] = members.count

        def on_event(data: Any, i: int = i) -> None:
            got_events[i].append((time.time() - data["t"]) * 1000)

        def on_pong(data: Any, i: int = i) -> None:
            pongs[i].append(time.perf_counter())

        channel.members.subscribe(on_members)
        channel.events("tick").subscribe(on_event)
        client.events("pusher:pong").subscribe(on_pong)
    wait_until(lambda: all(members_seen[i] == sizes[channels[i // group]] for i in range(n)),
               120, "every client connected and seeing its whole presence channel")
    result.connect_s = time.perf_counter() - started
    gc.collect()
    result.rss_kib = (rss_kib() - rss_before) / n

    # ---- measurement: pings, events, the sleeper ---------------------------------------------
    sent_at: list[list[float]] = [[] for _ in range(n)]
    stop = threading.Event()

    rounds = int(seconds)

    def pinger() -> None:
        begin = time.perf_counter()
        for second in range(rounds):
            for i, client in enumerate(clients):
                due = begin + second + i / n
                delay = due - time.perf_counter()
                if delay > 0:
                    stop.wait(delay)
                sent_at[i].append(time.perf_counter())
                client.ping()
        # the steady pings answered (or late): then the burst
        wait_until(lambda: sum(len(p) for p in pongs) >= n * rounds, 30, "the steady pongs")
        for i, client in enumerate(clients):
            sent_at[i].append(time.perf_counter())
            client.ping()

    sleeper.recording = True
    pinging = threading.Thread(target=pinger, name="bench-pinger", daemon=True)
    pinging.start()
    result.threads = threading.active_count()
    result.library_threads = sum(1 for t in threading.enumerate()
                                 if t.name.startswith("rxpusher") and t not in threads_before)
    for e in range(events):  # spread over the measurement
        node = nodes[e % len(nodes)]
        for start in range(0, len(channels), 100):
            node.trigger(channels[start:start + 100], "tick", {"t": time.time(), "e": e})
        stop.wait(seconds / max(1, events))
    pinging.join()
    result.pings_sent = sum(len(s) for s in sent_at)
    result.events_expected = n * events
    try:
        wait_until(lambda: sum(len(p) for p in pongs) >= result.pings_sent
                   and sum(len(g) for g in got_events) >= result.events_expected,
                   30, "every pong and event")
    except TimeoutError as exc:
        print(f"  ! {exc}", file=sys.stderr)
    sleeper.recording = False
    sleeper.stop()
    for i in range(n):
        # pongs answer pings in order on one connection: pair them up
        latencies = [(p - s) * 1000 for s, p in zip(sent_at[i], pongs[i])]
        result.ping_ms.extend(latencies[:rounds])
        result.burst_ms.extend(latencies[rounds:])
        result.event_ms.extend(got_events[i])
    result.sleeper_ms = sleeper.lateness

    for client in clients:
        client.close()
    return result


def row(result: Result) -> list[str]:
    """One line of the table."""
    return [
        f"{result.n:,}", result.io, f"{result.connect_s:.1f}",
        f"{percentile(result.ping_ms, 0.5):.1f}", f"{percentile(result.ping_ms, 0.99):.1f}",
        f"{max(result.ping_ms, default=0):.1f}",
        f"{percentile(result.burst_ms, 0.5):.1f}", f"{percentile(result.burst_ms, 0.99):.1f}",
        f"{percentile(result.event_ms, 0.5):.1f}", f"{percentile(result.event_ms, 0.99):.1f}",
        f"{len(result.ping_ms) + len(result.burst_ms)}/{result.pings_sent}",
        f"{len(result.event_ms)}/{result.events_expected}",
        str(result.threads), str(result.library_threads), f"{result.rss_kib:.0f}",
        f"{percentile(result.sleeper_ms, 0.99):.1f}", f"{max(result.sleeper_ms, default=0):.1f}",
    ]


HEADER = ["clients", "io", "connect s", "ping p50 ms", "ping p99 ms", "ping max ms",
          "burst p50 ms", "burst p99 ms", "event p50 ms", "event p99 ms", "pongs", "events", "threads", "lib threads",
          "RSS KiB/conn", "sleeper p99 ms", "sleeper max ms"]


def table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    rows = [HEADER] + [row(r) for r in results]
    widths = [max(len(r[c]) for r in rows) for c in range(len(HEADER))]
    lines = ["| " + " | ".join(cell.rjust(w) for cell, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def verdict(result: Result) -> list[str]:
    """The targets of issue 10, met or not, for one run."""
    checks = [
        ("every ping and event delivered", result.delivered),
        (f"ping p99 <= {TARGETS['ping_p99_ms']:.0f} ms",
         percentile(result.ping_ms, 0.99) <= TARGETS["ping_p99_ms"]),
        (f"<= {TARGETS['threads']} threads in total", result.threads <= TARGETS["threads"]),
        (f"<= {TARGETS['rss_kib']:.0f} KiB RSS per connection",
         result.rss_kib <= TARGETS["rss_kib"]),
        (f"sleeper woken <= {TARGETS['sleeper_ms']:.0f} ms late",
         max(result.sleeper_ms, default=0) <= TARGETS["sleeper_ms"]),
    ]
    return [f"  {'ok  ' if ok else 'MISS'} {label}" for label, ok in checks]


def chart(results: list[Result], path: str) -> None:
    """Ping p50/p99, sleeper lateness and RSS per connection against N, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for io in sorted({r.io for r in results}):
        runs = [r for r in results if r.io == io]
        ns = [r.n for r in runs]
        axes[0].plot(ns, [percentile(r.ping_ms, 0.5) for r in runs], "o-", label=f"p50 ({io})")
        axes[0].plot(ns, [percentile(r.ping_ms, 0.99) for r in runs], "s--",
                     label=f"p99 ({io})")
        axes[0].plot(ns, [percentile(r.burst_ms, 0.99) for r in runs], "^:",
                     label=f"burst p99 ({io})")
        axes[1].plot(ns, [max(r.sleeper_ms, default=0) for r in runs], "o-",
                     label=f"max ({io})")
        axes[1].plot(ns, [percentile(r.sleeper_ms, 0.99) for r in runs], "s--",
                     label=f"p99 ({io})")
        axes[2].plot(ns, [r.rss_kib for r in runs], "o-", label=io)
    axes[0].axhline(TARGETS["ping_p99_ms"], color="grey", linestyle=":", label="p99 target")
    axes[1].axhline(TARGETS["sleeper_ms"], color="grey", linestyle=":", label="target")
    axes[2].axhline(TARGETS["rss_kib"], color="grey", linestyle=":", label="target")
    titles = ["ping latency (ms)", "5 ms sleeper lateness (ms)", "RSS per connection (KiB)"]
    for axis, title in zip(axes, titles):
        axis.set_title(title)
        axis.set_xlabel("connections in one process")
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    fig.suptitle("rxpusher: many connections in one process (3 soketi nodes on Redis)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def child(spec: str) -> int:
    """Run one configuration (``--child JSON``) and print its result as JSON."""
    config = json.loads(spec)
    raise_file_limit(4 * config["n"] + 1024)
    nodes = [Node(**node) for node in config["nodes"]]
    result = run(nodes, config["n"], config["io"], config["group"], config["seconds"],
                 config["events"])
    print(json.dumps(dataclasses.asdict(result)))
    return 0


def measure(cluster: Any, n: int, io: str, args: argparse.Namespace) -> Result:
    """One configuration in a fresh process."""
    nodes = [{"host": node.host, "port": node.port, "app_id": node.app_id, "key": node.key,
              "secret": node.secret} for node in cluster.nodes]
    spec = json.dumps({"nodes": nodes, "n": n, "io": io, "group": args.group,
                       "seconds": args.seconds, "events": args.events})
    done = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"the run of {n} clients (io={io}) failed:\n{done.stderr}")
    sys.stderr.write(done.stderr)
    return Result(**json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 500, 1000],
                        help="numbers of clients (default: 100 500 1000)")
    parser.add_argument("--io", nargs="+", default=["shared"], choices=["shared", "dedicated"],
                        help="the clients' io option(s) (default: shared)")
    parser.add_argument("--group", type=int, default=50,
                        help="members per presence channel (soketi allows 100; default 50)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="measurement time: one ping per client per second (default 5)")
    parser.add_argument("--events", type=int, default=5,
                        help="server events published on each channel (default 5)")
    parser.add_argument("--chart", help="write a PNG chart to this path")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)

    from helpers.cluster_harness import SoketiCluster

    raise_file_limit(4 * max(args.n) + 1024)  # inherited by the soketi nodes
    cluster = SoketiCluster()
    results: list[Result] = []
    try:
        cluster.start()
        for io in args.io:
            for n in args.n:
                print(f"{n} clients, io={io} ...", file=sys.stderr, flush=True)
                results.append(measure(cluster, n, io, args))
    finally:
        cluster.cleanup()
    print(table(results))
    for result in results:
        print(f"\n{result.n:,} clients, io={result.io}:")
        print("\n".join(verdict(result)))
    if args.chart:
        chart(results, args.chart)
        print(f"\nchart written to {args.chart}")
    return 0 if all(r.delivered for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
