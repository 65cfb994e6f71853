"""Helpers shared by the unit tests (imported as ``from .support import ...``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from rxpusher.testing import Recorder, record, wait_until

__all__ = ["SOCKET_ID", "AuthEndpoint", "Recorder", "record", "rxpusher_threads",
           "unreachable_url", "wait_for"]

SOCKET_ID = "1234.5678"


def wait_for(predicate: Callable[[], Any], timeout: float = 3.0) -> Any:
    """Poll ``predicate`` until true (for work done on the client's other threads)."""
    return wait_until(predicate, timeout)


def rxpusher_threads() -> list[threading.Thread]:
    """Live threads the library started (they are all named ``rxpusher-*``)."""
    return [t for t in threading.enumerate() if t.name.startswith("rxpusher") and t.is_alive()]


class AuthEndpoint:
    """A tiny local HTTP authorization endpoint (real sockets, real ``requests``).

    ``reply(status, body)`` sets the answer (``body``: a dict is sent as JSON, a str as is);
    ``requests`` records each call as ``{"path", "headers", "form"}``.
    """

    def __init__(self) -> None:
        import http.server
        import urllib.parse

        endpoint = self
        self.status = 200
        self.body: Any = {"auth": "key:signature"}
        self.requests: list[dict[str, Any]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                endpoint.requests.append({
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "form": dict(urllib.parse.parse_qsl(raw)),
                })
                body = endpoint.body(endpoint.requests[-1]) if callable(endpoint.body) else endpoint.body
                payload = (json.dumps(body) if not isinstance(body, str) else body).encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/pusher/auth"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,),
                                        name="test-auth-endpoint",
                                         daemon=True)
        self._thread.start()

    def reply(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def unreachable_url() -> str:
    """A URL on a loopback port nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/auth"
