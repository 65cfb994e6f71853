"""Routing of decoded events to observers by dictionary: channel -> event -> sinks.

Dispatching an event costs four dictionary look-ups whatever the number of
channels and bindings: the channel's sinks for the event name, the channel's
catch-all sinks, and the same two on the global route.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from reactivex import abc

from .protocol import Event

GLOBAL = ""
"""Route key of the global streams (no valid channel is named ``""``)."""
ANY_EVENT = ""
"""Event key of catch-all sinks (``events()`` and ``bind_all``)."""


class Sink:
    """One observer registered on a route.

    ``project`` delivers ``event.data`` instead of the whole :class:`Event`;
    ``terminates`` marks an Rx stream (errored by a failed subscription or a
    refused connection) as opposed to a callback binding, which survives them.
    """

    __slots__ = ("observer", "on_next", "project", "terminates")

    def __init__(self, observer: abc.ObserverBase[Any], project: bool, terminates: bool) -> None:
        self.observer = observer
        self.on_next = observer.on_next
        self.project = project
        self.terminates = terminates


Routes = dict[Hashable, tuple[Sink, ...]]


class Router:
    """Holds every sink and delivers events to the matching ones.

    Sinks are kept in tuples replaced on change (copy on write), so dispatching
    takes no lock and an observer may subscribe or dispose during delivery. An
    observer that raises is reported through ``report``; delivery goes on.
    """

    def __init__(self, report: Callable[[BaseException], None]) -> None:
        self._report = report
        self._lock = threading.Lock()
        self._routes: dict[str, Routes] = {}

    def add(self, channel: str, key: Hashable, sink: Sink) -> None:
        """Register ``sink`` for ``key`` (an event name or ``ANY_EVENT``) on ``channel``."""
        with self._lock:
            by_key = self._routes.setdefault(channel, {})
            by_key[key] = by_key.get(key, ()) + (sink,)

    def remove(self, channel: str, key: Hashable, sink: Sink) -> bool:
        """Unregister ``sink``; False when it was not registered (already removed)."""
        with self._lock:
            by_key = self._routes.get(channel)
            sinks = by_key.get(key) if by_key else None
            if not sinks or sink not in sinks:
                return False
            remaining = tuple(s for s in sinks if s is not sink)
            assert by_key is not None
            if remaining:
                by_key[key] = remaining
            else:
                del by_key[key]
                if not by_key:
                    del self._routes[channel]
            return True

    def sinks(self, channel: str) -> Iterator[tuple[Hashable, Sink]]:
        """A snapshot of the ``(key, sink)`` pairs registered on ``channel``."""
        with self._lock:
            by_key = dict(self._routes.get(channel, {}))
        for key, sinks in by_key.items():
            for sink in sinks:
                yield key, sink

    def drop(self, channel: str, streams_only: bool = False) -> list[Sink]:
        """Unregister and return the sinks of ``channel`` (only the Rx streams, not the
        callback bindings, with ``streams_only``)."""
        return [
            sink
            for key, sink in self.sinks(channel)
            if (sink.terminates or not streams_only) and self.remove(channel, key, sink)
        ]

    def end(self, sinks: list[Sink], error: Exception | None = None) -> None:
        """Terminate dropped sinks: ``on_error(error)``, or ``on_completed()`` without one;
        what an observer raises is reported."""
        for sink in sinks:
            try:
                if error is None:
                    sink.observer.on_completed()
                else:
                    sink.observer.on_error(error)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self._report(exc)

    def channels(self) -> list[str]:
        """Route keys that hold at least one sink (``GLOBAL`` included)."""
        with self._lock:
            return list(self._routes)

    def dispatch(self, event: Event, channel_only: bool = False, route: str | None = None) -> None:
        """Deliver ``event`` to its channel's sinks (or those of ``route``) and, unless
        ``channel_only``, to the global ones."""
        routes = self._routes
        route = event.channel if route is None else route
        if route is not None:
            by_key = routes.get(route)
            if by_key:
                self._deliver(by_key.get(event.name), event)
                self._deliver(by_key.get(ANY_EVENT), event)
        if not channel_only:
            by_key = routes.get(GLOBAL)
            if by_key:
                self._deliver(by_key.get(event.name), event)
                self._deliver(by_key.get(ANY_EVENT), event)

    def emit(self, channel: str, key: Hashable, value: Any) -> None:
        """Deliver ``value`` as is to the sinks of one route (derived streams such as members)."""
        by_key = self._routes.get(channel)
        sinks = by_key.get(key) if by_key else None
        if sinks:
            for sink in sinks:
                try:
                    sink.on_next(value)
                except Exception as exc:  # noqa: BLE001 - isolation is the point
                    self._report(exc)

    def _deliver(self, sinks: tuple[Sink, ...] | None, event: Event) -> None:
        if not sinks:
            return
        for sink in sinks:
            try:
                sink.on_next(event.data if sink.project else event)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self._report(exc)
