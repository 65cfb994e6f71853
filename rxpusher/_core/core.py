"""The core: every input of the client, one method each (pure).

Inputs are user calls (``connect``, ``pin``, ``attach``, ...), transport reports
(``receive``, ``closed``), timers (``timer_fired``), authorization outcomes
(``authorized``, ``rotated``, ``user_authorized``) and "now" (the injected ``clock``). Each
appends its effects to ``out``; the shell calls it with the session lock held and executes
``take()`` after releasing it. A few lock-free reads serve the hot path: ``route``,
``activity`` and ``frames_arrived`` touch counters and immutable tables only.

To add an input: a method here that checks what makes it stale (``connection.current``,
a token) and delegates to the component that owns the state; the shell calls it through
``ClientSession._step``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import _protocol as protocol
from .._chunks import whole_name
from .._exceptions import (
    AuthenticationError,
    ClosedError,
    ConnectAttemptError,
    ConnectionRefused,
    ProtocolError,
    PusherError,
    SendError,
    SubscriptionError,
)
from .._protocol import Authorization, Event, UserAuthorization, shorten
from .._router import GLOBAL, MEMBERS, USER, Route, RouteKey, Sink
from .._states import AttemptCause, ChannelState, ConnectionState, Health
from . import keys
from .channels import Subscriptions
from .chunked import Chunked
from .client_events import ClientEvents
from .connection import Connection
from .effects import (
    CancelTimer,
    Changed,
    CloseTransport,
    Dispose,
    Emit,
    End,
    Report,
    Run,
    SetTimer,
    Timer,
)
from .handlers import HANDLERS
from .streams import Binding, Streams
from .user import SignIn

if TYPE_CHECKING:
    from .._auth import Authorizer
    from .._options import Options

log = logging.getLogger("rxpusher")

C = ConnectionState
S = ChannelState

STEP = RouteKey("step")
"""What :meth:`Core.route` answers for an event the core must decide under the lock."""
DROP = RouteKey("drop")
"""What :meth:`Core.route` answers for an event nobody may see."""

_ENCRYPTED = "private-encrypted-"
_INTERNAL = INTERNAL_PREFIX = protocol.INTERNAL_PREFIX
_TO_USER = protocol.SERVER_TO_USER_PREFIX

DECIDED_PREFIXES = ("#", _ENCRYPTED)
"""Channels whose events :meth:`Core.route` decides one by one (the signed-in user's, the
encrypted ones). The rule of the hot path: an event on any other channel that is neither a
protocol event (:data:`~rxpusher._core.handlers.HANDLERS`), nor internal, nor possibly a
part of a chunked event (:data:`CHUNKED`) goes to its channel's streams and the global ones;
:func:`is_plain` says so, and the shell applies it inline (it is :meth:`Core.route`'s answer
for those events, without a call per event)."""

CHUNKED = "chunked-"
"""In the name of every part of a chunked event (``chunked-x``, ``client-chunked-x``)."""


def is_plain(name: str, channel: str | None) -> bool:
    """True for an event :meth:`Core.route` routes to ``channel`` without looking at state
    (the shell inlines this test on the hot path)."""
    return (channel is not None and name not in HANDLERS and not name.startswith(_INTERNAL)
            and not channel.startswith(DECIDED_PREFIXES) and CHUNKED not in name)


class Core:
    """The client's state and decisions; see the package docstring."""

    def __init__(self, options: Options, authorizer: Authorizer, clock: Callable[[], float],
                 wallclock: Callable[[], datetime],
                 report_observer: Callable[[BaseException], None]) -> None:
        self.options = options
        self.clock = clock
        self.out: list[Any] = []
        self.closed = False
        self.streams = Streams(report_observer)
        self.connection = Connection(options, self.out, self.streams, clock)
        self.subscriptions = Subscriptions(options, authorizer, self.out, self.streams,
                                           self.connection, wallclock)
        self.user = SignIn(authorizer, self.out, self.subscriptions.deliver)
        self.client_events = ClientEvents(options, self.out, self.subscriptions, clock)
        self.chunked = Chunked(options, self.out, self.subscriptions, clock)
        # read and written without the lock by the reader: counters only
        self.frames_in = 0
        self.bytes_in = 0
        self.last_frame_at: float | None = None
        self._health: dict[Sink, list[float]] = {}  # sink -> [interval, frames at last tick]

    def take(self) -> list[Any]:
        """The effects decided since the last call, in order."""
        out = self.out
        effects = out.copy()
        out.clear()
        return effects

    # ---- user calls: the connection --------------------------------------------------------

    def check_open(self) -> None:
        """Raise :class:`ClosedError` after ``close()``."""
        if self.closed:
            raise ClosedError("this Pusher client is closed; create a new one")

    def connect(self) -> None:
        self.check_open()
        conn = self.connection
        conn.wanted = True
        conn.stopped_by = None
        if not conn.open and conn.state not in (C.CONNECTING, C.UNAVAILABLE):
            conn.start_attempts()

    def disconnect(self) -> None:
        self.connection.wanted = False
        self.connection.cancel_timers()
        self._drop_connection(C.DISCONNECTED)

    def reconnect(self) -> None:
        self.check_open()
        self.out.append(CancelTimer(Timer.RETRY))
        self.out.append(CancelTimer(Timer.LIVENESS))
        self._drop_connection(None)
        self.connection.start_attempts()

    def ping(self) -> None:
        if self.connection.state is C.CONNECTED:
            self.connection.send_ping()

    def signin(self) -> None:
        self.check_open()
        self.user.want(self.connection.socket_id)

    def close(self) -> bool:
        """End for good: every stream completes, every binding is disposed. False when
        closed already."""
        if self.closed:
            return False
        self.disconnect()
        self.closed = True
        out = self.out
        out.append(Changed)
        subs, streams = self.subscriptions, self.streams
        for channel in subs.channels.values():
            channel.auth = None
        self.user.auth = None
        out.append(End(streams.drop_all(), None))
        bindings = list(streams.global_bindings)
        streams.global_bindings.clear()
        for channel in subs.channels.values():
            channel.observers = 0
            subs.set_state(channel, ChannelState.UNSUBSCRIBED)  # its stream ends as it is
            out.append(End(list(channel.state_sinks + channel.interruption_sinks), None))
            channel.state_sinks = channel.interruption_sinks = ()
            bindings.extend(channel.bindings)
            channel.bindings = []
        subs.channels.clear()
        recordings, streams.recordings = streams.recordings, ()
        for recording in recordings:
            out.append(Run(recording.close))
        for sink in self._health:
            out.append(CancelTimer(Timer.HEALTH, sink))
        self._health.clear()
        for which in ("frames", "messages", "state", "watchlist", "health", "errors"):
            out.append(End(list(streams.hub(which)), None))
            setattr(streams, which, ())
        if bindings:
            out.append(Dispose(tuple(subscription for _, _, subscription in bindings)))
        return True

    def _drop_connection(self, state: ConnectionState | None) -> None:
        """Close the socket on our side (then enter ``state``, if given); every channel waits
        for the next connection."""
        conn = self.connection
        conn.drop_transport(1000)
        conn.socket_id = None
        if state is not None:
            conn.set_state(state)
        self._lose_channels()

    def _lose_channels(self) -> None:
        self.connection.connected_at = None
        self.subscriptions.connection_lost()
        self.user.lost()
        self.client_events.lost()

    def switch_cluster(self, options: Options, authorizer: Authorizer) -> None:
        """Other settings (``Pusher.switch_cluster``): reconnect at once unless disconnected."""
        self.check_open()
        self.options = self.subscriptions.options = options
        self.subscriptions.authorizer = self.user.authorizer = authorizer
        self.connection.switch(options)
        if self.connection.wanted:
            self.reconnect()  # the channels resubscribe, an Interruption each

    # ---- user calls: channels ----------------------------------------------------------------

    def pin(self, name: str) -> None:
        """``pusher.subscribe(name)``."""
        self.check_open()
        self.subscriptions.pin(name)

    def unpin(self, name: str) -> None:
        """``pusher.unsubscribe(name)``: leave, complete the channel's streams and bindings."""
        subs = self.subscriptions
        channel = subs.channels.get(name)
        if channel is None:
            return
        channel.pinned = False
        dropped = self.streams.router.drop(name)
        channel.observers = 0
        subs.deactivate(channel)
        bindings, channel.bindings = channel.bindings, []
        self.out.append(End(dropped, None))
        subs.forget_if_idle(channel)
        if bindings:
            self.out.append(Dispose(tuple(subscription for _, _, subscription in bindings)))

    def active_channels(self) -> list[str]:
        return [name for name, c in self.subscriptions.channels.items() if c.active]

    def trigger(self, name: str, event: str, texts: list[str]) -> tuple[int, list[str]]:
        """Pace a client event's frames or raise: the attempt, and the frames to send now."""
        self.check_open()
        channel = self.subscriptions.channels.get(name)
        if channel is None or channel.state is not S.SUBSCRIBED:
            raise SendError(f"cannot trigger {event!r}: {name!r} is not subscribed")
        if not self.connection.open or self.connection.state is not C.CONNECTED:
            raise SendError(f"cannot trigger {event!r}: the connection is down")
        return self.connection.attempt, self.client_events.push(name, texts)

    def add_binding(self, channel: str | None, binding: Binding) -> bool:
        """Keep a callback binding; False (the shell disposes it) after ``close()``."""
        if self.closed:
            return False
        if channel is None:
            self.streams.global_bindings.append(binding)
        else:
            self.subscriptions.record(channel).bindings.append(binding)
        return True

    def unbind(self, channel: str | None, event: str | None,
               callback: Callable[..., Any] | None) -> None:
        if channel is None:
            entries = self.streams.global_bindings
        else:
            record = self.subscriptions.channels.get(channel)
            entries = record.bindings if record is not None else []
        matching = [e for e in entries
                    if (event is None or e[0] == event) and (callback is None or e[1] == callback)]
        for entry in matching:
            entries.remove(entry)
        if matching:
            self.out.append(Dispose(tuple(subscription for _, _, subscription in matching)))

    # ---- user calls: observers -----------------------------------------------------------------

    def _closed_sink(self, sink: Sink) -> bool:
        if self.closed:
            self.out.append(End([sink], None))
        return self.closed

    def join_hub(self, which: str, sink: Sink) -> bool:
        """Observe a session-wide stream; False (completed at once) after ``close()``."""
        if self._closed_sink(sink):
            return False
        self.streams.join(which, sink)
        if which == "state":
            self.out.append(Emit((sink,), self.connection.state))
        return True

    def leave_hub(self, which: str, sink: Sink) -> None:
        self.streams.leave(which, sink)

    def attach(self, sink: Sink) -> bool:
        """Observe a route (a channel's stream counts for its reference count)."""
        if self._closed_sink(sink):
            return False
        route = sink.route
        if isinstance(route, str):
            self.subscriptions.record(route)  # raises before anything changed
        self.streams.router.add(sink)
        if isinstance(route, str):
            channel = self.subscriptions.observer_joined(route)
            if sink.key is MEMBERS and channel.roster is not None and channel.roster.ready:
                self.out.append(Emit((sink,), channel.roster.snapshot))
        return True

    def detach(self, sink: Sink) -> None:
        if self.streams.router.remove(sink) and isinstance(sink.route, str):
            self.subscriptions.observer_left(sink.route)

    def join_channel_state(self, name: str, sink: Sink) -> bool:
        if self._closed_sink(sink):
            return False
        channel = self.subscriptions.record(name)
        channel.state_sinks = channel.state_sinks + (sink,)
        self.out.append(Emit((sink,), channel.state))
        return True

    def leave_channel_state(self, name: str, sink: Sink) -> None:
        channel = self.subscriptions.channels.get(name)
        if channel is not None:
            channel.state_sinks = tuple(s for s in channel.state_sinks if s is not sink)
            self.subscriptions.forget_if_idle(channel)

    def join_interruptions(self, name: str, sink: Sink) -> bool:
        if self._closed_sink(sink):
            return False
        channel = self.subscriptions.record(name)
        channel.interruption_sinks = channel.interruption_sinks + (sink,)
        return True

    def leave_interruptions(self, name: str, sink: Sink) -> None:
        channel = self.subscriptions.channels.get(name)
        if channel is not None:
            channel.interruption_sinks = tuple(
                s for s in channel.interruption_sinks if s is not sink)
            self.subscriptions.forget_if_idle(channel)

    def join_health(self, sink: Sink, interval: float) -> bool:
        if self._closed_sink(sink):
            return False
        self.streams.join("health", sink)
        self._health[sink] = [interval, float(self.frames_in)]
        self.out.append(SetTimer(Timer.HEALTH, interval, sink))
        return True

    def leave_health(self, sink: Sink) -> None:
        if self.streams.leave("health", sink):
            self._health.pop(sink, None)
            self.out.append(CancelTimer(Timer.HEALTH, sink))

    def _health_due(self, sink: Sink) -> None:
        entry = self._health.get(sink)
        if self.closed or entry is None:
            return
        interval, frames_then = entry
        conn = self.connection
        now = self.clock()
        frames = self.frames_in
        self.out.append(Emit((sink,), Health(
            state=conn.state,
            connected_for=None if conn.connected_at is None else now - conn.connected_at,
            reconnects=max(0, conn.handshakes - 1),
            frames=frames,
            bytes=self.bytes_in,
            frames_per_second=(frames - frames_then) / interval,
            last_frame_age=None if self.last_frame_at is None else now - self.last_frame_at,
        )))
        entry[1] = frames
        self.out.append(SetTimer(Timer.HEALTH, interval, sink))

    def add_recording(self, recording: Any) -> None:
        self.check_open()
        self.streams.recordings = self.streams.recordings + (recording,)
        conn = self.connection
        frame = conn.handshake_frame
        if conn.state is ConnectionState.CONNECTED and frame is not None:
            # started after connecting: the handshake first, so a replay gets connected
            self.out.append(Run(lambda: recording.write(frame, None)))

    def remove_recording(self, recording: Any) -> bool:
        """Stop a recording; its file is closed in the lane, after the frames written to it."""
        streams = self.streams
        if recording not in streams.recordings:
            return False
        streams.recordings = tuple(r for r in streams.recordings if r is not recording)
        self.out.append(Run(recording.close))
        return True

    # ---- waiting (queries) -------------------------------------------------------------------

    def connected_outcome(self) -> bool | PusherError:
        """For ``wait_connected``: True, the error that ends the wait, or False (wait on)."""
        if self.closed:
            return ClosedError("this Pusher client is closed")
        conn = self.connection
        if conn.state is C.CONNECTED:
            return True
        if conn.stopped_by is not None and conn.state in (C.DISCONNECTED, C.FAILED):
            return conn.stopped_by
        return False

    def stopped_outcome(self) -> tuple[bool, PusherError | None]:
        """For ``run_forever``: whether the client closed or can never recover without a
        new ``connect()`` (a refusal, the policy giving up), and that error."""
        if self.closed:
            return True, None
        conn = self.connection
        if conn.stopped_by is not None and conn.state in (C.DISCONNECTED, C.FAILED):
            return True, conn.stopped_by
        return False, None

    def subscribed_outcome(self, name: str) -> bool | PusherError:
        """For ``wait_subscribed``: True, the error that ends the wait, or False."""
        if self.closed:
            return ClosedError("this Pusher client is closed")
        channel = self.subscriptions.channels.get(name)
        if channel is not None and channel.state is S.SUBSCRIBED:
            return True
        if channel is not None and channel.state is S.FAILED and channel.error is not None:
            return channel.error
        conn = self.connection
        if isinstance(conn.stopped_by, ConnectionRefused) and conn.state is C.DISCONNECTED:
            return conn.stopped_by
        return False

    # ---- the transport -------------------------------------------------------------------------

    def link(self, attempt: int, interactive: bool) -> None:
        """The shell created the transport of ``attempt``: whether it reaches a server."""
        if self.connection.current(attempt):
            self.connection.interactive = interactive

    def activity(self, attempt: int, now: float) -> None:
        """Lock-free: a control frame (or the open) on ``attempt``'s socket."""
        if attempt == self.connection.attempt:
            self.connection.activity(now)

    def frames_arrived(self, attempt: int, texts: list[str], now: float) -> bool:
        """Lock-free: text frames read together; False when ``attempt`` is stale."""
        conn = self.connection
        if attempt != conn.attempt:
            return False
        conn.last_activity = now  # Connection.activity, inlined: once per read
        conn.inbound += 1
        self.frames_in += len(texts)
        size = 0
        for text in texts:
            size += len(text) if text.isascii() else len(text.encode("utf-8", "replace"))
        self.bytes_in += size
        self.last_frame_at = now
        return True

    def route(self, event: Event) -> Route | None:
        """Lock-free: where a decoded event goes. :data:`STEP`: to :meth:`receive` under the
        lock (a protocol event, or an encrypted one); :data:`DROP`: nowhere; None: the global
        streams only; :data:`~rxpusher._router.USER`: the signed-in user's streams only;
        else the channel's name (its streams and the global ones). The hot path: module
        constants, no call."""
        name = event.name
        if name in HANDLERS:
            return STEP
        if name.startswith(_INTERNAL):
            return DROP
        channel = event.channel
        if channel is None:
            return None
        if channel.startswith("#"):
            user_id = self.user.user_id
            if user_id is not None and channel == _TO_USER + user_id:
                return USER
            return DROP
        if channel.startswith(_ENCRYPTED) and not name.startswith("pusher"):
            return STEP
        if CHUNKED in name and whole_name(name) is not None:
            return STEP  # a part of a chunked event: put together under the lock
        return channel

    def receive(self, attempt: int, event: Event, frame: str) -> None:
        """An event :meth:`route` sent here (``frame`` is its raw text)."""
        if not self.connection.current(attempt):
            return
        handler = HANDLERS.get(event.name)
        if handler is None:  # an encrypted event, or a part of a chunked one
            if (event.channel or "").startswith(_ENCRYPTED):
                return keys.receive(self.subscriptions, event)
            return self.chunked.receive(event, frame)
        try:
            handler(self, attempt, event, frame)
        except PusherError as exc:
            self.out.append(Report(exc))
        except Exception as exc:  # noqa: BLE001 - a malformed frame must not kill the reader
            error = ProtocolError(
                f"cannot handle {shorten(event.name)}: {type(exc).__name__}: {shorten(str(exc))}",
                frame,
            )
            error.__cause__ = exc
            self.out.append(Report(error))

    def closed_by_peer(self, attempt: int, code: int | None, reason: str,
                       cause: AttemptCause | None) -> bool:
        """The transport of ``attempt`` closed (or could not open). False when stale."""
        conn = self.connection
        if not conn.current(attempt):
            return False
        conn.open = False
        self.out.append(CloseTransport(None))
        self._connection_lost(code, reason, cause)
        return True

    def _connection_lost(self, code: int | None, reason: str, cause: AttemptCause | None) -> None:
        conn = self.connection
        _, lasted, reason = conn.lost(code, reason, cause)
        self._lose_channels()
        stopped = conn.after_loss(code, reason, lasted)
        if isinstance(stopped, ConnectionRefused):
            self._refuse(stopped)

    def _refuse(self, error: ConnectionRefused) -> None:
        """Error every channel stream and every global ``events`` stream."""
        subs = self.subscriptions
        for channel in list(subs.channels.values()):
            subs.error_streams(channel, error)
            subs.forget_if_idle(channel)
        self.out.append(End(self.streams.router.drop(GLOBAL, streams_only=True), error))

    def abandon_attempt(self, cause: AttemptCause, message: str) -> None:
        """Give up the attempt under way; the backoff decides the next one."""
        conn = self.connection
        url = conn.url
        conn.drop_transport(1000)
        conn.attempt_failures += 1
        error = ConnectAttemptError(url, cause, message)
        conn.report_attempt(error)
        self._connection_lost(1006, message, None)  # 1006: no close frame, not reported again
        conn.last_cause = str(error)

    # ---- timers and authorizations -----------------------------------------------------------

    def timer_fired(self, timer: Timer, key: Hashable = None, busy: bool = False,
                    stalled: bool = False) -> None:
        """A timer set by :class:`~rxpusher._core.effects.SetTimer` fired; for the liveness
        timer, ``busy``: the socket shows life its counters cannot see yet; ``stalled``: what
        the client sends has not progressed for ``pong_timeout``."""
        conn = self.connection
        if timer is Timer.LIVENESS:
            dead = conn.liveness_due(busy, stalled)
            if dead:
                conn.drop_transport(1000)
                self._connection_lost(None, dead, None)
        elif timer is Timer.RETRY:
            conn.retry_due()
        elif timer is Timer.UNAVAILABLE:
            conn.unavailable_due()
        elif timer is Timer.ATTEMPT:
            if key == conn.attempt and conn.open and conn.state is not C.CONNECTED:
                self.abandon_attempt(AttemptCause.TIMEOUT, "no handshake within connect_timeout "
                                     f"({self.options.connect_timeout} s)")
        elif timer is Timer.AUTH:
            assert isinstance(key, tuple)
            self.subscriptions.auth_expired(key[0], key[1])
        elif timer is Timer.HEALTH:
            self._health_due(key)  # type: ignore[arg-type]
        elif timer is Timer.CLIENT_EVENTS and conn.state is C.CONNECTED:
            self.client_events.due()
        elif timer is Timer.CHUNKS:
            self.chunked.expire()

    def authorized(self, name: str, socket_id: str, token: int,
                   outcome: Authorization | SubscriptionError) -> None:
        """A channel authorization came back."""
        if not self.closed:
            self.subscriptions.authorized(name, socket_id, token, outcome)

    def rotated(self, name: str, token: int, outcome: Authorization | SubscriptionError) -> None:
        """The re-authorization of an encrypted channel came back."""
        if not self.closed:
            keys.rotated(self.subscriptions, name, token, outcome)

    def user_authorized(self, socket_id: str, token: int,
                        outcome: UserAuthorization | AuthenticationError) -> None:
        """The user authorization came back."""
        if not self.closed:
            self.user.authorized(socket_id, self.connection.socket_id, token, outcome)



