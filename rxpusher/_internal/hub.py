"""Hot multicast sources whose observers are isolated from one another."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable

T = TypeVar("T")
Report = Callable[[BaseException], None]


def void(_: object) -> None:
    """Discard a value (adapts ``bool``-returning removals to ``Disposable``)."""


class Hub(Generic[T]):
    """Emits each value to every current observer, in subscription order.

    An observer that raises is reported through ``report`` and keeps its
    subscription; the others still get the value. The observer list is a tuple
    replaced on change, so emitting takes no lock.
    """

    def __init__(self, report: Report, lock: threading.RLock | None = None) -> None:
        self._report = report
        self._lock = lock if lock is not None else threading.RLock()
        self._observers: tuple[abc.ObserverBase[T], ...] = ()
        self._completed = False
        self.observable: Observable[T] = reactivex.create(self._subscribe)

    def _subscribe(
        self, observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        with self._lock:
            if self._completed:
                observer.on_completed()
                return Disposable()
            try:
                self._on_subscribe(observer)
            except Exception as exc:  # noqa: BLE001
                self._report(exc)
            self._observers = self._observers + (observer,)
        return Disposable(lambda: self._remove(observer))

    def _on_subscribe(self, observer: abc.ObserverBase[T]) -> None:
        """Hook run under the lock before ``observer`` joins."""

    def _remove(self, observer: abc.ObserverBase[T]) -> None:
        with self._lock:
            self._observers = tuple(o for o in self._observers if o is not observer)

    @property
    def has_observers(self) -> bool:
        """True while at least one observer is subscribed."""
        return bool(self._observers)

    def emit(self, value: T) -> None:
        """Deliver ``value`` to every observer."""
        for observer in self._observers:
            try:
                observer.on_next(value)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self._report(exc)

    def complete(self) -> None:
        """Complete every observer; later observers complete at once."""
        with self._lock:
            if self._completed:
                return
            self._completed = True
            observers, self._observers = self._observers, ()
        for observer in observers:
            try:
                observer.on_completed()
            except Exception as exc:  # noqa: BLE001
                self._report(exc)


class ReplayHub(Hub[T]):
    """A :class:`Hub` that holds a current value and replays it to each new observer.

    ``set`` must be called with the shared lock held, so that a new observer sees
    the current value and then every later one, in order.
    """

    def __init__(self, initial: T, report: Report, lock: threading.RLock) -> None:
        super().__init__(report, lock)
        self.value = initial

    def _on_subscribe(self, observer: abc.ObserverBase[Any]) -> None:
        observer.on_next(self.value)

    def set(self, value: T) -> bool:
        """Store and emit ``value`` if it differs from the current one; True if it did."""
        with self._lock:
            if value == self.value:
                return False
            self.value = value
            self.emit(value)
            return True
