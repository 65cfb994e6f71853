"""Driving :class:`rxpusher._core.Core` without threads: inputs in, effects out.

``make_core(**options)`` builds a core with a fake clock (``core.now[0]`` is the time) and
real options (``reconnect=Backoff(jitter=False)`` unless given); ``frame(name, data,
channel)`` is what the reader hands to ``receive``;
``connected(core)`` makes the handshake and drops the effects it caused.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from rxpusher import Backoff, _protocol as protocol
from rxpusher._auth import Authorizer
from rxpusher._core import Core
from rxpusher._core.effects import Deliver
from rxpusher._options import Options
from rxpusher._protocol import Event
from rxpusher._router import Sink

SOCKET_ID = "1234.5678"
WALL = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeCore(Core):
    now: list[float]


def make_core(**options: Any) -> FakeCore:
    now = [0.0]
    reported: list[BaseException] = []
    options.setdefault("reconnect", Backoff(jitter=False))
    opts = Options.from_kwargs(options.pop("key", "key"), options)
    core = FakeCore(opts, Authorizer(opts), lambda: now[0], lambda: WALL, reported.append)
    core.now = now
    return core


def frame(name: str, data: Any = None, channel: str | None = None) -> tuple[Event, str]:
    """An event as decoded from the frame the server sends (data JSON-encoded)."""
    message: dict[str, Any] = {"event": name, "data": json.dumps(data)}
    if channel is not None:
        message["channel"] = channel
    text = json.dumps(message)
    return protocol.decode_frame(text), text


def receive(core: Core, name: str, data: Any = None, channel: str | None = None) -> list[Any]:
    """The server sends an event on the current attempt; the effects it causes."""
    event, text = frame(name, data, channel)
    core.receive(core.connection.attempt, event, text)
    return core.take()


def connected(core: Core, activity_timeout: float = 120) -> None:
    core.connect()
    receive(core, protocol.CONNECTION_ESTABLISHED,
            {"socket_id": SOCKET_ID, "activity_timeout": activity_timeout})


class Observer:
    """An observer that keeps what it is given (it is never called by a core test: effects
    carry sinks, and the test looks at them)."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def on_next(self, value: Any) -> None:
        self.items.append(value)

    def on_error(self, error: Exception) -> None:
        self.items.append(("error", error))

    def on_completed(self) -> None:
        self.items.append("completed")


def sink(route: Any, key: Any = None, project: bool = True, terminates: bool = True) -> Sink:
    return Sink(Observer(), project, terminates, route, key)


def sent(effects: list[Any]) -> list[dict[str, Any]]:
    """The frames among ``effects``, decoded."""
    from rxpusher._core.effects import Send

    return [json.loads(e.text) for e in effects if isinstance(e, Send)]


def delivered(effects: list[Any]) -> list[tuple[str, Any, Any]]:
    """``(event name, route, data)`` of each Deliver among ``effects``."""
    return [(e.event.name, e.route, e.event.data) for e in effects if isinstance(e, Deliver)]


def of(kind: type, effects: list[Any]) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]
