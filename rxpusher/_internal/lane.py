"""The delivery lane: every notification of one client runs here, one at a time.

State changes are computed by the core under the session's lock and *posted* here (the
notification effects of a step); they run after the lock is released, in the order they
were posted, on whichever thread drains the lane.
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
import time
from collections import deque
from collections.abc import Callable
from typing import Any

Report = Callable[[BaseException], None]


class Lane:
    """A serial executor without a thread of its own; see the module docstring.

    Whoever holds ``_turn`` delivers. Items are appended to a deque without a lock (atomic
    in CPython); a thread that posts and finds the turn taken leaves its items to the
    holder, which looks at the queue again after it lets go of the turn.
    """

    def __init__(self, report: Report) -> None:
        self._report = report
        self._turn = threading.Lock()
        self._queue: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._owner: int | None = None  # ident of the thread delivering, if any

    def post(self, item: Callable[..., Any], *args: Any) -> None:
        """Queue ``item(*args)``; it runs at the next :meth:`drain` or :meth:`run`."""
        self._queue.append((item, args))

    def drain(self) -> None:
        """Run the queued items now, unless another thread is delivering (it will)."""
        while self._queue and self._turn.acquire(False):
            self._owner = threading.get_ident()
            self._run_queue()

    def run(self, item: Callable[..., Any], *args: Any) -> None:
        """Run ``item(*args)`` after everything queued before it; wait while another thread
        delivers. Called from inside the lane, it is queued instead (no nesting)."""
        turn = self._turn
        if not turn.acquire(False):
            if self._owner == threading.get_ident():
                self._queue.append((item, args))
                return
            turn.acquire()
        self._owner = threading.get_ident()
        if self._queue:
            self._queue.append((item, args))  # behind what was posted before it
        else:
            try:
                item(*args)
            except Exception as exc:  # noqa: BLE001 - the lane must never stop
                self._report(exc)
            if not self._queue:  # the common case: nothing was posted meanwhile
                self._owner = None
                turn.release()
                if self._queue:
                    self.drain()
                return
        self._run_queue()
        self.drain()

    def enter(self) -> bool:
        """Take the turn now if it is free (never waits): True when the caller now delivers
        and must call :meth:`leave`; False when another thread (or this one, further up)
        delivers, and the caller posts instead. For a component with a lock of its own:
        taking the turn under that lock keeps its items in the order it computed them."""
        if self._queue or not self._turn.acquire(False):
            return False
        if self._queue:  # posted meanwhile: the caller's item must come after them
            self._turn.release()
            return False
        self._owner = threading.get_ident()
        return True

    def leave(self) -> None:
        """Give the turn back after :meth:`enter`, then run what was posted meanwhile."""
        self._owner = None
        self._turn.release()
        if self._queue:
            self.drain()

    def run_posted(self) -> None:
        """Inside the lane: run what was posted so far, now (between two frames of a batch,
        so that what one frame caused is delivered before the next frame)."""
        queue = self._queue
        report = self._report
        while queue:
            item, args = queue.popleft()
            try:
                item(*args)
            except Exception as exc:  # noqa: BLE001 - the lane must never stop
                report(exc)

    @property
    def in_lane(self) -> bool:
        """True when the calling thread is the one delivering."""
        return self._owner == threading.get_ident()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no thread delivers and nothing is queued; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._turn.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return False
            self._owner = threading.get_ident()
            self._run_queue()
            if not self._queue:
                return True

    def _run_queue(self) -> None:
        """Run items until the queue is empty, then let go of the turn (held on entry)."""
        try:
            self.run_posted()
        finally:
            self._owner = None
            self._turn.release()
