"""A numbered publisher, as Pusher's own advice has it: each event carries a consecutive
``seq``, the publisher keeps what it published (its "database") and answers backfill calls
from it. Triggers go through the official ``pusher`` SDK.

- ``NumberedPublisher(sdk, channel, events=("tick", "trade"))``: one seq numbers the events
  of every name in turn (a channel-wide sequence), each data naming its event in ``"event"``
  (``name_of(seq)``), as a backfill answer must for the bridge to name it;
- ``publish(n)``: the next ``n`` events (kept even when the trigger fails: the server was
  down, which is what a backfill is for); ``record_only(n)`` keeps them without sending;
- ``run(interval)`` / ``stop()``: publish on a thread of its own until stopped;
- ``backfill(channel, event, after, before)``: what was published in ``(after, before)``
  (``before`` None: up to now), counting its calls in ``calls``;
- ``BackfillEndpoint(publisher)``: the same over HTTP, as ``--backfill-url`` calls it
  (``GET /?channel=..&event=..&after=..&before=..`` -> a JSON list), at ``url``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit


class NumberedPublisher:
    def __init__(self, sdk: Any, channel: str, event: str = "tick",
                 events: Sequence[str] = ()) -> None:
        self.sdks = [sdk]
        self.channel = channel
        self.event = event
        self.events = tuple(events)
        self.published: list[dict[str, Any]] = []
        self.failed_triggers = 0
        self.calls: list[tuple[str, str, int, int | None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def last(self) -> int:
        with self._lock:
            return len(self.published)

    def name_of(self, seq: int) -> str:
        """The name of the event numbered ``seq``."""
        return self.events[(seq - 1) % len(self.events)] if self.events else self.event

    def _next(self) -> dict[str, Any]:
        with self._lock:
            seq = len(self.published) + 1
            data: dict[str, Any] = {"seq": seq, "price": 100 + len(self.published) % 7}
            if self.events:
                data["event"] = self.name_of(seq)
            self.published.append(data)
            return data

    def publish(self, n: int = 1) -> None:
        for _ in range(n):
            data = self._next()
            try:
                self.sdks[0].trigger(self.channel, self.name_of(data["seq"]), data)
            except Exception:  # noqa: BLE001 - the server is down: the event stays recorded
                self.failed_triggers += 1

    def record_only(self, n: int) -> None:
        """Events that are published but never reach any client (lost on the way)."""
        for _ in range(n):
            self._next()

    def run(self, interval: float = 0.01) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                self.publish()

        self._thread = threading.Thread(target=loop, name="test-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def backfill(self, channel: str, event: str | None, after: int,
                 before: int | None) -> list[Any]:
        with self._lock:
            self.calls.append((channel, event, after, before))
            top = len(self.published) if before is None else before - 1
            return [dict(d) for d in self.published[max(0, after):max(0, top)]]


class BackfillEndpoint:
    """``publisher.backfill`` over HTTP on a free loopback port; ``requests`` lists the
    query of each call."""

    def __init__(self, publisher: NumberedPublisher) -> None:
        endpoint = self
        self.requests: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                endpoint.requests.append(query)
                before = int(query["before"]) if "before" in query else None
                data = publisher.backfill(query["channel"], query.get("event"),
                                          int(query["after"]), before)
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/missed"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="test-backfill-endpoint", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
