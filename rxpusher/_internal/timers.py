"""The client's timer thread: a small reactivex scheduler on one daemon thread.

Unlike ``EventLoopScheduler`` it can be disposed from inside one of its own actions (a
``close()`` in an observer the timer called) and still ends at once, and its thread exists
only while timers are pending. Tests replace it with ``TestScheduler``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from datetime import datetime
from typing import Any

from reactivex import abc, typing
from reactivex.disposable import Disposable
from reactivex.scheduler.scheduler import Scheduler


class _Timer:
    __slots__ = ("due", "action", "state", "cancelled")

    def __init__(self, due: float, action: typing.ScheduledAction[Any], state: Any) -> None:
        self.due = due
        self.action = action
        self.state = state
        self.cancelled = False


class TimerThread(Scheduler):
    """Runs scheduled actions on one thread named ``name``, started on demand."""

    def __init__(self, name: str = "rxpusher-timers") -> None:
        super().__init__()
        self._name = name
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Timer]] = []
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None
        self._disposed = False

    @property
    def thread(self) -> threading.Thread | None:
        """The thread, while it runs."""
        return self._thread

    def schedule(self, action: typing.ScheduledAction[Any], state: Any = None) -> abc.DisposableBase:
        return self.schedule_relative(0.0, action, state)

    def schedule_relative(self, duetime: typing.RelativeTime, action: typing.ScheduledAction[Any],
                          state: Any = None) -> abc.DisposableBase:
        seconds = max(0.0, self.to_seconds(duetime))
        timer = _Timer(time.monotonic() + seconds, action, state)
        with self._condition:
            if self._disposed:
                return Disposable()
            heapq.heappush(self._heap, (timer.due, next(self._sequence), timer))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            else:
                self._condition.notify()

        def cancel() -> None:
            timer.cancelled = True

        return Disposable(cancel)

    def schedule_absolute(self, duetime: typing.AbsoluteTime, action: typing.ScheduledAction[Any],
                          state: Any = None) -> abc.DisposableBase:
        due = self.to_datetime(duetime)
        return self.schedule_relative(due - self.now, action, state)

    @property
    def now(self) -> datetime:
        return datetime.utcnow()

    def dispose(self) -> None:
        """Stop: pending timers are dropped; the thread ends after the action it runs."""
        with self._condition:
            self._disposed = True
            self._heap.clear()
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while True:
                    if self._disposed or not self._heap:
                        self._thread = None
                        return
                    due, _, timer = self._heap[0]
                    if timer.cancelled:
                        heapq.heappop(self._heap)
                        continue
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._heap)
                        break
                    self._condition.wait(wait)
            timer.action(self, timer.state)
