"""The states of a connection and of a channel subscription (``StrEnum``: each member
equals its string, so ``state == "connected"`` keeps working), and the reports about them
over time: :class:`Interruption` and :class:`Health`."""


import enum
from datetime import datetime
from typing import NamedTuple

__all__ = ["AttemptCause", "ChannelState", "ConnectionState", "Health", "Interruption"]


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


class AttemptCause(enum.StrEnum):
    """Why a connection attempt failed (:attr:`ConnectAttemptError.cause`); each member
    equals its string."""

    REFUSED = "refused"
    """Nothing listens on the port."""
    DNS = "dns"
    """The host name does not resolve."""
    TLS = "tls"
    """Certificate verification or the TLS handshake failed."""
    TIMEOUT = "timeout"
    """``connect_timeout`` passed (the upgrade and the Pusher handshake together)."""
    HANDSHAKE = "handshake"
    """The WebSocket upgrade was refused, or ``pusher:connection_established`` unusable."""
    PROXY = "proxy"
    """The ``proxy`` refused the connection or its name does not resolve."""
    NETWORK = "network"
    """Anything else: the connection was reset, lost, unreachable."""


class Interruption(NamedTuple):
    """A channel was subscribed again after its connection was lost: events published
    between ``lost_at`` and ``resubscribed_at`` (UTC ``datetime``s) may be missing."""

    channel: str
    lost_at: datetime
    resubscribed_at: datetime


class Health(NamedTuple):
    """A snapshot of a client's connection, from ``Pusher.health(interval)``."""

    state: ConnectionState
    connected_for: float | None
    """Seconds since the current connection's handshake, or None while not connected."""
    reconnects: int
    """Connections re-established after the first handshake (failed attempts don't count)."""
    frames: int
    """Text frames received since the client was created, across reconnects."""
    bytes: int
    """Their UTF-8 length in bytes."""
    frames_per_second: float
    """Frames per second over the last interval."""
    last_frame_age: float | None
    """Seconds since the last frame, or None before the first."""
