"""Integration-test harness: a real soketi server, the official ``pusher`` SDK and a
local auth endpoint.

Everything here runs on loopback only. soketi is started from ``tests/servers`` (``npm ci``
there installs it) in its own process group; every process group started here is terminated
by the fixture finalizers and, as a last resort, by an ``atexit`` hook, so no soketi outlives
the test session.

Waiting is always done on a condition with a deadline (``wait_for``, ``Collector.wait``),
never with a fixed sleep.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs

from rxpusher.testing import Recorder, wait_until

HOST = "127.0.0.1"
DEFAULT_TIMEOUT = 10.0
SERVERS_DIR = Path(__file__).resolve().parent.parent / "servers"
SOKETI_BIN = SERVERS_DIR / "node_modules" / ".bin" / "soketi"



# --------------------------------------------------------------------------------------------
# Waiting helpers
# --------------------------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.01,
    message: str | Callable[[], str] = "condition",
) -> Any:
    """Poll ``predicate`` until it returns a truthy value (returned) or the deadline passes
    (:func:`rxpusher.testing.wait_until`, with a message computed only on failure)."""
    try:
        return wait_until(predicate, timeout, interval)
    except AssertionError:
        text = message() if callable(message) else message
        raise AssertionError(f"timed out after {timeout}s waiting for {text}") from None


Collector = Recorder
"""The thread-safe recording observer of :mod:`rxpusher.testing`."""


def wait_state(pusher: Any, state: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Wait until the client's connection state is ``state``."""
    wait_for(
        lambda: pusher.connection_state == state,
        timeout,
        message=lambda: f"connection state {state!r} (now {pusher.connection_state!r})",
    )


