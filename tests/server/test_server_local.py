"""In-process use: LocalServer, the pytest plugin, serve() and main()."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pusher
import pytest
from helpers.raw_pusher_client import RawClient

import rxpusher.server
from rxpusher.server import LocalServer, main

#: Where the tested ``rxpusher`` is imported from, for the subprocesses.
IMPORT_ROOT = Path(rxpusher.server.__file__).parents[2]


_OTHERS: set[threading.Thread] = set()


@pytest.fixture(autouse=True)
def _servers_started_elsewhere() -> None:
    """Servers of other test modules (session fixtures) may run meanwhile: not ours."""
    _OTHERS.clear()
    _OTHERS.update(t for t in threading.enumerate() if t.name == "rxpusher-local-server")


def server_threads() -> list[threading.Thread]:
    """Local-server threads started by this test."""
    return [t for t in threading.enumerate()
            if t.name == "rxpusher-local-server" and t not in _OTHERS]


def test_context_manager_starts_on_a_free_port_and_leaves_no_thread() -> None:
    with LocalServer(app_id="77", key="k", secret="s") as server:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert (server.app_id, server.key, server.secret) == ("77", "k", "s")
        assert server.client_options() == {"host": "127.0.0.1", "ws_port": server.port,
                                           "use_tls": False}
        assert server.ws_url == f"ws://127.0.0.1:{server.port}/app/k"
        assert server_threads()
        RawClient(server.ws_url).close()
    assert not server_threads()
    server.stop()


def test_trigger_helper_accepts_one_or_many_channels_and_any_data(
        pusher_server: LocalServer) -> None:
    client = RawClient(pusher_server.ws_url)
    client.subscribe("one")
    client.subscribe("two")
    pusher_server.trigger("one", "text", "plain")
    pusher_server.trigger(["one", "two"], "object", {"a": [1]})
    assert [client.next() for _ in range(3)] == [
        {"event": "text", "channel": "one", "data": "plain"},
        {"event": "object", "channel": "one", "data": json.dumps({"a": [1]})},
        {"event": "object", "channel": "two", "data": json.dumps({"a": [1]})}]
    client.close()


def test_trigger_helper_excludes_a_socket(pusher_server: LocalServer) -> None:
    client = RawClient(pusher_server.ws_url)
    client.subscribe("c")
    pusher_server.trigger("c", "e", "d", socket_id=client.socket_id)
    assert client.sync() == []
    client.close()


def test_sdk_options_work_with_the_official_sdk(pusher_server: LocalServer) -> None:
    assert pusher.Pusher(**pusher_server.sdk_options()).channels_info() == {"channels": {}}


def test_misuse_is_reported() -> None:
    server = LocalServer()
    with pytest.raises(RuntimeError):
        server.socket_ids()
    with server, pytest.raises(RuntimeError):
        server.start()
    with pytest.raises(RuntimeError):
        server.trigger("c", "e", "d")


def test_port_in_use_fails_cleanly() -> None:
    with LocalServer() as first, pytest.raises(OSError):
        LocalServer(port=first.port).start()
    assert not server_threads()


def test_wait_for_times_out() -> None:
    with LocalServer() as server, pytest.raises(TimeoutError):
        server.wait_for(lambda: False, timeout=0.05)


def test_pytest_plugin_provides_the_fixture(tmp_path: Path) -> None:
    (tmp_path / "test_uses_plugin.py").write_text(textwrap.dedent("""
        def test_x(pusher_server):
            assert pusher_server.port > 0
            assert pusher_server.client_options()["use_tls"] is False
    """))
    # installed, the plugin loads by its pytest11 entry point; from a bare checkout, by -p
    from importlib.metadata import entry_points

    installed = any(ep.value == "rxpusher.server.pytest_plugin"
                    for ep in entry_points(group="pytest11"))
    load = [] if installed else ["-p", "rxpusher.server.pytest_plugin"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *load, "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env=_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_main_rejects_a_non_numeric_app_id(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--app-id", "abc"])
    assert exited.value.code == 2
    assert "argument --app-id: app id must be digits" in capsys.readouterr().err


def test_main_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with LocalServer() as busy:
        assert main(["--port", str(busy.port)]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_python_m_serves_until_ctrl_c() -> None:
    port = _free_port()
    with subprocess.Popen(
            [sys.executable, "-m", "rxpusher.server", "--port", str(port), "--key", "cli-key"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            banner = [process.stdout.readline() for _ in range(4)]
            assert f"ws://127.0.0.1:{port}/app/cli-key" in "".join(banner)
            client = RawClient(f"ws://127.0.0.1:{port}/app/cli-key")
            process.send_signal(signal.SIGINT)
            assert client.next()["data"]["code"] == 4200
            client.close()
            assert process.wait(timeout=10) == 0
            assert "Traceback" not in process.stderr.read()
        finally:
            process.kill()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(IMPORT_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def test_chunked_trigger_sends_a_large_payload_as_parts_that_join_back(
        pusher_server: LocalServer) -> None:
    client = RawClient(pusher_server.ws_url)
    client.subscribe("reports")
    payload = {"rows": [{"n": i, "text": f"row \"{i}\" é"} for i in range(2_500)]}
    text = json.dumps(payload)
    assert len(text) > 50_000
    pusher_server.trigger("reports", "report", payload, chunked=True)
    pusher_server.trigger("reports", "small", {"a": 1}, chunked=True)
    frames = client.sync()
    parts = [json.loads(f["data"]) for f in frames if f["event"] == "chunked-report"]
    assert len(parts) == len(frames) - 1 > 5
    for frame in frames[:-1]:
        assert len(frame["data"].encode()) <= 10_240
    assert [p["index"] for p in parts] == list(range(len(parts)))
    assert [p["final"] for p in parts][-1] is True and not any(p["final"] for p in parts[:-1])
    assert len({p["id"] for p in parts}) == 1
    assert json.loads("".join(p["chunk"] for p in parts)) == payload
    # a payload within the limit goes out as it is
    assert frames[-1] == {"event": "small", "channel": "reports", "data": json.dumps({"a": 1})}
    client.close()
