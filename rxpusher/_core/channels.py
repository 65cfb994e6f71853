"""Channel subscriptions (pure): reference counts, pins, authorizations in flight,
failures and presence rosters.

A :class:`ChannelRecord` exists while something refers to the name (an observer, a pin, a
state view, a binding, an authorization in flight); :meth:`Subscriptions.forget_if_idle`
drops it after that. A channel is *active* while it has counting observers or a pin: the
first makes it subscribe, the last to leave unsubscribes it.

An authorization in flight is a token (an int) on the record: an outcome that comes back
with another token, or for another socket id, is stale and ignored. Local signing (``secret``)
runs at once; the others are :class:`~rxpusher._core.effects.Authorize` effects that the
shell runs on a worker, bounded by an ``auth_timeout`` timer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import _encryption as encryption, _protocol as protocol
from .._exceptions import SubscriptionError
from .._presence import Roster
from .._protocol import Authorization, ChannelKind, Event
from .._router import GLOBAL, MEMBERS, Route, Sink
from .._states import ChannelState
from .effects import (
    Authorize,
    AuthorizeBatch,
    Changed,
    Deliver,
    Emit,
    End,
    Report,
    Send,
    SetTimer,
    Timer,
)

if TYPE_CHECKING:
    from .._auth import Authorizer
    from .._options import Options
    from .connection import Connection
    from .streams import Binding, Streams

S = ChannelState


class ChannelRecord:
    """What the core knows about one channel name."""

    __slots__ = (
        "name", "kind", "state", "observers", "pinned", "subscribed_on", "auth",
        "roster", "key", "key_fresh", "rotation", "count", "state_sinks", "bindings", "error",
        "lost_at", "interruption_sinks",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.kind = protocol.channel_kind(name)
        self.state = S.UNSUBSCRIBED
        self.observers = 0  # Rx streams and callback bindings that count
        self.pinned = False
        self.subscribed_on: str | None = None  # socket id the subscribe went out on
        self.auth: int | None = None  # the token of the authorization in flight
        self.roster = Roster() if self.kind is ChannelKind.PRESENCE else None
        self.key: bytes | None = None  # encrypted channels: the key in use
        self.key_fresh = False  # the key was renewed and no event opened with it yet
        self.rotation: list[Event] | None = None  # events held while the key is renewed
        self.count: int | None = None
        self.state_sinks: tuple[Sink, ...] = ()
        self.bindings: list[Binding] = []
        self.error: SubscriptionError | None = None  # why the subscription failed last
        self.lost_at: datetime | None = None  # when its subscribed connection was lost
        self.interruption_sinks: tuple[Sink, ...] = ()

    @property
    def active(self) -> bool:
        return self.observers > 0 or self.pinned


class Subscriptions:
    """Every channel record and the decisions about subscribing; effects go to ``out``."""

    def __init__(self, options: Options, authorizer: Authorizer, out: list[Any],
                 streams: Streams, connection: Connection,
                 wallclock: Callable[[], datetime]) -> None:
        self.options = options
        self.connection = connection
        self.authorizer = authorizer
        self.out = out
        self.streams = streams
        self.wallclock = wallclock
        self.channels: dict[str, ChannelRecord] = {}
        self._tokens = 0
        self._batching: list[str] | None = None  # channels collected for one batch call
        self.left: Callable[[str], None] = lambda name: None  # told when a channel is left

    # ---- records -------------------------------------------------------------------------

    def record(self, name: str) -> ChannelRecord:
        """The record of ``name``, created on first use (``MissingDependencyError`` for an
        encrypted channel without PyNaCl)."""
        channel = self.channels.get(name)
        if channel is None:
            if protocol.channel_kind(name) is ChannelKind.PRIVATE_ENCRYPTED:
                encryption.require_nacl()
            channel = self.channels[name] = ChannelRecord(name)
        return channel

    def forget_if_idle(self, channel: ChannelRecord) -> None:
        """Drop the record of a channel nothing refers to any more."""
        if (not channel.active and not channel.state_sinks and not channel.bindings
                and not channel.interruption_sinks and channel.auth is None
                and channel.rotation is None
                and self.channels.get(channel.name) is channel):
            del self.channels[channel.name]

    def token(self) -> int:
        self._tokens += 1
        return self._tokens

    def set_state(self, channel: ChannelRecord, state: ChannelState) -> None:
        if channel.state is state:
            return
        channel.state = state
        self.out.append(Changed)
        self.out.append(Emit(channel.state_sinks, state))

    # ---- reference counting ----------------------------------------------------------------

    def observer_joined(self, name: str) -> ChannelRecord:
        channel = self.record(name)
        channel.observers += 1
        if (channel.observers == 1 and not channel.pinned) or channel.state is S.FAILED:
            self.subscribe(channel)
        return channel

    def observer_left(self, name: str) -> None:
        channel = self.channels.get(name)
        if channel is not None:
            channel.observers -= 1
            if not channel.active:
                self.deactivate(channel)
            self.forget_if_idle(channel)

    def pin(self, name: str) -> None:
        channel = self.record(name)
        if channel.pinned:
            if channel.state is S.FAILED:
                self.subscribe(channel)
        else:
            channel.pinned = True
            if channel.observers == 0 or channel.state is S.FAILED:
                self.subscribe(channel)

    # ---- subscribing -------------------------------------------------------------------------

    def subscribe(self, channel: ChannelRecord) -> None:
        """Subscribe on the current socket, or wait as ``pending`` for one."""
        channel.auth = None
        self.set_state(channel, S.PENDING)
        socket_id = self.connection.socket_id
        if socket_id is None or not self.connection.interactive:
            return
        authorizer = self.authorizer
        if channel.kind is ChannelKind.PUBLIC:
            self.send_subscribe(channel, socket_id, Authorization(""))
        elif authorizer.channel_is_local:
            try:
                authorization = authorizer.channel(channel.name, socket_id)
            except SubscriptionError as error:
                self.fail(channel, error, synthesize=True)
            else:
                self.send_subscribe(channel, socket_id, authorization)
        else:
            token = channel.auth = self.token()
            if self._batching is not None and authorizer.batch is not None:
                self._batching.append(channel.name)
            else:
                self.out.append(Authorize(channel.name, socket_id, token))
            self.out.append(SetTimer(Timer.AUTH, self.options.auth_timeout, (channel.name, token)))

    def resubscribe(self, socket_id: str) -> None:
        """Subscribe every active channel on a new socket (one batch call with
        ``auth_batch``)."""
        self._batching = [] if self.authorizer.batch is not None else None
        try:
            for channel in list(self.channels.values()):
                if channel.active:
                    self.subscribe(channel)
            if self._batching:
                names = tuple(self._batching)
                tokens = tuple(self.channels[name].auth or 0 for name in names)
                self.out.append(AuthorizeBatch(socket_id, names, tokens))
        finally:
            self._batching = None

    def auth_expired(self, name: str, token: int) -> None:
        timeout = self.options.auth_timeout
        self.authorized(name, self.connection.socket_id or "", token, SubscriptionError(
            name, 0, f"authorization did not finish within auth_timeout ({timeout} s)"))

    def authorized(self, name: str, socket_id: str, token: int,
                   outcome: Authorization | SubscriptionError) -> None:
        """An authorization came back (a worker, or the deadline)."""
        channel = self.channels.get(name)
        if channel is None or channel.auth != token or socket_id != self.connection.socket_id:
            return
        channel.auth = None
        if isinstance(outcome, SubscriptionError):
            self.fail(channel, outcome, synthesize=True)
        else:
            self.send_subscribe(channel, socket_id, outcome)

    def send_subscribe(self, channel: ChannelRecord, socket_id: str,
                       authorization: Authorization) -> None:
        payload: dict[str, Any] = {"channel": channel.name}
        if authorization.auth:
            payload["auth"] = authorization.auth
        if authorization.channel_data is not None:
            payload["channel_data"] = authorization.channel_data
            if channel.roster is not None:
                channel.roster.set_me(authorization.channel_data)
        if channel.kind is ChannelKind.PRIVATE_ENCRYPTED:
            channel.key = authorization.shared_secret
            channel.key_fresh = False
        self.out.append(Send(protocol.encode_frame(protocol.SUBSCRIBE, payload)))
        channel.subscribed_on = socket_id

    # ---- leaving and failing -------------------------------------------------------------------

    def clear_roster(self, channel: ChannelRecord) -> None:
        if channel.roster is not None:
            snapshot = channel.roster.clear()
            self.out.append(Emit(self.streams.router.sinks(channel.name, MEMBERS), snapshot))

    def deactivate(self, channel: ChannelRecord) -> None:
        """Nothing wants the channel any more: leave it on the server."""
        channel.auth = None
        if channel.subscribed_on is not None and channel.subscribed_on == self.connection.socket_id:
            self.out.append(Send(protocol.encode_frame(protocol.UNSUBSCRIBE,
                                                       {"channel": channel.name})))
        channel.subscribed_on = None
        channel.count = None
        channel.lost_at = None
        self.left(channel.name)
        self.clear_roster(channel)
        if channel.state is not S.FAILED:
            self.set_state(channel, S.UNSUBSCRIBED)

    def fail(self, channel: ChannelRecord, error: SubscriptionError, synthesize: bool) -> None:
        """The subscription failed: error the channel's Rx streams (not its bindings).

        ``synthesize`` delivers a ``pusher:subscription_error`` event first, as the server
        would have, for failures found locally (authorization)."""
        channel.auth = None
        channel.subscribed_on = None
        channel.error = error
        self.set_state(channel, S.FAILED)
        self.out.append(Report(error))
        if synthesize:
            data = {"type": "AuthError", "error": error.message, "status": error.status}
            self.out.append(self.deliver(
                Event(protocol.SUBSCRIPTION_ERROR, channel.name, data), channel.name))
        self.error_streams(channel, error)

    def error_streams(self, channel: ChannelRecord, error: Exception) -> None:
        dropped = self.streams.router.drop(channel.name, streams_only=True)
        channel.observers -= len(dropped)
        if not channel.active and channel.state is not S.FAILED:
            self.deactivate(channel)
        self.out.append(End(dropped, error))

    def deliver(self, event: Event, route: Route | None, to_global: bool = True) -> Deliver:
        """A :class:`~rxpusher._core.effects.Deliver` to the observers registered now."""
        router = self.streams.router
        return Deliver(event, route, to_global, router.table(route),
                       router.table(GLOBAL) if to_global else None)

    def connection_lost(self) -> None:
        """Every channel waits for the next connection."""
        lost_at: datetime | None = None
        for channel in list(self.channels.values()):
            if channel.state is S.SUBSCRIBED and channel.lost_at is None:
                lost_at = lost_at or self.wallclock()
                channel.lost_at = lost_at
            channel.auth = None
            channel.subscribed_on = None
            channel.count = None
            if channel.roster is not None and channel.roster.ready:
                self.clear_roster(channel)
            self.set_state(channel, S.PENDING if channel.active else S.UNSUBSCRIBED)
            self.forget_if_idle(channel)
