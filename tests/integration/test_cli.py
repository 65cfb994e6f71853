"""The command line against real servers: listen, trigger, demo, and user errors."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration

from helpers.cli import CLI, lines_of, wait_line  # noqa: E402 - shared with test_bridge_cli


def without_timestamp(line: str) -> dict:
    """A JSON line of ``listen`` without its ``received_at``, which is checked here."""
    event = json.loads(line)
    received_at = datetime.fromisoformat(event.pop("received_at"))
    assert received_at.tzinfo is not None and received_at.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - received_at).total_seconds()) < 60
    return event


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
    events = [without_timestamp(line) for line in out.splitlines()]
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
    # piped: plain lines, one per sample, no escape sequences, none wider than 80 columns
    done = subprocess.run([*CLI, "demo", "--seconds", "2"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "ev/s" in line]
    assert len(rows) >= 2
    assert "AAPL" in rows[-1] and "2 online" in rows[-1]
    assert "\x1b" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    received = int(done.stdout.strip().splitlines()[-1].split()[0])
    assert received > 0


def test_demo_redraws_in_place_on_a_terminal_within_80_columns():
    import pty
    import re

    master, slave = pty.openpty()
    demo = subprocess.Popen([*CLI, "demo", "--seconds", "2"], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env={**os.environ, "TERM": "xterm"})
    os.close(slave)
    screen = b""
    while True:  # until the demo exits and the terminal reports the end (EIO on Linux)
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    assert demo.wait(timeout=30) == 0
    text = screen.decode()
    assert "\x1b[5F" in text  # back to the top of the 5-line block: redrawn in place
    assert "online: trader, viewer" in text and "AAPL" in text and "APPL" not in text
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).replace("\r", "")
    assert max(len(line) for line in plain.split("\n")) <= 80


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
    assert without_timestamp(out) == {"channel": channel, "event": "hello",
                                      "data": {"via": how}, "user_id": None}


def test_serve_runs_a_server_that_listen_and_trigger_use_and_stops_cleanly_on_ctrl_c(unique):
    import signal

    from helpers.soketi_harness import free_port

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


# ---- against the local server (rxpusher.server.LocalServer) ---------------------------------

ESC = "\x1b"


@pytest.fixture(scope="module")
def local():
    from rxpusher.server import LocalServer

    with LocalServer() as server:  # app id 1, app-key, app-secret: the defaults of --local
        yield server


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without PUSHER_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHER_")}
    env.update(extra)
    return env


def start_listen(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, "listen", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or clean_env())


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60,
                          env=env or clean_env())


def test_listen_exits_quietly_when_its_reader_closes_stdout(local, unique):
    # rxpusher listen ... | head -n 1
    channel = unique("piped")
    listen = start_listen("--local", "--port", str(local.port), "--channel", channel)
    try:
        wait_line(lines_of(listen.stderr), lambda line: line == f"[{channel}: subscribed]")
        local.trigger(channel, "tick", {"n": 0})
        assert json.loads(listen.stdout.readline())["data"] == {"n": 0}
        listen.stdout.close()  # what head does after its first line
        for n in range(1, 200):  # the next write finds the pipe closed
            local.trigger(channel, "tick", {"n": n})
            try:
                listen.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
        err = listen.stderr.read()
    finally:
        listen.kill()
    assert listen.returncode == 141
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


@pytest.mark.parametrize("command", [
    ["serve", "--port", "70000"],
    ["serve", "--port", "-1"],
    ["listen", "--local", "--channel", "c", "--port", "70000"],
    ["listen", "--local", "--channel", "c", "--port", "0"],
    ["trigger", "--local", "--port", "65536", "c", "e", "{}"],
    ["trigger", "--local", "--port", "http", "c", "e", "{}"],
])
def test_ports_are_validated_in_every_command(command):
    done = run_cli(*command)
    assert done.returncode == 2
    assert "argument --port: port must be" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_has_one_parser_for_both_command_lines():
    module = [sys.executable, "-m", "rxpusher.server"]
    for args in (["--help"], ["--port", "70000"], ["--app-id", "x"], ["--bogus"]):
        as_command = run_cli("serve", *args)
        as_module = subprocess.run([*module, *args], capture_output=True, text=True, timeout=60)
        assert (as_command.returncode, as_command.stdout, as_command.stderr) == (
            as_module.returncode, as_module.stdout, as_module.stderr), args
    assert "-v, --verbose" in run_cli("serve", "--help").stdout


def test_serve_cannot_listen_on_a_busy_port_in_one_line(local):
    done = run_cli("serve", "--port", str(local.port))
    assert done.returncode == 1
    assert done.stderr.startswith(f"rxpusher serve: error: cannot listen on 127.0.0.1:{local.port}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_local_gives_the_defaults_of_serve_to_listen_and_trigger(local, unique):
    channel = unique("private-local")  # signed with --local's secret, app-secret
    listen = start_listen("--local", "--port", str(local.port), "--channel", channel,
                          "--count", "1")
    try:
        wait_line(lines_of(listen.stderr), lambda line: line == f"[{channel}: subscribed]")
        sent = run_cli("trigger", "--local", "--port", str(local.port), channel, "hi", "[1]")
        assert sent.returncode == 0, sent.stderr
        out, _ = listen.communicate(timeout=30)
    finally:
        listen.kill()
    assert listen.returncode == 0
    assert without_timestamp(out) == {"channel": channel, "event": "hi", "data": [1],
                                      "user_id": None}


def test_settings_come_from_pusher_environment_variables(local, unique, tmp_path):
    channel = unique("private-env")
    env = clean_env(PUSHER_APP_ID=local.app_id, PUSHER_APP_KEY=local.key,
                    PUSHER_APP_SECRET=local.secret, PUSHER_HOST="127.0.0.1")
    listen = start_listen("--port", str(local.port), "--no-tls", "--channel", channel,
                          "--count", "1", env=env)
    try:
        wait_line(lines_of(listen.stderr), lambda line: line == f"[{channel}: subscribed]")
        sent = run_cli("trigger", "--port", str(local.port), "--no-tls", channel, "hi", "1",
                       env=env)
        assert sent.returncode == 0, sent.stderr
        out, _ = listen.communicate(timeout=30)
    finally:
        listen.kill()
    assert without_timestamp(out)["data"] == 1
    # an option wins over the environment
    wrong = run_cli("trigger", "--port", str(local.port), "--no-tls", "--secret", "wrong",
                    channel, "hi", "1", env=env)
    assert wrong.returncode == 1 and "401" in wrong.stderr


def test_missing_settings_name_the_option_and_the_variable():
    done = run_cli("trigger", "c", "e", "{}")
    assert done.returncode == 2
    assert done.stderr.strip() == ("rxpusher: error: no app id: give --app-id, set "
                                   "PUSHER_APP_ID or use --local")
    done = run_cli("listen", "--channel", "c")
    assert done.returncode == 2 and "PUSHER_APP_KEY" in done.stderr


def test_the_secret_can_come_from_a_file_and_help_says_how(local, unique, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(local.secret + "\n")
    channel = unique("private-file")
    sent = run_cli("trigger", "--app-id", local.app_id, "--key", local.key,
                   "--secret-file", str(secret_file), "--host", "127.0.0.1",
                   "--port", str(local.port), "--no-tls", channel, "e", "{}")
    assert sent.returncode == 0, sent.stderr
    listen = start_listen(local.key, "--secret-file", str(secret_file), "--host", "127.0.0.1",
                          "--port", str(local.port), "--no-tls", "--channel", channel)
    try:
        wait_line(lines_of(listen.stderr), lambda line: line == f"[{channel}: subscribed]")
    finally:
        listen.kill()
        listen.communicate()
    missing = run_cli("trigger", "--local", "--secret-file", str(tmp_path / "nope"), "c", "e", "1")
    assert missing.returncode == 2 and "cannot read --secret-file" in missing.stderr
    for command in ("listen", "trigger"):
        help_text = " ".join(run_cli(command, "--help").stdout.split())
        assert "PUSHER_APP_SECRET" in help_text and "--secret-file" in help_text


def test_trigger_errors_are_one_short_line_without_the_signed_url(local):
    from helpers.soketi_harness import free_port

    unreachable = run_cli("trigger", "--local", "--port", str(free_port()), "c", "e", "{}")
    wrong_secret = run_cli("trigger", "--local", "--port", str(local.port), "--secret", "bad",
                           "c", "e", "{}")
    for done in (unreachable, wrong_secret):
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert len(done.stderr) < 200
        for leak in ("auth_signature", "auth_key", "/apps/", "Traceback"):
            assert leak not in done.stderr
    assert "connection refused" in unreachable.stderr
    assert "answered 401" in wrong_secret.stderr


def test_listen_verbose_shows_connection_attempts_and_their_causes():
    from helpers.soketi_harness import free_port

    port = free_port()  # nobody listens there
    listen = start_listen("--local", "--port", str(port), "--channel", "c", "-v")
    try:
        errors = lines_of(listen.stderr)
        wait_line(errors, lambda line: f"connecting to ws://127.0.0.1:{port}/app/app-key" in line)
        wait_line(errors, lambda line: "refused" in line.lower())
        wait_line(errors, lambda line: "reconnecting in" in line)
    finally:
        listen.kill()
        listen.communicate()


def test_serve_verbose_logs_connections_subscriptions_and_events(unique):
    serve = subprocess.Popen([*CLI, "serve", "--port", "0", "-v"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=clean_env())
    listen = None
    try:
        banner = wait_line(lines_of(serve.stdout), lambda line: "WebSocket:" in line)
        port = banner.rsplit(":", 1)[1].split("/")[0]
        logs = lines_of(serve.stderr)
        channel = unique("logged")
        listen = start_listen("--local", "--port", port, "--channel", channel, "--count", "1")
        wait_line(logs, lambda line: line.endswith(" connected"))
        wait_line(logs, lambda line: line.endswith(f"subscribed to {channel}"))
        assert run_cli("trigger", "--local", "--port", port, channel, "ping", "1").returncode == 0
        wait_line(logs, lambda line: f"event 'ping' on {channel}" in line)
        listen.communicate(timeout=30)
        wait_line(logs, lambda line: line.endswith(" disconnected"))
    finally:
        serve.kill()
        serve.communicate()
        if listen is not None:
            listen.kill()
            listen.communicate()


def rest_of(q: "queue.Queue[str | None]", timeout: float = 30.0) -> str:
    """Every line left until the end of the stream."""
    lines = []
    while (line := q.get(timeout=timeout)) is not None:
        lines.append(line)
    return "\n".join(lines)


def test_listen_escapes_control_characters_the_server_sends(local, unique):
    channel = unique("escaped")
    listen = start_listen("--local", "--port", str(local.port), "--channel", channel)
    try:
        errors = lines_of(listen.stderr)
        wait_line(errors, lambda line: line == f"[{channel}: subscribed]")
        local.close_connections(4009, f"{ESC}]0;owned{ESC}\\{ESC}[2J\rgone")
        err = rest_of(errors)
        listen.wait(timeout=30)
    finally:
        listen.kill()
    assert listen.returncode == 1
    assert ESC not in err and "\r" not in err
    assert "\\x1b]0;owned" in err
    assert "\\x0dgone" in err or "\\rgone" in err  # escaped by the CLI or by the client


def listen_with_backfill(soketi, publisher, *extra):
    """``listen --seq seq --backfill-url`` (and ``extra``) on the publisher's channel while it
    publishes 1..5, loses 6..8 on the way and publishes 9..10: (printed lines without their
    timestamp, the backfill endpoint's requests)."""
    from helpers.numbered_publisher import BackfillEndpoint

    channel = publisher.channel
    endpoint = BackfillEndpoint(publisher)
    listen = subprocess.Popen(
        [*CLI, "listen", soketi.key, "--channel", channel, *extra, "--seq", "seq",
         "--backfill-url", endpoint.url, "--count", "10", *server_args(soketi)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        errors = lines_of(listen.stderr)
        wait_line(errors, lambda line: line == f"[{channel}: subscribed]")
        publisher.publish(5)
        publisher.record_only(3)        # 6..8 never reach the server
        publisher.publish(2)
        out, err = listen.communicate(timeout=30)
    finally:
        listen.kill()
        endpoint.close()
    assert listen.returncode == 0, err
    return [without_timestamp(line) for line in out.splitlines()], endpoint.requests


def test_listen_seq_backfills_what_never_arrived_and_prints_it_in_order(soketi, unique):
    from helpers.numbered_publisher import NumberedPublisher

    channel = unique("cli-seq")
    printed, requests = listen_with_backfill(soketi, NumberedPublisher(soketi.sdk, channel),
                                             "--event", "tick")
    assert [p["data"]["seq"] for p in printed] == list(range(1, 11))
    assert {(p["channel"], p["event"]) for p in printed} == {(channel, "tick")}
    assert requests == [{"channel": channel, "event": "tick", "after": "5", "before": "9"}]


def test_listen_seq_without_event_prints_the_channel_wide_sequence(soketi, unique):
    from helpers.numbered_publisher import NumberedPublisher

    channel = unique("cli-seq-all")
    publisher = NumberedPublisher(soketi.sdk, channel, events=("tick", "trade", "quote"))
    printed, requests = listen_with_backfill(soketi, publisher)
    assert [p["data"]["seq"] for p in printed] == list(range(1, 11))  # no protocol event
    assert [p["event"] for p in printed] == [publisher.name_of(s) for s in range(1, 11)]
    assert {p["channel"] for p in printed} == {channel}
    assert requests == [{"channel": channel, "after": "5", "before": "9"}]


def listen_with_a_gap(soketi, publisher, *extra):
    """``listen --seq seq`` (and ``extra``, no backfill) while the publisher publishes 1..2,
    loses 3..5 on the way and publishes 6..7: (the gap line, the printed lines)."""
    channel = publisher.channel
    listen = subprocess.Popen(
        [*CLI, "listen", soketi.key, "--channel", channel, *extra, "--seq", "seq",
         "--count", "4", *server_args(soketi)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        errors = lines_of(listen.stderr)
        wait_line(errors, lambda line: line == f"[{channel}: subscribed]")
        publisher.publish(2)
        publisher.record_only(3)
        publisher.publish(2)
        gap = wait_line(errors, lambda line: line.startswith("[gap"))
        out, _ = listen.communicate(timeout=30)
    finally:
        listen.kill()
    return gap, [json.loads(line) for line in out.splitlines()]


def test_listen_seq_without_event_prints_a_gap_of_the_channel(soketi, unique):
    from helpers.numbered_publisher import NumberedPublisher

    channel = unique("cli-gap-all")
    publisher = NumberedPublisher(soketi.sdk, channel, events=("tick", "trade"))
    gap, printed = listen_with_a_gap(soketi, publisher)
    assert gap == f"[gap {channel}: 3..5 missing (3)]"
    assert [(p["event"], p["data"]["seq"]) for p in printed] == [
        ("tick", 1), ("trade", 2), ("trade", 6), ("tick", 7)]


def test_listen_seq_prints_each_gap_as_one_line(soketi, unique):
    from helpers.numbered_publisher import NumberedPublisher

    channel = unique("cli-gap")
    gap, printed = listen_with_a_gap(soketi, NumberedPublisher(soketi.sdk, channel),
                                     "--event", "tick")
    assert gap == f"[gap {channel} tick: 3..5 missing (3)]"
    assert [p["data"]["seq"] for p in printed] == [1, 2, 6, 7]


def test_listen_seq_options_are_checked(soketi):
    for extra, message in ((["--backfill-url", "http://127.0.0.1:9/x"], "--backfill-url needs"),
                           (["--seq", "seq", "--event", "e", "--backfill-url", "ftp://x"],
                            "http:// or https://")):
        done = subprocess.run([*CLI, "listen", soketi.key, "--channel", "c", *extra,
                               *server_args(soketi)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
