"""The action queue: the I/O effects of every step of one client, run in the order decided.

A step queues its actions (frames to send, transports to open and close, timers, jobs)
under the session lock, so the queue holds them in decision order; after releasing the lock
the thread that stepped runs the queue up to its own last action (:meth:`ActionQueue.run_to`),
waiting for its turn while another thread runs earlier ones. Each thread runs its own
actions, and those queued before them: a busy client cannot make one thread run everybody
else's actions for ever. An action that steps again (a nested step) runs what it queued
itself before it returns.

No user code runs here (the shell delivers notifications only once it left its turn), so a
thread waiting for its turn never waits for an observer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

Report = Callable[[BaseException], None]


class ActionQueue:
    """Actions in decision order; see the module docstring."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._turn = threading.Lock()
        self._queue: deque[tuple[Callable[[Any], None], Any]] = deque()
        self._queued = 0  # sequence number of the last action queued
        self._done = 0  # sequence number of the last action run
        self._owner: int | None = None  # ident of the thread running actions
        self._target = 0  # the owner runs actions up to this one

    def post(self, action: Callable[[Any], None], arg: Any) -> int:
        """Queue ``action(arg)`` (with the session lock held); its sequence number."""
        self._queued += 1
        self._queue.append((action, arg))
        return self._queued

    @property
    def in_turn(self) -> bool:
        """True when the calling thread is running actions."""
        return self._owner == threading.get_ident()

    def run_to(self, seq: int) -> None:
        """Run the queue up to action ``seq`` (this thread's last), after the ones before it."""
        if self._done >= seq:
            return
        if self._owner == threading.get_ident():
            self._target = max(self._target, seq)  # nested: the outer loop runs it
            return
        with self._turn:
            self._owner = threading.get_ident()
            self._target = seq
            try:
                while self._done < self._target:
                    action, arg = self._queue.popleft()
                    self._done += 1
                    try:
                        action(arg)
                    except Exception as exc:  # noqa: BLE001 - the queue must never stop
                        self._report(exc)
            finally:
                self._owner = None

    def wait_idle(self, timeout: float) -> bool:
        """Run (or wait for) every action queued so far; False when another thread kept its
        turn for ``timeout`` seconds."""
        if self._owner == threading.get_ident():
            return False
        if not self._turn.acquire(timeout=timeout):
            return False
        self._turn.release()
        self.run_to(self._queued)
        return True
