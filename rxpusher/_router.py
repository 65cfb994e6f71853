"""Routing of decoded events to observers by dictionary: route -> key -> sinks.

Dispatching an event costs four dictionary look-ups whatever the number of channels and
bindings: the channel's sinks for the event name, the channel's catch-all sinks, and the
same two on the global route. The core changes the routes under the session's lock (copy on
write); the lane reads them without one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Final

import reactivex
from reactivex import Observable, abc

from ._internal.unhandled import Unhandled
from ._protocol import Event


class RouteKey:
    """A route or event key that no value from the wire can equal (wire values are str)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name}>"


GLOBAL: Final = RouteKey("global")
"""Route of the global streams (``pusher.events``, ``bind``, ``bind_all``)."""
USER: Final = RouteKey("user")
"""Route of the events sent to the signed-in user."""
ANY_EVENT: Final = RouteKey("any event")
"""Event key of catch-all sinks (``events()`` and ``bind_all``)."""
MEMBERS: Final = RouteKey("members")
MEMBER_ADDED: Final = RouteKey("member_added")
MEMBER_REMOVED: Final = RouteKey("member_removed")

Route = str | RouteKey


def _stopped(value: Any) -> None:
    """The ``on_next`` of a terminated sink: late items are dropped."""


class Sink:
    """One observer registered on a route.

    ``project`` delivers ``event.data`` instead of the whole :class:`Event`; ``terminates``
    marks an Rx stream (errored by a failed subscription or a refused connection) as
    opposed to a callback binding, which survives them.
    """

    __slots__ = ("observer", "on_next", "project", "terminates", "route", "key")

    def __init__(self, observer: abc.ObserverBase[Any], project: bool, terminates: bool,
                 route: Route, key: Hashable) -> None:
        self.observer = observer
        self.on_next: Callable[[Any], None] = observer.on_next
        self.project = project
        self.terminates = terminates
        self.route = route
        self.key = key

    def end(self, error: Exception | None, report: Callable[[BaseException], None]) -> None:
        """Deliver the terminal notification, once; nothing reaches the observer after it."""
        if self.on_next is _stopped:
            return
        self.on_next = _stopped
        try:
            if error is None:
                self.observer.on_completed()
            else:
                self.observer.on_error(error)
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            # reactivex's default on_error re-raises: the error itself, not the observer's
            report(Unhandled(exc) if exc is error else exc)


Routes = dict[Hashable, tuple[Sink, ...]]


class Router:
    """Holds every sink and delivers events to the matching ones.

    ``add``/``remove``/``drop`` are called by the core (under the session's lock);
    ``dispatch`` and ``deliver`` run in the lane and take no lock. An observer that raises is reported
    through ``report``; delivery goes on.
    """

    def __init__(self, report: Callable[[BaseException], None]) -> None:
        self._report = report
        self._routes: dict[Route, Routes] = {}

    def add(self, sink: Sink) -> None:
        """Register ``sink`` on its route and key."""
        by_key = dict(self._routes.get(sink.route, {}))
        by_key[sink.key] = by_key.get(sink.key, ()) + (sink,)
        self._routes[sink.route] = by_key

    def remove(self, sink: Sink) -> bool:
        """Unregister ``sink``; False when it was not registered (already removed)."""
        by_key = self._routes.get(sink.route)
        sinks = by_key.get(sink.key) if by_key else None
        if not sinks or sink not in sinks:
            return False
        assert by_key is not None
        by_key = dict(by_key)
        remaining = tuple(s for s in sinks if s is not sink)
        if remaining:
            by_key[sink.key] = remaining
        else:
            del by_key[sink.key]
        if by_key:
            self._routes[sink.route] = by_key
        else:
            del self._routes[sink.route]
        return True

    def drop(self, route: Route, streams_only: bool = False) -> list[Sink]:
        """Unregister and return the sinks of ``route`` (only the Rx streams, not the
        callback bindings, with ``streams_only``)."""
        by_key = self._routes.get(route, {})
        dropped = [s for sinks in by_key.values() for s in sinks if s.terminates or not streams_only]
        for sink in dropped:
            self.remove(sink)
        return dropped

    def routes(self) -> list[Route]:
        """Every route that holds at least one sink."""
        return list(self._routes)

    def sinks(self, route: Route, key: Hashable) -> tuple[Sink, ...]:
        """The sinks registered now for ``key`` on ``route``."""
        by_key = self._routes.get(route)
        return by_key.get(key, ()) if by_key else ()

    def dispatch(self, event: Event, route: Route | None, to_global: bool = True) -> None:
        """Deliver ``event`` to the sinks of ``route`` and, with ``to_global``, of the
        global route."""
        routes = self._routes
        if route is not None:
            by_key = routes.get(route)
            if by_key:
                self._deliver(by_key.get(event.name), event)
                self._deliver(by_key.get(ANY_EVENT), event)
        if to_global:
            by_key = routes.get(GLOBAL)
            if by_key:
                self._deliver(by_key.get(event.name), event)
                self._deliver(by_key.get(ANY_EVENT), event)

    def table(self, route: Route | None) -> Routes | None:
        """The sinks of ``route`` by key, as registered now (a snapshot: tables are
        replaced, never mutated), or None."""
        return self._routes.get(route) if route is not None else None

    def deliver(self, event: Event, routes: Routes | None, global_routes: Routes | None) -> None:
        """Deliver ``event`` to the sinks of two route tables taken earlier with
        :meth:`table` (a :class:`~rxpusher._core.effects.Deliver`)."""
        if routes:
            self._deliver(routes.get(event.name), event)
            self._deliver(routes.get(ANY_EVENT), event)
        if global_routes:
            self._deliver(global_routes.get(event.name), event)
            self._deliver(global_routes.get(ANY_EVENT), event)

    def _deliver(self, sinks: tuple[Sink, ...] | None, event: Event) -> None:
        if not sinks:
            return
        for sink in sinks:
            try:
                sink.on_next(event.data if sink.project else event)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self._report(exc)


def emit_to(sinks: tuple[Sink, ...], value: Any, report: Callable[[BaseException], None]) -> None:
    """Deliver ``value`` as is to ``sinks`` (a snapshot taken when the change was made)."""
    for sink in sinks:
        try:
            sink.on_next(value)
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            report(exc)


def end_all(sinks: list[Sink], error: Exception | None,
            report: Callable[[BaseException], None]) -> None:
    """Terminate ``sinks``: ``on_error(error)``, or ``on_completed()`` without one."""
    for sink in sinks:
        sink.end(error, report)


def observable(subscribe: Callable[[abc.ObserverBase[Any]], abc.DisposableBase]) -> Observable[Any]:
    """A cold Observable whose every subscription calls ``subscribe(observer)`` (which
    registers the observer with the session and returns its disposable)."""

    def on_subscribe(observer: abc.ObserverBase[Any],
                     scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        return subscribe(observer)

    return reactivex.create(on_subscribe)
