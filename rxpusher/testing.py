"""A testing kit: drive a :class:`~rxpusher.Pusher` with scripted frames, no network.

>>> from reactivex.testing import TestScheduler
>>> server = ScriptedServer()
>>> pusher = Pusher("key", transport=server.transport, timer_scheduler=TestScheduler())  # doctest: +SKIP
>>> server.handshake()                        # the client is now connected  # doctest: +SKIP
>>> server.push("my-event", {"x": 1}, channel="my-channel")                  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

from .protocol import encode_frame
from .transport import TransportListener

__all__ = ["ScriptedServer", "ScriptedTransport"]


class ScriptedTransport:
    """One scripted connection attempt: records what the client sends, replays what the
    test says the server sends, on the test's own thread."""

    def __init__(self, server: ScriptedServer) -> None:
        self._server = server
        self.url: str | None = None
        self.listener: TransportListener | None = None
        self.sent: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self.alive = True

    def open(self, url: str, listener: TransportListener) -> None:
        """Record the URL and the listener; nothing happens until the test says so."""
        self.url = url
        self.listener = listener

    def send(self, text: str) -> None:
        """Record a frame the client sent (decoded into ``sent``)."""
        if self.closed_with is not None:
            raise ConnectionError("scripted socket is closed")
        self.sent.append(json.loads(text))

    def close(self, code: int = 1000) -> None:
        """The client closed this socket with ``code`` (kept in ``closed_with``)."""
        self.closed_with = code
        self.alive = False

    def join(self, timeout: float | None = None) -> None:
        """Nothing to wait for: a scripted transport has no thread."""

    def _listener(self) -> TransportListener:
        assert self.listener is not None, "the client has not opened this transport"
        return self.listener

    def receive(self, text: str) -> None:
        """The server sends the raw text frame ``text``."""
        self._listener().on_frame(text)

    def drop(self, code: int | None = None, reason: str = "") -> None:
        """The server closes the socket with ``code`` (None: it just vanishes)."""
        self.alive = False
        self._listener().on_close(code, reason)


class ScriptedServer:
    """Hands out :class:`ScriptedTransport` objects and scripts the current one.

    Pass ``server.transport`` as the ``transport`` option of ``Pusher``.
    """

    def __init__(self) -> None:
        self.transports: list[ScriptedTransport] = []

    def transport(self) -> ScriptedTransport:
        """Transport factory for the ``transport`` option."""
        transport = ScriptedTransport(self)
        self.transports.append(transport)
        return transport

    @property
    def current(self) -> ScriptedTransport:
        """The newest transport the client opened."""
        assert self.transports, "the client has not connected yet"
        return self.transports[-1]

    @property
    def attempts(self) -> int:
        """How many connection attempts the client made."""
        return len(self.transports)

    def sent(self, event: str | None = None) -> list[dict[str, Any]]:
        """Every frame the client sent on any transport, optionally only ``event`` ones."""
        frames = [frame for t in self.transports for frame in t.sent]
        return frames if event is None else [f for f in frames if f.get("event") == event]

    def handshake(self, socket_id: str = "1234.5678", activity_timeout: float | None = 120) -> None:
        """Send ``pusher:connection_established`` on the current transport."""
        data: dict[str, Any] = {"socket_id": socket_id}
        if activity_timeout is not None:
            data["activity_timeout"] = activity_timeout
        self.current.receive(encode_frame("pusher:connection_established", json.dumps(data)))

    def push(self, event: str, data: Any = None, channel: str | None = None,
             user_id: str | None = None, encode: bool = True) -> None:
        """Send an event; ``data`` is JSON-encoded into a string as Pusher does unless
        ``encode`` is False."""
        message: dict[str, Any] = {"event": event, "data": json.dumps(data) if encode else data}
        if channel is not None:
            message["channel"] = channel
        if user_id is not None:
            message["user_id"] = user_id
        self.current.receive(json.dumps(message))

    def succeed(self, channel: str, data: Any = None) -> None:
        """Confirm a subscription (``pusher_internal:subscription_succeeded``)."""
        self.push("pusher_internal:subscription_succeeded", data or {}, channel=channel)
