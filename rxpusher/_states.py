"""The states of a connection and of a channel subscription (``StrEnum``: each member
equals its string, so ``state == "connected"`` keeps working)."""

from __future__ import annotations

import enum

__all__ = ["ChannelState", "ConnectionState"]


class ConnectionState(enum.StrEnum):
    """What ``pusher.state`` emits, as in pusher-js."""

    INITIALIZED = "initialized"
    """Created, ``connect()`` not called yet."""
    CONNECTING = "connecting"
    """An attempt is under way (or the next one is scheduled)."""
    CONNECTED = "connected"
    """The handshake completed: ``socket_id`` is set."""
    UNAVAILABLE = "unavailable"
    """Still not connected ``unavailable_timeout`` after ``connecting`` began."""
    FAILED = "failed"
    """The reconnect policy gave up (``Backoff(max_attempts=...)``)."""
    DISCONNECTED = "disconnected"
    """After ``disconnect()``, ``close()`` or a refused connection."""


class ChannelState(enum.StrEnum):
    """What ``channel.state`` emits."""

    UNSUBSCRIBED = "unsubscribed"
    """Nothing wants the channel (or it was left)."""
    PENDING = "pending"
    """Wanted: waiting for a connection, its authorization or the server's answer."""
    SUBSCRIBED = "subscribed"
    """The server confirmed the subscription."""
    FAILED = "failed"
    """The subscription was rejected or could not be authorized."""
