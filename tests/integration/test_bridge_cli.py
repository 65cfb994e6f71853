"""``rxpusher bridge`` as a process against real soketi and real brokers: it writes every
event, flushes on SIGTERM and SIGINT, and with ``--seq`` and ``--backfill-url`` survives
SIGKILL restarts without losing or repeating a seq."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from helpers.brokers import Broker
from helpers.cli import CLI, lines_of, wait_line
from helpers.numbered_publisher import BackfillEndpoint, NumberedPublisher
from helpers.soketi_harness import Soketi, wait_for


@pytest.fixture
def server(soketi_server: Soketi) -> Soketi:
    soketi_server.start()
    return soketi_server


class Bridge:
    """One ``rxpusher bridge`` process; ``errors`` is its stderr, line by line."""

    def __init__(self, server: Soketi, broker: Broker, channel: str, *extra: str) -> None:
        self.argv = [*CLI, "bridge", server.key, "--host", server.host, "--port",
                     str(server.port), "--no-tls", "--channel", channel, "--to",
                     broker.server.url, *extra]
        self.channel = channel
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        assert self.proc.stderr is not None
        self.errors = lines_of(self.proc.stderr)
        self.seen: list[str] = []

    def wait_line(self, predicate: Any, timeout: float = 20.0) -> str:
        line = wait_line(self.errors, predicate, timeout)
        self.seen.append(line)
        return line

    def wait_subscribed(self) -> None:
        self.wait_line(lambda line: line == f"[{self.channel}: subscribed]")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


READ_EVERY = 0.2
"""How often a wait reads the broker back: reading a JetStream stream is one request per
message (every test's, the server is per module), so polling it every 10 ms starves the
bridge's own broker calls on a loaded machine (its ``nats: timeout`` delays the resume past
the test's deadline)."""


def written(broker: Broker, channel: str) -> list[int]:
    """The seqs of ``channel``'s event entries in the broker, in stream order."""
    return [e["seq"] for e in broker.events(channel)]


def wait_written_up_to(broker: Broker, channel: str, last: int) -> None:
    wait_for(lambda: (written(broker, channel) or [0])[-1] == last, 60, READ_EVERY,
             message=lambda: f"seq {last} written, have up to "
                             f"{(written(broker, channel) or [0])[-1]}")


@pytest.fixture
def bridges() -> Iterator[list[Bridge]]:
    made: list[Bridge] = []
    yield made
    for bridge in made:
        bridge.kill()


def test_sigterm_flushes_what_the_bridge_buffered_while_the_broker_was_down(
        server: Soketi, broker: Broker, bridges: list[Bridge], unique: Any) -> None:
    channel = unique("cli-bridge")
    bridge = Bridge(server, broker, channel, "--health", "0.2")
    bridges.append(bridge)
    bridge.wait_subscribed()
    for n in range(5):
        server.sdk.trigger(channel, "tick", {"n": n})
    wait_for(lambda: len(broker.events(channel)) == 5, 20, READ_EVERY)
    broker.server.stop()
    for n in range(5, 25):
        server.sdk.trigger(channel, "tick", {"n": n})
    bridge.wait_line(lambda line: "broker=down" in line and "buffered=20" in line)
    broker.server.start()
    status = bridge.stop(signal.SIGTERM)  # at once: the flush does not wait for the backoff
    assert status == 0, bridge.seen
    assert [json.loads(e["data"])["n"] for e in broker.events(channel)] == list(range(25))


def test_sigint_flushes_and_exits_0(server: Soketi, broker: Broker, bridges: list[Bridge],
                                    unique: Any) -> None:
    channel = unique("cli-bridge-int")
    bridge = Bridge(server, broker, channel, "--event", "tick")
    bridges.append(bridge)
    bridge.wait_subscribed()
    for n in range(10):
        server.sdk.trigger(channel, "tick" if n % 2 == 0 else "other", {"n": n})
    wait_for(lambda: len(broker.events(channel)) == 5, 20, READ_EVERY)
    assert bridge.stop(signal.SIGINT) == 0
    assert [json.loads(e["data"])["n"] for e in broker.events(channel)] == [0, 2, 4, 6, 8]
    assert bridge.wait_line(lambda line: line == "[bridge] flushed")


def test_sigkilled_and_restarted_three_times_under_a_50_per_second_publisher_every_seq_once(
        server: Soketi, broker: Broker, bridges: list[Bridge], unique: Any) -> None:
    channel = unique("cli-bridge-seq")
    publisher = NumberedPublisher(server.sdk, channel)
    endpoint = BackfillEndpoint(publisher)
    options = ("--event", "tick", "--seq", "seq", "--backfill-url", endpoint.url)

    try:
        bridge = Bridge(server, broker, channel, *options)
        bridges.append(bridge)
        bridge.wait_subscribed()
        publisher.run(0.02)  # 50 events per second
        for _ in range(3):
            target = len(written(broker, channel)) + 25
            wait_for(lambda: len(written(broker, channel)) >= target, 30, READ_EVERY,
                     message=lambda: f"{target} seqs written, "
                                     f"have {len(written(broker, channel))}")
            bridge.kill()  # SIGKILL: whatever it had buffered is gone with it
            target = publisher.last + 25
            wait_for(lambda: publisher.last >= target, 30)  # published while no bridge runs
            bridge = Bridge(server, broker, channel, *options)
            bridges.append(bridge)
            bridge.wait_line(lambda line: "resuming after seq" in line)
        publisher.stop()
        last = publisher.last
        wait_written_up_to(broker, channel, last)
        assert bridge.stop(signal.SIGTERM) == 0
    finally:
        publisher.stop()
        endpoint.close()
    seqs = written(broker, channel)
    assert seqs == list(range(1, last + 1))  # every seq once, in order
    assert endpoint.requests  # the restarts backfilled what they missed
    assert all(e["id"] == f"{channel}:{e['seq']}" for e in broker.events(channel))


def test_as_designs_line_without_event_every_event_is_sequenced_and_a_sigkill_loses_none(
        server: Soketi, broker: Broker, bridges: list[Bridge], unique: Any) -> None:
    channel = unique("cli-bridge-all")
    publisher = NumberedPublisher(server.sdk, channel, events=("tick", "trade", "quote"))
    endpoint = BackfillEndpoint(publisher)
    options = ("--seq", "seq", "--backfill-url", endpoint.url)  # DESIGN's line: no --event

    try:
        bridge = Bridge(server, broker, channel, *options)
        bridges.append(bridge)
        bridge.wait_line(lambda line: line == f"[bridge] {channel} every event: "
                         "from the first event")
        bridge.wait_subscribed()
        publisher.run(0.02)  # 50 events per second, three names under one seq
        wait_for(lambda: len(written(broker, channel)) >= 25, 30, READ_EVERY,
                 message=lambda: f"25 seqs written, have {len(written(broker, channel))}")
        bridge.kill()  # SIGKILL: whatever it had buffered is gone with it
        target = publisher.last + 25
        wait_for(lambda: publisher.last >= target, 30)  # published while no bridge runs
        in_broker = written(broker, channel)[-1]
        bridge = Bridge(server, broker, channel, *options)
        bridges.append(bridge)
        resumed = bridge.wait_line(lambda line: "resuming after seq" in line)
        assert resumed == f"[bridge] {channel} every event: resuming after seq {in_broker}"
        publisher.stop()
        last = publisher.last
        wait_written_up_to(broker, channel, last)
        assert bridge.stop(signal.SIGTERM) == 0
    finally:
        publisher.stop()
        endpoint.close()
    events = broker.events(channel)
    assert [e["seq"] for e in events] == list(range(1, last + 1))  # every seq once, in order
    assert [e["event"] for e in events] == [publisher.name_of(s) for s in range(1, last + 1)]
    assert all(e["id"] == f"{channel}:{e['seq']}" for e in events)
    assert endpoint.requests and all("event" not in q for q in endpoint.requests)
    assert {"channel": channel, "after": str(in_broker)} in endpoint.requests  # the restart


@pytest.mark.parametrize("extra, message", [
    (["--to", "ftp://127.0.0.1:1"], "redis:// or nats://"),
    (["--to", "redis://127.0.0.1:1", "--subject", "x.{channel}"], "--subject is for nats://"),
    (["--to", "nats://127.0.0.1:1", "--stream", "x:{channel}"], "--stream is for redis://"),
    (["--to", "redis://127.0.0.1:1", "--seq", "seq", "--event", "a", "--event", "b"],
     "--seq sequences one --event NAME"),
    (["--to", "redis://127.0.0.1:1", "--backfill-url", "http://127.0.0.1:9/"],
     "--backfill-url needs --seq"),
    (["--to", "redis://127.0.0.1:1", "--stream", "x:{chanel}"], "unknown placeholder"),
])
def test_bridge_options_are_checked_before_connecting(extra: list[str], message: str) -> None:
    done = subprocess.run([*CLI, "bridge", "key", "--host", "127.0.0.1", "--port", "9",
                           "--no-tls", "--channel", "c", *extra],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
