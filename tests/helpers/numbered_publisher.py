"""A numbered publisher, as Pusher's own advice has it: each event carries a consecutive
``seq``, the publisher keeps what it published (its "database") and answers backfill calls
from it. Triggers go through the official ``pusher`` SDK.

- ``publish(n)``: the next ``n`` events (kept even when the trigger fails: the server was
  down, which is what a backfill is for); ``record_only(n)`` keeps them without sending;
- ``run(interval)`` / ``stop()``: publish on a thread of its own until stopped;
- ``backfill(channel, event, after, before)``: what was published in ``(after, before)``
  (``before`` None: up to now), counting its calls in ``calls``.
"""

from __future__ import annotations

import threading
from typing import Any


class NumberedPublisher:
    def __init__(self, sdk: Any, channel: str, event: str = "tick") -> None:
        self.sdks = [sdk]
        self.channel = channel
        self.event = event
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

    def _next(self) -> dict[str, Any]:
        with self._lock:
            data = {"seq": len(self.published) + 1, "price": 100 + len(self.published) % 7}
            self.published.append(data)
            return data

    def publish(self, n: int = 1) -> None:
        for _ in range(n):
            data = self._next()
            try:
                self.sdks[0].trigger(self.channel, self.event, data)
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

    def backfill(self, channel: str, event: str, after: int, before: int | None) -> list[Any]:
        with self._lock:
            self.calls.append((channel, event, after, before))
            top = len(self.published) if before is None else before - 1
            return [dict(d) for d in self.published[max(0, after):max(0, top)]]
