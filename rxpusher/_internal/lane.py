"""The delivery lane: every notification of one client runs here, one at a time.

State changes are computed under the session's lock and *posted* here; they run after
the lock is released, in the order they were posted, on whichever thread drains the lane.
Nothing in the lane holds a library lock, so an observer may call the client or wait for
another thread that does.

Two ways in:

- :meth:`Lane.post` + :meth:`Lane.drain` (API calls, timers, auth results): if another
  thread is delivering, the items join its queue and the call returns at once; otherwise
  the caller delivers them itself.
- :meth:`Lane.run` (the reader thread, with a frame): waits until the lane is free, so a
  slow observer slows the reader and TCP pushes back on the server, instead of the queue
  growing without bound.

The thread that runs an item drains the queue before it lets go, so an observer that
causes new notifications (by unsubscribing, say) sees them after it returns: the
trampoline rule of Rx, which keeps every observer's notifications serial.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

Report = Callable[[BaseException], None]


class Lane:
    """A serial executor without a thread of its own; see the module docstring."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._mutex = threading.Lock()
        self._free = threading.Condition(self._mutex)
        self._queue: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._owner: int | None = None  # ident of the thread delivering, if any
        self._waiting = 0  # threads parked in run() or wait_idle()

    def post(self, item: Callable[..., Any], *args: Any) -> None:
        """Queue ``item(*args)``; it runs at the next :meth:`drain` or :meth:`run`."""
        with self._mutex:
            self._queue.append((item, args))

    def drain(self) -> None:
        """Run the queued items now, unless another thread is delivering (it will)."""
        with self._mutex:
            if self._owner is not None or not self._queue:
                return
            self._owner = threading.get_ident()
        self._run_queue()

    def run(self, item: Callable[..., Any], *args: Any) -> None:
        """Run ``item(*args)`` after everything queued before it; wait while another thread
        delivers. Called from inside the lane, it is queued instead (no nesting)."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._queue.append((item, args))
                return
            if self._owner is not None:
                self._waiting += 1
                while self._owner is not None:
                    self._free.wait()
                self._waiting -= 1
            self._owner = me
            queued = bool(self._queue)
            if queued:
                self._queue.append((item, args))  # behind what was posted before it
        if not queued:
            try:
                item(*args)
            except Exception as exc:  # noqa: BLE001 - the lane must never stop
                self._report(exc)
        self._run_queue()

    @property
    def delivering(self) -> bool:
        """True while some thread is running items."""
        return self._owner is not None

    @property
    def in_lane(self) -> bool:
        """True when the calling thread is the one delivering."""
        return self._owner == threading.get_ident()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no thread delivers and nothing is queued; False on timeout."""
        with self._mutex:
            self._waiting += 1
            try:
                return self._free.wait_for(
                    lambda: self._owner is None and not self._queue, timeout
                )
            finally:
                self._waiting -= 1

    def _run_queue(self) -> None:
        queue = self._queue
        while True:
            with self._mutex:
                if not queue:
                    self._owner = None
                    if self._waiting:
                        self._free.notify_all()
                    return
                item, args = queue.popleft()
            try:
                item(*args)
            except Exception as exc:  # noqa: BLE001 - the lane must never stop
                self._report(exc)
