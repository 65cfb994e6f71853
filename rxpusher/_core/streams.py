"""Who observes what (pure bookkeeping): the router's routes, the session-wide streams,
the recordings and the callback bindings.

The shell reads ``frames``, ``messages`` and ``recordings`` without the lock on the hot
path: they are tuples, replaced (never mutated) under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._router import Route, Router, Sink

Binding = tuple[str | None, Callable[..., Any], Any]
"""A callback binding: its event (None: every event), the callback, its subscription."""

HUBS = ("frames", "messages", "errors", "state", "watchlist", "health")
"""The session-wide streams, by the name ``observe_hub`` takes."""


class Streams:
    """Every observer of one client, by where it listens."""

    def __init__(self, report_observer: Callable[[BaseException], None]) -> None:
        self.router = Router(report_observer)
        self.frames: tuple[Sink, ...] = ()
        self.messages: tuple[Sink, ...] = ()
        self.errors: tuple[Sink, ...] = ()
        self.state: tuple[Sink, ...] = ()
        self.watchlist: tuple[Sink, ...] = ()
        self.health: tuple[Sink, ...] = ()
        self.recordings: tuple[Any, ...] = ()  # objects with write(text, at) and close()
        self.global_bindings: list[Binding] = []

    def hub(self, which: str) -> tuple[Sink, ...]:
        if which not in HUBS:
            raise ValueError(f"no stream named {which!r}")
        sinks: tuple[Sink, ...] = getattr(self, which)
        return sinks

    def join(self, which: str, sink: Sink) -> None:
        setattr(self, which, self.hub(which) + (sink,))

    def leave(self, which: str, sink: Sink) -> bool:
        sinks = self.hub(which)
        if sink not in sinks:
            return False
        setattr(self, which, tuple(s for s in sinks if s is not sink))
        return True

    def drop_all(self) -> list[Sink]:
        """Unregister every sink (close): the router's, then the session-wide streams'."""
        router = self.router
        dropped = [sink for route in router.routes() for sink in router.drop(route)]
        return dropped

    def routes(self, route: Route) -> Any:
        return self.router.table(route)
