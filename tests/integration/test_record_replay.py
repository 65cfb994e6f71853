"""Record a real connection, then replay it through the normal client."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

import rxpusher
from helpers.soketi_harness import Collector

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "rxpusher"]


def test_record_then_replay_gives_the_same_events_in_order_with_their_timing(
        make_pusher, server, unique, tmp_path):
    name = unique("AAPL")
    path = tmp_path / "feed.jsonl"
    pusher = make_pusher()
    recording = pusher.record(path)
    live = Collector("live")
    live.subscribe_to(pusher.channel(name).events("price"))
    received: list[float] = []
    pusher.channel(name).events("price").subscribe(lambda _: received.append(time.monotonic()))
    pusher.channel(name).wait_subscribed(timeout=15)
    for i in range(6):
        server.sdk.trigger(name, "price", {"price": 100 + i})
        time.sleep(0.1 * (i % 3))  # uneven gaps, reproduced by the replay
    live.wait_count(6)
    recording.dispose()

    replayed = rxpusher.replay(path, auto_connect=False)
    got = Collector("replayed")
    got.subscribe_to(replayed.channel(name).events("price"))
    times: list[float] = []
    replayed.channel(name).events("price").subscribe(lambda _: times.append(time.monotonic()))
    replayed.connect()
    got.wait_count(6)
    assert got.snapshot() == live.snapshot() == [{"price": 100 + i} for i in range(6)]
    live_gaps = [b - a for a, b in zip(received, received[1:])]
    replay_gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(abs(a - b) < 0.05 for a, b in zip(live_gaps, replay_gaps)), (live_gaps, replay_gaps)
    replayed.close()


def _recording_listen(server, name, path, *extra: str) -> subprocess.Popen[str]:
    """``rxpusher listen -c NAME --record PATH``, once the channel is occupied on the server."""
    listen = subprocess.Popen(
        [*CLI, "listen", server.key, "-c", name, "--record", str(path), *extra,
         "--host", server.host, "--port", str(server.port), "--no-tls"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        server.wait_occupied(name, 15)
    except BaseException:
        listen.kill()
        raise
    return listen


def test_listen_record_then_cli_replay_prints_the_same_lines(server, unique, tmp_path):
    name = unique("AAPL")
    path = tmp_path / "cli.jsonl"
    listen = _recording_listen(server, name, path, "--count", "2")
    try:
        for n in (1, 2):
            server.sdk.trigger(name, "tick", {"n": n})
        out, _ = listen.communicate(timeout=30)
    finally:
        listen.kill()
    assert listen.returncode == 0
    done = subprocess.run([*CLI, "replay", str(path), "--speed", "0"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    strip = lambda text: [{k: v for k, v in json.loads(line).items()  # noqa: E731
                           if k not in ("received_at", "recorded_at")}
                          for line in text.splitlines()]
    recorded_at = [json.loads(line)["recorded_at"] for line in done.stdout.splitlines()]
    assert 0 < recorded_at[0] <= recorded_at[1] < 30  # seconds into the recording, not now
    assert strip(done.stdout) == strip(out) == [
        {"channel": name, "event": "tick", "data": {"n": n}, "user_id": None} for n in (1, 2)]


def test_listen_record_keeps_its_lines_when_terminated_by_sigterm(server, unique, tmp_path):
    """``timeout``, ``kill``, systemd and ``docker stop`` send SIGTERM: the recording kept
    0 bytes while events printed. Each line is on disk at once, and SIGTERM stops the
    command as Ctrl-C does."""
    name = unique("AAPL")
    path = tmp_path / "term.jsonl"
    listen = _recording_listen(server, name, path)
    try:
        for n in (1, 2, 3):
            server.sdk.trigger(name, "tick", {"n": n})
        assert listen.stdout is not None
        printed = [listen.stdout.readline() for _ in range(3)]
        assert all(line.strip() for line in printed)
        listen.send_signal(signal.SIGTERM)
        _, err = listen.communicate(timeout=30)
    finally:
        listen.kill()
    assert listen.returncode == 130, err
    assert "Traceback" not in err
    frames = [json.loads(json.loads(line)["frame"]) for line in path.read_text().splitlines()]
    ticks = [json.loads(f["data"]) for f in frames if f.get("event") == "tick"]
    assert ticks == [{"n": 1}, {"n": 2}, {"n": 3}]
