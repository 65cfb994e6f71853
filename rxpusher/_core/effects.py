"""What the core asks the shell to do: the effects of one step.

Every input of :class:`~rxpusher._core.Core` appends effects to ``core.out`` (a list, in the
order the decisions were made); the shell takes them with ``core.take()`` while it still
holds the session lock and executes them after releasing it. Two kinds:

- **notifications** (:class:`Emit`, :class:`Deliver`, :class:`End`, :class:`Report`,
  :class:`Run`): go to the delivery lane, in order, never under a lock;
- **actions** (:class:`Send`, :class:`Open`, :class:`CloseTransport`, :class:`SetTimer`,
  :class:`CancelTimer`, :class:`Authorize`, :class:`AuthorizeBatch`, :class:`AuthorizeUser`,
  :class:`Dispose`, :class:`Changed`): I/O and threads, run by the shell in order.

To add an effect: define it here (a ``NamedTuple``, or a class with ``__eq__`` on what a test
checks), append it where the core decides it, and give the shell's executor table in
``rxpusher/_session.py`` an entry for it. Effects compare by value, so a core test reads
``assert core.take() == [Send(...), Emit(...)]``.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .._protocol import Event

if TYPE_CHECKING:
    from .._exceptions import PusherError
    from .._router import Route, Routes, Sink


class Timer(enum.Enum):
    """The core's timers; ``SetTimer(timer, delay, key)`` replaces the one with the same
    ``(timer, key)``, and the shell hands ``timer_fired(timer, key)`` back when it fires."""

    LIVENESS = "liveness"
    """Activity check, or pong check while a ping is unanswered."""
    RETRY = "retry"
    """The next connection attempt (the backoff)."""
    UNAVAILABLE = "unavailable"
    """``unavailable_timeout`` after ``connecting`` began."""
    ATTEMPT = "attempt"
    """``connect_timeout`` for one attempt (key: the attempt number)."""
    AUTH = "auth"
    """``auth_timeout`` for one authorization (key: ``(channel, token)``)."""
    HEALTH = "health"
    """The next ``Health`` snapshot of one observer (key: its sink)."""
    CLIENT_EVENTS = "client_events"
    """The next queued client event's turn (``client_event_rate``)."""
    CHUNKS = "chunks"
    """The oldest chunked event in progress reaches ``chunk_timeout``."""


# ---- actions -------------------------------------------------------------------------------


class Send(NamedTuple):
    """Send ``text`` on the current connection (a failure is reported on ``errors``)."""

    text: str


class Open(NamedTuple):
    """Create a transport and open ``url``; its reports carry ``attempt``."""

    attempt: int
    url: str


class CloseTransport(NamedTuple):
    """Close the current transport with ``code``; nothing it reports is heard any more.
    ``code`` None: it closed by itself, only forget it."""

    code: int | None


class SetTimer(NamedTuple):
    """Call ``timer_fired(timer, key)`` in ``delay`` seconds, replacing the same timer."""

    timer: Timer
    delay: float
    key: Hashable = None


class CancelTimer(NamedTuple):
    """Forget the timer ``(timer, key)``."""

    timer: Timer
    key: Hashable = None


class Authorize(NamedTuple):
    """Run the channel authorizer for ``channel`` on a worker; hand the outcome back with
    ``authorized(channel, socket_id, token, outcome)`` (``rotated(...)`` with ``rotation``:
    the key of an encrypted channel is renewed)."""

    channel: str
    socket_id: str
    token: int
    rotation: bool = False


class AuthorizeBatch(NamedTuple):
    """One batch authorization call for ``channels`` (each outcome to ``authorized``)."""

    socket_id: str
    channels: tuple[str, ...]
    tokens: tuple[int, ...]


class AuthorizeUser(NamedTuple):
    """Run the user authorizer on a worker; the outcome goes to ``user_authorized``."""

    socket_id: str
    token: int


class Dispose(NamedTuple):
    """Dispose these subscriptions (callback bindings), after the lock is released."""

    disposables: tuple[Any, ...]


class _Changed:
    """Wake the threads in ``wait_connected``/``wait_subscribed``: a state changed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Changed"


Changed = _Changed()


# ---- notifications -------------------------------------------------------------------------


class Emit(NamedTuple):
    """``on_next(value)`` to each of ``sinks`` (a snapshot taken when it was decided)."""

    sinks: tuple[Sink, ...]
    value: Any


class End(NamedTuple):
    """Terminate ``sinks``: ``on_error(error)``, or ``on_completed()`` when it is None."""

    sinks: Sequence[Sink]
    error: Exception | None


class Report(NamedTuple):
    """Put ``error`` on ``errors`` (logged, rate-limited)."""

    error: PusherError


class Run(NamedTuple):
    """Call ``call()`` in the lane (closing a recording, after the frames written to it)."""

    call: Any


class Deliver:
    """Route ``event`` to the observers of ``route`` (and of the global route with
    ``to_global``) that were registered when it was decided: the route tables are
    snapshots, replaced and never mutated. Compares by ``event``, ``route`` and
    ``to_global``."""

    __slots__ = ("event", "route", "to_global", "routes", "global_routes")

    def __init__(self, event: Event, route: Route | None, to_global: bool,
                 routes: Routes | None, global_routes: Routes | None) -> None:
        self.event = event
        self.route = route
        self.to_global = to_global
        self.routes = routes
        self.global_routes = global_routes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Deliver):
            return NotImplemented
        return (self.event, self.route, self.to_global) == (other.event, other.route,
                                                            other.to_global)

    def __hash__(self) -> int:
        return hash((self.event.name, self.route, self.to_global))

    def __repr__(self) -> str:
        return f"Deliver({self.event!r}, {self.route!r}, to_global={self.to_global})"


NOTIFICATIONS = (Emit, End, Report, Run, Deliver)
"""The effect types that go to the delivery lane; every other one is an action."""
