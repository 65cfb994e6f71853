"""The command line against real servers: listen, trigger, demo, and user errors."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading

import pytest

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "rxpusher"]


def lines_of(stream) -> "queue.Queue[str]":
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return q


def wait_line(q: "queue.Queue[str]", predicate, timeout: float = 15.0) -> str:
    seen = []
    while True:
        try:
            line = q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no matching line within {timeout}s; saw {seen}") from None
        seen.append(line)
        if predicate(line):
            return line


def server_args(soketi) -> list[str]:
    return ["--host", soketi.host, "--port", str(soketi.port), "--no-tls"]


def test_listen_prints_events_sent_with_trigger(soketi, unique):
    channel = unique("private-cli")
    listen = subprocess.Popen(
        [*CLI, "listen", soketi.key, "--channel", channel, "--secret", soketi.secret,
         "--count", "2", *server_args(soketi)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        errors = lines_of(listen.stderr)
        wait_line(errors, lambda line: line == f"[{channel}: subscribed]")
        for n in (1, 2):
            done = subprocess.run(
                [*CLI, "trigger", "--app-id", soketi.app_id, "--key", soketi.key,
                 "--secret", soketi.secret, *server_args(soketi), channel, "tick",
                 json.dumps({"n": n})],
                capture_output=True, text=True, timeout=30,
            )
            assert done.returncode == 0, done.stderr
        out, _ = listen.communicate(timeout=30)
    finally:
        listen.kill()
    assert listen.returncode == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert events == [
        {"channel": channel, "event": "tick", "data": {"n": 1}, "user_id": None},
        {"channel": channel, "event": "tick", "data": {"n": 2}, "user_id": None},
    ]


def test_listen_exits_non_zero_with_a_clear_message_when_refused(soketi):
    done = subprocess.run(
        [*CLI, "listen", "no-such-key", "--channel", "x", *server_args(soketi)],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 1
    assert "refused" in done.stderr and "4001" in done.stderr
    assert "Traceback" not in done.stderr


def test_trigger_with_a_wrong_secret_reports_the_server_answer(soketi):
    done = subprocess.run(
        [*CLI, "trigger", "--app-id", soketi.app_id, "--key", soketi.key, "--secret", "wrong",
         *server_args(soketi), "c", "e", "{}"],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 1
    assert "401" in done.stderr and "Traceback" not in done.stderr


def test_user_errors_are_one_line_without_traceback():
    done = subprocess.run([*CLI, "listen", "key", "--channel", "bad name!"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "rxpusher: error:" in done.stderr and "Traceback" not in done.stderr


def test_demo_streams_live_output_and_stops_by_itself():
    done = subprocess.run([*CLI, "demo", "--seconds", "2"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "ev/s" in line]
    assert len(rows) >= 2
    assert "APPL" in rows[-1] and "online: trader,viewer" in rows[-1]
    received = int(done.stdout.strip().splitlines()[-1].split()[0])
    assert received > 0


def test_listen_exits_non_zero_when_every_channel_fails(soketi):
    done = subprocess.run(
        [*CLI, "listen", soketi.key, "--channel", "private-no-auth", *server_args(soketi)],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 1
    assert "private-no-auth" in done.stderr and "authorization" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("how", ["auth-endpoint", "secret-presence"])
def test_listen_subscribes_private_and_presence_channels(soketi, auth_server, unique, how):
    if how == "auth-endpoint":
        channel = unique("private-cli-endpoint")
        auth = ["--auth-endpoint", auth_server.url]
    else:
        channel = unique("presence-cli")
        auth = ["--secret", soketi.secret, "--channel-data", '{"user_id": 7, "user_info": {"n": 1}}']
    listen = subprocess.Popen(
        [*CLI, "listen", soketi.key, "--channel", channel, *auth, "--count", "1",
         *server_args(soketi)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_line(lines_of(listen.stderr), lambda line: line == f"[{channel}: subscribed]")
        if how == "secret-presence":
            assert soketi.users(channel) == {"7"}  # joined with --channel-data, id as string
        soketi.sdk.trigger(channel, "hello", {"via": how})
        out, _ = listen.communicate(timeout=30)
    finally:
        listen.kill()
    assert listen.returncode == 0
    assert json.loads(out) == {"channel": channel, "event": "hello", "data": {"via": how},
                               "user_id": None}


def test_serve_runs_a_server_that_listen_and_trigger_use_and_stops_cleanly_on_ctrl_c(unique):
    import signal

    from soketi_harness import free_port

    port = str(free_port())
    serve = subprocess.Popen(
        [*CLI, "serve", "--port", port, "--app-id", "5", "--key", "k5", "--secret", "s5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    listen = None
    try:
        wait_line(lines_of(serve.stdout), lambda line: "Press Ctrl-C" in line)
        channel = unique("served")
        local = ["--host", "127.0.0.1", "--port", port, "--no-tls"]
        listen = subprocess.Popen([*CLI, "listen", "k5", "--channel", channel, "--count", "1", *local],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_line(lines_of(listen.stderr), lambda line: line == f"[{channel}: subscribed]")
        sent = subprocess.run([*CLI, "trigger", "--app-id", "5", "--key", "k5", "--secret", "s5",
                               *local, channel, "ping", '"pong"'],
                              capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        out, _ = listen.communicate(timeout=30)
        assert json.loads(out)["data"] == "pong"
        serve.send_signal(signal.SIGINT)
        _, err = serve.communicate(timeout=30)
        assert serve.returncode in (0, 130)
        assert "Traceback" not in err
    finally:
        serve.kill()
        if listen is not None:
            listen.kill()
