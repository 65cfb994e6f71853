"""Failing loudly, never storming, against real soketi: the README quickstart with a wrong
key or without a server prints one actionable line and ``run_forever()`` ends; a draining
soketi (SIGTERM: every attempt answered with 4200) sees backoff-spaced attempts."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rxpusher
from helpers.soketi_harness import Soketi, free_port, wait_for

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
QUICKSTART_LINE = 'pusher = Pusher("APP_KEY", cluster="eu")'


def quickstart(host: str) -> str:
    """The README's quickstart as a new user runs it, pointed at ``host`` (loopback)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert QUICKSTART_LINE in block
    return block.replace(QUICKSTART_LINE, f'pusher = Pusher("APP_KEY", host={host!r}, use_tls=False)')


def test_the_quickstart_with_a_wrong_key_prints_the_server_reason_and_ends(soketi_only):
    script = quickstart(f"{soketi_only.host}:{soketi_only.port}")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1  # run_forever() raised the refusal
    lines = [line for line in done.stderr.splitlines() if line.startswith("rxpusher:")]
    assert len(lines) == 1, done.stderr
    assert "App key APP_KEY does not exist" in lines[0] and "4001" in lines[0]
    assert "on_error" in lines[0]  # says how to handle it
    assert "ObserverError" not in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith(
        "rxpusher._exceptions.ServerRefusedError: connection refused by the server (4001): "
        "App key APP_KEY does not exist")


def test_the_quickstart_without_a_server_says_it_cannot_connect(tmp_path):
    """The same silence as with ``cluster="eu"`` and no network, on a loopback port that
    nobody listens on (never the internet)."""
    script = quickstart(f"127.0.0.1:{free_port()}").replace(
        "pusher.run_forever()", 'print("in run_forever", flush=True); pusher.run_forever()')
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        line = proc.stderr.readline()  # blocks until the first line: no sleep guess
        assert line.startswith("rxpusher: ConnectAttemptError: cannot connect to ws://127.0.0.1:")
        assert "(refused)" in line and "retries with backoff" in line
        assert proc.stdout.readline().strip() == "in run_forever"  # Ctrl-C lands in there
        proc.send_signal(signal.SIGINT)  # Ctrl-C ends run_forever()
        _, rest = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "rxpusher:" not in rest  # once, not once per attempt


def test_wait_connected_raises_the_refusal_with_soketi_reason(soketi_only):
    with rxpusher.Pusher("APP_KEY", host=f"{soketi_only.host}:{soketi_only.port}",
                         use_tls=False) as client:
        with pytest.raises(rxpusher.ConnectionRefused) as info:
            client.wait_connected(timeout=30)
    assert info.value.code == 4001
    assert "App key APP_KEY does not exist" in info.value.reason


def test_wait_connected_timeout_names_the_last_attempt_cause():
    with rxpusher.Pusher("k", host=f"127.0.0.1:{free_port()}", use_tls=False) as client:
        with pytest.raises(TimeoutError, match=r"last attempt: cannot connect .*\(refused\)"):
            client.wait_connected(timeout=2)


def test_the_cli_says_a_wrong_key_in_one_line(soketi_only):
    done = subprocess.run(
        [sys.executable, "-m", "rxpusher", "listen", "APP_KEY", "-c", "x", "--host",
         soketi_only.host, "--port", str(soketi_only.port), "--no-tls"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    problems = [line for line in done.stderr.splitlines() if not line.startswith("[")]
    assert len(problems) == 1, done.stderr
    assert "App key APP_KEY does not exist" in problems[0]


class _Attempts(logging.Handler):
    """Counts the connection attempts of the clients (``connecting to ...`` at INFO)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("connecting to "):
            self.count += 1


def test_a_draining_soketi_sees_backoff_spaced_attempts_not_a_storm():
    """After SIGTERM soketi answers every attempt with 4200 until it exits: 1,846 attempts
    in ~3 s before. Each client now backs off (the connection had not lasted
    activity_timeout), so in 3 s a client makes a handful of attempts."""
    server = Soketi(extra_env={"SOKETI_SHUTDOWN_GRACE_PERIOD": "3000"})
    server.start()
    clients = [rxpusher.Pusher(server.key, host=f"{server.host}:{server.port}", use_tls=False)
               for _ in range(5)]
    counter = _Attempts()
    logger = logging.getLogger("rxpusher")
    old_level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.INFO)
    errors: list[Exception] = []
    try:
        for client in clients:
            client.errors.subscribe(errors.append)
            client.wait_connected(timeout=30)
        counter.count = 0
        started = time.monotonic()
        server.stop(graceful=True)  # SIGTERM, then waits until soketi has exited
        drained = time.monotonic() - started
        wait_for(lambda: all(c.connection_state != "connected" for c in clients))
    finally:
        logger.removeHandler(counter)
        logger.setLevel(old_level)
        for client in clients:
            client.close()
        server.cleanup()
    assert drained >= 2.0, "soketi drained too fast to tell a storm from a backoff"
    # default Backoff: 0.5-1 s, 1-2 s, 2-4 s, ... -> at most 1 + drained / 0.5 each
    assert counter.count <= len(clients) * (2 + drained / 0.5), (counter.count, drained)
    server_errors = [e for e in errors if isinstance(e, rxpusher.ServerError)]
    assert len(server_errors) <= len(clients) * 2  # coalesced: one per client and minute


def test_listen_on_a_presence_channel_without_channel_data_says_what_to_pass():
    done = subprocess.run([sys.executable, "-m", "rxpusher", "listen", "--local", "-c",
                           "presence-x"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--channel-data" in done.stderr


def test_tls_to_soketi_plain_port_suggests_use_tls_false(soketi_only):
    """soketi waits for ever after a TLS hello on its plain port: the attempt times out."""
    with rxpusher.Pusher(soketi_only.key, host=f"{soketi_only.host}:{soketi_only.port}",
                         use_tls=True, connect_timeout=1) as client:
        with pytest.raises(TimeoutError, match=r"use_tls=False"):
            client.wait_connected(timeout=5)
