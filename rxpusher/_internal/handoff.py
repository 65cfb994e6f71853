"""The bounded hand-off behind the ``scheduler`` option.

Each observer of a client with ``scheduler=`` gets its own bounded queue; the lane puts
notifications in it and an action scheduled on the user's scheduler takes them out and
calls the observer, one at a time and in order. When the observer falls ``maxsize``
items behind, the overflow policy of :mod:`rxpusher.aio` applies:

- ``"error"`` (default): the observer gets :class:`BufferOverflowError` after the items
  already queued, its subscription is released, and the error is reported on ``errors``;
- ``"drop_oldest"``: the oldest queued item makes room (right for prices and dashboards);
- ``"drop_newest"``: the incoming item is dropped.

A terminal notification is never dropped.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final, Literal, get_args

from reactivex import abc
from reactivex.disposable import SingleAssignmentDisposable

from .._exceptions import BufferOverflowError
from .unhandled import Unhandled

Overflow = Literal["error", "drop_oldest", "drop_newest"]
"""What a bounded queue (``rxpusher.aio.iterate``, ``scheduler=``) does with an item that
arrives while it is full."""

OVERFLOW_POLICIES: Final = frozenset(get_args(Overflow))
DEFAULT_MAXSIZE: Final = 10_000
"""The default bound of a queue between a producer thread and its consumer."""

_NEXT, _ERROR, _COMPLETED = 0, 1, 2


class HandoffObserver(abc.ObserverBase[Any]):
    """Queues notifications for ``observer`` and delivers them on ``scheduler``."""

    def __init__(
        self,
        observer: abc.ObserverBase[Any],
        scheduler: abc.SchedulerBase,
        maxsize: int,
        overflow: Overflow,
        report: Callable[[BaseException], None],
    ) -> None:
        self._observer = observer
        self._scheduler = scheduler
        self._maxsize = maxsize
        self._overflow = overflow
        self._report = report
        self._lock = threading.Lock()
        self._queue: deque[tuple[int, Any]] = deque()
        self._scheduled = False
        self._done = False
        self.dropped = 0
        self.subscription = SingleAssignmentDisposable()
        """The upstream subscription, released on overflow with the ``error`` policy."""

    def on_next(self, value: Any) -> None:
        overflowed: BufferOverflowError | None = None
        with self._lock:
            if self._done:
                return
            queue = self._queue
            if len(queue) >= self._maxsize:
                if self._overflow == "drop_oldest":
                    queue.popleft()
                    queue.append((_NEXT, value))
                    self.dropped += 1
                elif self._overflow == "drop_newest":
                    self.dropped += 1
                else:
                    self._done = True
                    overflowed = BufferOverflowError(self._maxsize)
                    queue.append((_ERROR, overflowed))
            else:
                queue.append((_NEXT, value))
            schedule = self._claim()
        if overflowed is not None:
            self.subscription.dispose()
            self._report(overflowed)  # the one on_error gets: reported once if unhandled
        if schedule:
            self._scheduler.schedule(self._drain)

    def on_error(self, error: Exception) -> None:
        self._finish(_ERROR, error)

    def on_completed(self) -> None:
        self._finish(_COMPLETED, None)

    def _finish(self, kind: int, value: Any) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            self._queue.append((kind, value))
            schedule = self._claim()
        if schedule:
            self._scheduler.schedule(self._drain)

    def _claim(self) -> bool:
        if self._scheduled:
            return False
        self._scheduled = True
        return True

    def _drain(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        observer = self._observer
        while True:
            with self._lock:
                if not self._queue:
                    self._scheduled = False
                    return
                kind, value = self._queue.popleft()
            try:
                if kind == _NEXT:
                    observer.on_next(value)
                elif kind == _ERROR:
                    observer.on_error(value)
                else:
                    observer.on_completed()
            except Exception as exc:  # noqa: BLE001 - observers are isolated
                self._report(Unhandled(exc) if kind == _ERROR and exc is value else exc)
