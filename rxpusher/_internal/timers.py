"""The timer thread: one small reactivex scheduler on one daemon thread for the whole process.

Every client schedules its activity, pong, unavailable, backoff and health timers on
:func:`shared_timers`, through a :class:`TimerHandle` of its own: disposing the handle
cancels that client's timers only. The thread (``rxpusher-timers``) exists only while some
timer is pending: it starts on demand and ends when the last pending timer has run or been
cancelled, so a process whose clients are all closed has no timer thread. Unlike
``EventLoopScheduler``, a handle can be disposed from inside one of its own actions (a
``close()`` in an observer the timer called). Tests replace it with ``TestScheduler``.

All clients' timer actions run on that one thread, one after another: an action must not
block (the client's actions take the session's lock briefly and post the rest to its lane).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from datetime import datetime
from typing import Any

from reactivex import abc, typing
from reactivex.disposable import Disposable
from reactivex.scheduler.scheduler import Scheduler

log = logging.getLogger("rxpusher")

_COMPACT_AT = 256
"""Cancelled timers stay in the heap until due; it is rebuilt once they are this many and
outnumber the live ones, so a timer re-armed at every frame does not grow it without bound."""


class _Timer:
    __slots__ = ("due", "action", "state", "owner", "cancelled")

    def __init__(self, due: float, action: typing.ScheduledAction[Any], state: Any,
                 owner: TimerHandle) -> None:
        self.due = due
        self.action = action
        self.state = state
        self.owner = owner
        self.cancelled = False


class TimerThread:
    """The timers of every handle on one thread named ``name``, started on demand."""

    def __init__(self, name: str = "rxpusher-timers") -> None:
        self._name = name
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Timer]] = []
        self._sequence = itertools.count()
        self._live = 0  # timers in the heap neither cancelled nor run
        self._thread: threading.Thread | None = None
        self._running: _Timer | None = None  # the timer whose action runs now

    @property
    def thread(self) -> threading.Thread | None:
        """The thread, while it runs."""
        return self._thread

    def handle(self) -> TimerHandle:
        """A scheduler for one client: its own timers on this thread."""
        return TimerHandle(self)

    def _add(self, seconds: float, action: typing.ScheduledAction[Any], state: Any,
             owner: TimerHandle) -> _Timer:
        """Queue a timer (the owner's lock-free checks are done by the caller)."""
        timer = _Timer(time.monotonic() + seconds, action, state, owner)
        with self._condition:
            heapq.heappush(self._heap, (timer.due, next(self._sequence), timer))
            self._live += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif self._heap[0][2] is timer:
                self._condition.notify()  # sooner than what the thread waits for
        return timer

    def _cancel(self, timers: list[_Timer]) -> None:
        """Cancel ``timers`` (those not run yet); the thread ends if none is left."""
        with self._condition:
            for timer in timers:
                if not timer.cancelled:
                    timer.cancelled = True
                    self._live -= 1
            if self._live == 0:
                self._heap.clear()
                self._condition.notify()
            elif len(self._heap) >= _COMPACT_AT and len(self._heap) > 2 * self._live:
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)

    def _join(self, owner: TimerHandle, timeout: float) -> None:
        """Wait until no action of ``owner`` runs and, when no timer is left, for the thread
        to end; never waits for the calling thread itself."""
        current = threading.current_thread()
        deadline = time.monotonic() + timeout
        with self._condition:
            if self._thread is current:
                return
            self._condition.wait_for(
                lambda: self._running is None or self._running.owner is not owner, timeout
            )
            thread = self._thread if self._live == 0 else None
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        condition = self._condition
        while True:
            with condition:
                self._running = None
                condition.notify_all()  # for _join
                while True:
                    if not self._heap:
                        self._thread = None
                        return
                    due, _, timer = self._heap[0]
                    if timer.cancelled:
                        heapq.heappop(self._heap)
                        continue
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._heap)
                        timer.cancelled = True  # run: cancelling it now does nothing
                        self._live -= 1
                        self._running = timer
                        break
                    condition.wait(wait)
            try:
                timer.action(timer.owner, timer.state)
            except Exception:  # noqa: BLE001 - one client's fault must not stop the others'
                log.exception("timer action failed")

    def _after_fork(self) -> None:
        """In a forked child the thread is gone: start afresh."""
        self._condition = threading.Condition()
        self._heap = []
        self._live = 0
        self._thread = None
        self._running = None


class TimerHandle(Scheduler):
    """One client's timers on a :class:`TimerThread`: a reactivex scheduler whose
    :meth:`dispose` cancels only the timers scheduled through it."""

    def __init__(self, timers: TimerThread) -> None:
        super().__init__()
        self._timers = timers
        self._lock = threading.Lock()
        self._pending: set[_Timer] = set()
        self._disposed = False

    @property
    def thread(self) -> threading.Thread | None:
        """The shared timer thread, while it runs."""
        return self._timers.thread

    def schedule(self, action: typing.ScheduledAction[Any], state: Any = None) -> abc.DisposableBase:
        return self.schedule_relative(0.0, action, state)

    def schedule_relative(self, duetime: typing.RelativeTime, action: typing.ScheduledAction[Any],
                          state: Any = None) -> abc.DisposableBase:
        seconds = max(0.0, self.to_seconds(duetime))
        pending = self._pending

        def run(scheduler: abc.SchedulerBase, state: Any) -> abc.DisposableBase | None:
            pending.discard(timer)
            return action(scheduler, state)

        with self._lock:
            if self._disposed:
                return Disposable()
            timer = self._timers._add(seconds, run, state, self)
            pending.add(timer)

        def cancel() -> None:
            pending.discard(timer)
            self._timers._cancel([timer])

        return Disposable(cancel)

    def schedule_absolute(self, duetime: typing.AbsoluteTime, action: typing.ScheduledAction[Any],
                          state: Any = None) -> abc.DisposableBase:
        due = self.to_datetime(duetime)
        return self.schedule_relative(due - self.now, action, state)

    @property
    def now(self) -> datetime:
        return datetime.utcnow()

    def dispose(self) -> None:
        """Stop: this handle's pending timers are dropped and later ones ignored; an action
        under way finishes (see :meth:`join`)."""
        with self._lock:
            self._disposed = True
            timers = list(self._pending)
            self._pending.clear()
        self._timers._cancel(timers)

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for an action of this handle under way (unless the
        calling thread runs it) and, when no client has timers left, for the thread to end."""
        self._timers._join(self, timeout)


_shared = TimerThread()


def shared_timers() -> TimerThread:
    """The process's timer thread."""
    return _shared


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_shared._after_fork)
