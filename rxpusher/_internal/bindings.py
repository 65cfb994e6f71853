"""Callback bindings (the seed's ``bind``/``unbind``/``bind_all``) built on streams."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from reactivex import Observable, abc


class Bindings:
    """The callback subscriptions of one object (the client or a channel)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._entries: list[tuple[str | None, Callable[..., Any], abc.DisposableBase]] = []

    def bind(self, event: str | None, callback: Callable[..., Any], stream: Observable[Any]) -> None:
        """Subscribe ``callback`` to ``stream``: ``callback(data)`` for one event, or
        ``callback(event_name, data)`` when ``event`` is None (bind_all; the stream
        then carries whole events)."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        if event is None:
            subscription = stream.subscribe(lambda e: callback(e.name, e.data), on_error=_ignore)
        else:
            subscription = stream.subscribe(callback, on_error=_ignore)
        with self._lock:
            self._entries.append((event, callback, subscription))

    def unbind(self, event: str | None = None, callback: Callable[..., Any] | None = None) -> None:
        """Dispose the bindings matching ``event`` and ``callback``; None matches all."""
        with self._lock:
            matching = [
                entry
                for entry in self._entries
                if (event is None or entry[0] == event) and (callback is None or entry[1] == callback)
            ]
            for entry in matching:
                self._entries.remove(entry)
        for _, _, subscription in matching:
            subscription.dispose()


def _ignore(error: Exception) -> None:
    """Bindings are not torn down by errors; the failure is reported on ``errors``."""
