"""Client events paced to Pusher's limit: at most ``rate`` per second per connection.

:class:`Pacer` is pure (no clock of its own, no threads): the caller passes ``now`` and
sends what it is handed back, in order, then asks :meth:`Pacer.next_due` when to come back.
The rule is a sliding window: with a pace of ``r`` per second, at most ``n = max(1, floor(r))``
events go out in any ``n / r`` seconds (plus :data:`MARGIN` of it, for the jitter between
sending and the server's receiving), so a server counting per second (Pusher, soketi, the
local server, in a fixed or a sliding window) never sees more than ``r`` in one second,
whatever the burst.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Generic, TypeVar

from ._exceptions import BufferOverflowError

__all__ = ["DEFAULT_CLIENT_EVENT_QUEUE", "DEFAULT_CLIENT_EVENT_RATE", "Pacer", "SLOWDOWN"]

T = TypeVar("T")

DEFAULT_CLIENT_EVENT_RATE = 10.0
"""Pusher's documented limit: client events per second per connection."""

DEFAULT_CLIENT_EVENT_QUEUE = 1_000
"""Client events that may wait for their turn before ``trigger()`` raises."""

SLOWDOWN = 10.0
"""Seconds a rejection (``pusher:error`` 4301) halves the pace for."""

MARGIN = 0.05
"""The window is this much longer than ``n / r``: 50 ms at 10 per second."""

_EPSILON = 1e-6

MIN_RATE = 0.5
"""The pace never drops below this many events per second, however many rejections."""


class Pacer(Generic[T]):
    """A queue of items (client event frames) let out at a pace.

    ``rate`` None lets everything out at once. ``limit`` bounds the items waiting:
    :meth:`push` raises :class:`BufferOverflowError` beyond it and queues nothing.
    """

    def __init__(self, rate: float | None, limit: int) -> None:
        self.rate = rate
        self.limit = limit
        self._queue: deque[T] = deque()
        self._sent: deque[float] = deque()  # when the latest items went out, oldest first
        self._pace = rate
        self._slow_until: float | None = None

    def __len__(self) -> int:
        """Items waiting."""
        return len(self._queue)

    def pace(self, now: float) -> float | None:
        """Events per second allowed at ``now`` (None: no pacing)."""
        if self._slow_until is not None and now >= self._slow_until:
            self._slow_until = None
            self._pace = self.rate
        return self._pace

    def push(self, items: list[T], now: float) -> list[T]:
        """Queue ``items`` (all or none) and return those that may be sent now, in order.

        Raises :class:`BufferOverflowError` when they do not fit in ``limit``."""
        if self.rate is None:
            return list(items)
        waiting = len(self._queue) + len(items)
        if not self._queue:
            waiting -= self._free(now)  # these go out at once
        if waiting > self.limit:
            raise BufferOverflowError(
                self.limit,
                f"{len(self._queue)} client events are waiting for their turn and "
                f"client_event_queue is {self.limit}: {len(items)} more do not fit "
                "(trigger less often, or raise client_event_queue or client_event_rate)")
        self._queue.extend(items)
        return self.due(now)

    def due(self, now: float) -> list[T]:
        """Take the queued items that may be sent at ``now``, in order."""
        out: list[T] = []
        while self._queue and self._wait(now) <= 0.0:
            out.append(self._queue.popleft())
            self._sent.append(now)
        return out

    def next_due(self, now: float) -> float | None:
        """Seconds from ``now`` until the next queued item may go; None when none waits."""
        if not self._queue:
            return None
        return max(0.0, self._wait(now))

    def _window(self, now: float) -> tuple[int, float]:
        """The burst and window of the pace at ``now``, with the sends before it forgotten."""
        pace = self.pace(now)
        assert pace is not None
        burst = max(1, math.floor(pace))
        window = burst / pace * (1.0 + MARGIN)
        while len(self._sent) > burst:
            self._sent.popleft()
        while self._sent and self._sent[0] <= now - window + _EPSILON:
            self._sent.popleft()
        return burst, window

    def _free(self, now: float) -> int:
        """How many items could go out at ``now`` with nothing queued."""
        burst, _ = self._window(now)
        return burst - len(self._sent)

    def _wait(self, now: float) -> float:
        burst, window = self._window(now)
        if len(self._sent) < burst:
            return 0.0
        wait = self._sent[0] + window - now
        return wait if wait > _EPSILON else 0.0  # a timer due now may fire a hair early

    def rejected(self, now: float) -> float | None:
        """The server rejected a client event (4301): halve the pace for :data:`SLOWDOWN`
        seconds from now (again at each rejection, down to :data:`MIN_RATE`). Returns the
        new pace."""
        pace = self.pace(now)
        if pace is None or self.rate is None:
            return None
        self._pace = max(min(MIN_RATE, self.rate), pace / 2.0)
        self._slow_until = now + SLOWDOWN
        return self._pace

    def clear(self) -> list[T]:
        """Take every waiting item out (the connection was lost)."""
        items = list(self._queue)
        self._queue.clear()
        return items
