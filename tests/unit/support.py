"""Helpers shared by the unit tests (imported as ``from .support import ...``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from reactivex import Observable
from reactivex.abc import DisposableBase

SOCKET_ID = "1234.5678"


class Recorder:
    """Records what an Observable emits."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.errors: list[BaseException] = []
        self.completed = False
        self.subscription: DisposableBase | None = None

    def on_next(self, value: Any) -> None:
        self.items.append(value)

    def on_error(self, error: BaseException) -> None:
        self.errors.append(error)

    def on_completed(self) -> None:
        self.completed = True

    @property
    def error(self) -> BaseException | None:
        assert len(self.errors) <= 1, f"more than one error: {self.errors}"
        return self.errors[0] if self.errors else None

    @property
    def terminated(self) -> bool:
        return self.completed or bool(self.errors)

    def dispose(self) -> None:
        assert self.subscription is not None
        self.subscription.dispose()


def record(observable: Observable[Any]) -> Recorder:
    """Subscribe a new :class:`Recorder` to ``observable``."""
    recorder = Recorder()
    recorder.subscription = observable.subscribe(
        recorder.on_next, recorder.on_error, recorder.on_completed
    )
    return recorder


def wait_for(predicate: Callable[[], Any], timeout: float = 3.0) -> Any:
    """Poll ``predicate`` until true (for work done on the client's auth worker threads)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.002)


def rxpusher_threads() -> list[threading.Thread]:
    """Live threads the library started (they are all named ``rxpusher-*``)."""
    return [t for t in threading.enumerate() if t.name.startswith("rxpusher") and t.is_alive()]