def wait_subscribed(channel: Any, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Wait until ``channel.subscribed`` is true (the server confirmed the subscription)."""
    wait_for(
        lambda: channel.subscribed,
        timeout,
        message=lambda: f"channel {channel.name!r} to be subscribed",
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_is_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# soketi
# --------------------------------------------------------------------------------------------

_LIVE_PROCESSES: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the group we created with start_new_session=True
    except ProcessLookupError:
        pass


def _reap(proc: subprocess.Popen[bytes], graceful_timeout: float = 5.0) -> None:
    if proc.poll() is None:
        _kill_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=graceful_timeout)
        except subprocess.TimeoutExpired:
            pass
    # Whatever is left of the group (the leader may have exited before its children).
    _kill_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL always wins
        pass
    with _LIVE_LOCK:
        _LIVE_PROCESSES.discard(proc)


def _orphan_proof(argv: list[str]) -> list[str]:
    """Have the kernel kill the server if this process dies without running any finalizer
    (SIGKILL, os._exit): ``setpriv --pdeathsig`` where util-linux provides it."""
    setpriv = shutil.which("setpriv")
    if setpriv and sys.platform.startswith("linux"):
        return [setpriv, "--pdeathsig", "KILL", "--", *argv]
    return argv


def spawn(
    argv: list[str], *, cwd: Path, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group (so that exactly that group can be killed),
    orphan-proof, with stdout and stderr appended to ``log_path``; it is registered for the
    ``atexit`` reaper. Stop it with ``reap(proc)``."""
    log = open(log_path, "ab")
    try:
        proc = subprocess.Popen(
            _orphan_proof(argv),
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: we kill exactly this group
        )
    finally:
        log.close()
    with _LIVE_LOCK:
        _LIVE_PROCESSES.add(proc)
    return proc


#: Public name of the reaper, for the other harness modules.
reap = _reap


@atexit.register
def _reap_all() -> None:
    with _LIVE_LOCK:
        procs = list(_LIVE_PROCESSES)
    for proc in procs:
        _reap(proc, graceful_timeout=2.0)


class ServerHarness:
    """What every integration-test server offers, whatever runs it (soketi or the local
    ``rxpusher.server``): credentials, ``client_options()``, the official SDK pointed at it
    and HTTP-API queries through that SDK.

    Subclasses set ``host``, ``port``, ``app_id``, ``key``, ``secret`` and implement
    ``start()``, ``stop(graceful=True)``, ``running`` and ``cleanup()``.
    """

    #: Short name of the implementation, also the pytest id of the parametrized fixtures.
    kind = "server"
    host: str
    port: int
    app_id: str
    key: str
    secret: str
    _sdk: Any = None

    # lifecycle (implemented by subclasses) --------------------------------------------------
    @property
    def running(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self, graceful: bool = True) -> None:
        raise NotImplementedError

    def restart(self, graceful: bool = True) -> None:
        self.stop(graceful=graceful)
        self.start()

    def cleanup(self) -> None:
        self.stop()

    def log(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {self.host}:{self.port}>"

    # addresses and clients ------------------------------------------------------------------
    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/app/{self.key}"

    def client_options(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``rxpusher.Pusher(server.key, **opts)``."""
        opts: dict[str, Any] = {"host": self.host, "ws_port": self.port, "use_tls": False}
        opts.update(overrides)
        return opts

    @property
    def sdk(self) -> Any:
        """The official server SDK, pointed at this server."""
        if self._sdk is None:
            import pusher as pusher_sdk

            self._sdk = pusher_sdk.Pusher(
                app_id=self.app_id,
                key=self.key,
                secret=self.secret,
                host=self.host,
                port=self.port,
                ssl=False,
                timeout=5,
            )
        return self._sdk

    # HTTP API queries -----------------------------------------------------------------------
    def channels(self, prefix: str | None = None) -> set[str]:
        """Names of the occupied channels, as the server sees them."""
        info = self.sdk.channels_info(prefix_filter=prefix)
        return set(info.get("channels", {}).keys())

    def channel_info(self, name: str) -> dict[str, Any]:
        return dict(self.sdk.channel_info(name, ["subscription_count"]))

    def users(self, channel: str) -> set[str]:
        return {str(u["id"]) for u in self.sdk.users_info(channel).get("users", [])}

    def wait_occupied(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        wait_for(
            lambda: name in self.channels(), timeout, 0.02, f"{name!r} occupied on the server"
        )

    def wait_vacant(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        wait_for(
            lambda: name not in self.channels(), timeout, 0.02, f"{name!r} vacant on the server"
        )


class Soketi(ServerHarness):
    """One soketi process on loopback, restartable on the same ports."""

    kind = "soketi"

    def __init__(
        self,
        *,
        app_id: str = "424242",
        key: str = "rxpusher-key",
        secret: str = "rxpusher-secret",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        host: str = HOST,
        cwd: Path = SERVERS_DIR,
    ) -> None:
        """``host``: the loopback address to listen on; ``cwd``: the working directory (soketi
        reads ``./.env`` there, so nodes of a cluster each get their own)."""
        if not SOKETI_BIN.exists():
            raise RuntimeError(
                f"soketi is not installed at {SOKETI_BIN}: run `npm ci` in {SERVERS_DIR}"
            )
        self.host = host
        self.cwd = cwd
        self.port = port or free_port()
        self.metrics_port = free_port()
        while self.metrics_port == self.port:
            self.metrics_port = free_port()
        self.app_id = app_id
        self.key = key
        self.secret = secret
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix=f"soketi-{self.port}-", suffix=".log")[1])
        self.starts = 0
        self._sdk: Any = None

    # lifecycle ------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "SOKETI_HOST": self.host,
                "SOKETI_PORT": str(self.port),
                "SOKETI_METRICS_SERVER_PORT": str(self.metrics_port),
                "SOKETI_METRICS_ENABLED": "false",
                "SOKETI_DEFAULT_APP_ID": self.app_id,
                "SOKETI_DEFAULT_APP_KEY": self.key,
                "SOKETI_DEFAULT_APP_SECRET": self.secret,
                "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
                "SOKETI_DEFAULT_APP_USER_AUTHENTICATION": "true",
                # -1 = no limit (also soketi's default; set explicitly so bursts never hit it).
                "SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC": "-1",
                "SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC": "-1",
                "SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC": "-1",
                "SOKETI_DEFAULT_APP_MAX_CONNS": "-1",
                # With user authentication on, soketi closes (4009, no reconnect) sockets that
                # neither sign in nor join a private channel within this time: keep it long.
                "SOKETI_USER_AUTHENTICATION_TIMEOUT": "600000",
                # Graceful stop: soketi closes every socket with 4200, then waits this long.
                "SOKETI_SHUTDOWN_GRACE_PERIOD": "100",
                "SOKETI_DEBUG": "false",
            }
        )
        env.update(self.extra_env)
        return env

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start soketi (on the same ports as before) and wait until it serves /ready."""
        if self.running:
            return
        # The port must be free again (a just-stopped server may still hold it briefly).
        wait_for(
            lambda: not port_is_open(self.port, self.host), 10, message=f"port {self.port} free"
        )
        self.proc = spawn(
            [str(SOKETI_BIN), "start"], cwd=self.cwd, env=self.env(), log_path=self.log_path
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"soketi exited with {self.proc.returncode} during start-up:\n{self.log()}"
                )
            if time.monotonic() >= deadline:
                self.stop()
                raise RuntimeError(f"soketi not ready after {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http_url}/ready", timeout=0.5) as resp:
                return resp.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def stop(self, graceful: bool = True) -> None:
        """Stop soketi. ``graceful``: SIGTERM (soketi closes every socket with 4200);
        otherwise SIGKILL (sockets drop without a close frame)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if not graceful:
            _kill_group(proc, signal.SIGKILL)
        _reap(proc)
        wait_for(
            lambda: not port_is_open(self.port, self.host), 10, message=f"port {self.port} closed"
        )

    def cleanup(self) -> None:
        """Stop the server and remove its log file."""
        self.stop()
        try:
            self.log_path.unlink()
        except OSError:
            pass

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


# --------------------------------------------------------------------------------------------
# Auth endpoint
# --------------------------------------------------------------------------------------------


@dataclass
class AuthRequest:
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    raw_body: str
    status: int = 0  # what the endpoint answered


@dataclass
class AuthBehaviour:
    """How the endpoint answers; tests change it through ``auth_server.behaviour``."""

    required_headers: dict[str, str] = field(default_factory=dict)
    required_params: dict[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    status: int | None = None  # force this status (with an error body) on every request
    fail_first: int = 0  # answer ``fail_status`` to the first N requests, then sign
    fail_status: int = 403
    raw_body: str | None = None  # answer 200 with this raw body instead of signing
    deny_channels: set[str] = field(default_factory=set)  # answer 403 for these channels
    # presence member from the request (default: params user_id / user_name, else generated)
    member: Callable[[dict[str, str]], dict[str, Any]] | None = None


class AuthServer:
    """A local channel-authorization endpoint signing with the official SDK."""

    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk
        self.behaviour = AuthBehaviour()
        self.requests: list[AuthRequest] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._counter = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                status, payload = outer._handle(self.path, dict(self.headers.items()), body)
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://{HOST}:{self.port}/pusher/auth"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="test-auth-server",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    # request handling -----------------------------------------------------------------------
    def _handle(self, path: str, headers: dict[str, str], body: str) -> tuple[int, str]:
        params = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        req = AuthRequest(path=path, params=params, headers=headers, raw_body=body)
        status, payload = self._answer(req)
        req.status = status
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()
        return status, payload

    def _answer(self, req: AuthRequest) -> tuple[int, str]:
        b = self.behaviour
        lower = {k.lower(): v for k, v in req.headers.items()}
        if b.status is not None:
            return b.status, json.dumps({"error": f"forced {b.status}"})
        with self._lock:
            self._counter += 1
            n = self._counter
        if n <= b.fail_first:
            return b.fail_status, json.dumps({"error": f"failing request {n}"})
        if req.params.get("channel_name") in b.deny_channels:
            return 403, json.dumps({"error": "channel denied"})
        for name, value in b.required_headers.items():
            if lower.get(name.lower()) != value:
                return 403, json.dumps({"error": f"header {name} missing or wrong"})
        for name, value in b.required_params.items():
            if req.params.get(name) != value:
                return 403, json.dumps({"error": f"param {name} missing or wrong"})
        if b.basic_auth is not None:
            expected = "Basic " + base64.b64encode(
                f"{b.basic_auth[0]}:{b.basic_auth[1]}".encode()
            ).decode()
            if lower.get("authorization") != expected:
                return 401, json.dumps({"error": "basic auth missing or wrong"})
        if b.raw_body is not None:
            return 200, b.raw_body
        channel = req.params.get("channel_name", "")
        socket_id = req.params.get("socket_id", "")
        try:
            if channel.startswith("presence-"):
                member = (b.member or self._default_member)(req.params)
                result = self.sdk.authenticate(
                    channel=channel, socket_id=socket_id, custom_data=member
                )
            else:
                result = self.sdk.authenticate(channel=channel, socket_id=socket_id)
        except (ValueError, TypeError) as exc:
            return 400, json.dumps({"error": str(exc)})
        return 200, json.dumps(result)

    def _default_member(self, params: dict[str, str]) -> dict[str, Any]:
        user_id = params.get("user_id") or f"user-{params.get('socket_id', '')}"
        return {"user_id": user_id, "user_info": {"name": params.get("user_name", user_id)}}

    # assertions helpers ---------------------------------------------------------------------
    def wait_requests(self, n: int, timeout: float = DEFAULT_TIMEOUT) -> list[AuthRequest]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout):
                raise AssertionError(
                    f"auth endpoint got {len(self.requests)} request(s), expected {n}: "
                    f"{self.requests!r}"
                )
            return list(self.requests)

    def requests_for(self, channel: str) -> list[AuthRequest]:
        with self._lock:
            return [r for r in self.requests if r.params.get("channel_name") == channel]
