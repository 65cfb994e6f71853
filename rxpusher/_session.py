"""The one owner of a client's state.

Everything that changes (the connection state machine, socket id, timers, channel states,
reference counts, pins, presence rosters, encryption keys, authorizations in flight, the
signed-in user) belongs to :class:`Session` and changes only under its private,
non-re-entrant lock. A change is computed under the lock; its effects are queued there:
frames go to the outbox, notifications to the :class:`~rxpusher._internal.lane.Lane`.
Both are delivered after the lock is released, in the order the changes were made, so no
library lock is held while user code runs and every observer is notified serially.

Frames from the server are handled through one table, ``{event name: handler}``; events
with no handler are routed to their observers by :class:`~rxpusher.router.Router`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections import deque
from datetime import datetime, timezone
from collections.abc import Callable, Hashable
from typing import Any

from reactivex import abc
from reactivex.disposable import BooleanDisposable, Disposable, SerialDisposable
from reactivex.scheduler import VirtualTimeScheduler

from . import _encryption as encryption, _protocol as protocol
from ._internal.handoff import HandoffObserver
from ._internal import unhandled
from ._internal.lane import Lane
from ._internal.unhandled import Unhandled
from ._internal.timers import TimerHandle, shared_timers
from ._states import ChannelState, ConnectionState, Health, Interruption
from ._auth import Authorization, Authorizer, UserAuthorization, Workers, shorten
from ._exceptions import (
    AuthenticationError,
    ClosedError,
    ConnectAttemptError,
    ConnectionRefused,
    InternalError,
    ObserverError,
    ProtocolError,
    PusherError,
    ServerError,
    SubscriptionError,
)
from ._options import Options
from ._presence import Member, Roster
from ._protocol import ChannelKind, CloseAction, Event
from ._router import (
    ANY_EVENT,
    GLOBAL,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MEMBERS,
    USER,
    Route,
    Router,
    Sink,
    emit_to,
    end_all,
)
from ._transport import Transport, WebSocketTransport

log = logging.getLogger("rxpusher")

_NO_CLOSE_FRAME = (None, 1005, 1006)
_JOIN_TIMEOUT = 5.0
_RETRYING = ("rxpusher retries with backoff; observe pusher.errors or configure a handler on "
             "the 'rxpusher' logger to handle this")
_SERVER_ERROR_WINDOW = 60.0  # an identical pusher:error is reported once per window

C = ConnectionState
S = ChannelState


def _seconds_clock(scheduler: abc.SchedulerBase) -> Callable[[], float]:
    """Seconds on ``scheduler``'s timeline (a virtual-time scheduler's float clock)."""
    if isinstance(scheduler, VirtualTimeScheduler) and isinstance(scheduler.clock, (int, float)):
        return lambda: float(scheduler.clock)
    return lambda: scheduler.now.timestamp()


class _Hub:
    """Observers of one session-wide stream (frames, messages, errors, a state)."""

    __slots__ = ("sinks", "ended")

    def __init__(self) -> None:
        self.sinks: tuple[Sink, ...] = ()
        self.ended = False


class _Channel:
    """What the session knows about one channel name; exists while something refers to it."""

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
        self.auth: BooleanDisposable | None = None  # the authorization in flight
        self.roster = Roster() if self.kind is ChannelKind.PRESENCE else None
        self.key: bytes | None = None
        self.key_fresh = False
        self.rotation: list[Event] | None = None  # events held while the key is renewed
        self.count: int | None = None
        self.state_sinks: tuple[Sink, ...] = ()
        self.bindings: list[tuple[str | None, Callable[..., Any], abc.DisposableBase]] = []
        self.error: SubscriptionError | None = None  # why the subscription failed last
        self.lost_at: datetime | None = None  # when its subscribed connection was lost
        self.interruption_sinks: tuple[Sink, ...] = ()

    @property
    def active(self) -> bool:
        return self.observers > 0 or self.pinned


class _Listener:
    """One attempt's transport reports, tagged so that stale ones are ignored."""

    __slots__ = ("_session", "attempt")

    def __init__(self, session: Session, attempt: int) -> None:
        self._session = session
        self.attempt = attempt

    def on_open(self) -> None:
        self._session._on_activity(self.attempt)

    def on_activity(self) -> None:
        self._session._on_activity(self.attempt)

    def on_frame(self, text: str) -> None:
        self._session._on_frame(self.attempt, text)

    def on_frames(self, texts: list[str]) -> None:
        self._session._on_frames(self.attempt, texts)

    def on_close(self, code: int | None, reason: str) -> None:
        self._session._on_close(self.attempt, code, reason)



def bind_bridge(observer: abc.ObserverBase[Any], session: Session, channel: str | None,
                event: str | None) -> None:
    """Tell a :mod:`rxpusher.bridge` sink that observes a stream of ``session`` (directly, so
    ``observer`` is reactivex's wrapper of its bound ``on_next``) which client and channel it
    observes: its broker failures then go to this client's ``errors``."""
    target = getattr(getattr(observer, "_on_next", None), "__self__", None)
    bind = getattr(target, "_rxpusher_bind", None)
    if callable(bind):
        bind(session, channel, event)

class Session:
    """A client's state, its protocol handlers and its connection state machine."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified at every state change
        self._lane = Lane(self._report_library)
        self._outbox: deque[tuple[Transport, str]] = deque()
        self._send_lock = threading.Lock()
        self.router = Router(self.report_observer)
        self._closed = False
        self._errors = _Hub()
        self._emitted: weakref.WeakSet[BaseException] = weakref.WeakSet()  # put on errors
        self._told_unreachable = False  # a failed attempt was shown (no errors observer)
        self._frames = _Hub()
        self._messages = _Hub()
        self._state_hub = _Hub()
        self._watchlist = _Hub()
        self._health = _Hub()
        self._recordings: tuple[_Recording, ...] = ()
        self._frames_in = 0
        self._bytes_in = 0
        self._last_frame_at: float | None = None
        self._connected_at: float | None = None
        self._handshake_frame: str | None = None  # the current connection's, for record()
        self._handshakes = 0
        self._replaying = False  # the transport plays a recording: nothing is sent
        self._channels: dict[str, _Channel] = {}
        self._global_bindings: list[tuple[str | None, Callable[..., Any], abc.DisposableBase]] = []
        self._authorizer = Authorizer(options)
        self._workers = Workers()
        self._batching: list[str] | None = None  # channels collected for one batch call

        # the timers
        self._owned_scheduler: TimerHandle | None = None
        scheduler = options.timer_scheduler
        if scheduler is None:
            scheduler = self._owned_scheduler = shared_timers().handle()
            self._clock: Callable[[], float] = time.monotonic
        else:
            self._clock = _seconds_clock(scheduler)
        self._scheduler: abc.SchedulerBase = scheduler
        self._liveness = SerialDisposable()
        self._retry = SerialDisposable()
        self._unavailable = SerialDisposable()
        self._attempt_deadline = SerialDisposable()
        self._warnings = _WarningLimiter(self._clock)
        self._attempt_failures = 0  # failed attempts not reported yet (rate limit)
        self._attempt_reported_at: float | None = None
        self._server_errors = _Repeats(self._clock, _SERVER_ERROR_WINDOW)
        self._server_said: tuple[int, str] | None = None  # (attempt, message of pusher:error)
        self._last_cause: str | None = None  # why the last attempt or connection ended

        # the connection
        self._transport_factory: Callable[[], Transport] = options.transport or (
            lambda: WebSocketTransport.from_options(options)
        )
        self.state = C.INITIALIZED
        self.socket_id: str | None = None
        self.activity_timeout = options.activity_timeout
        self._transport: Transport | None = None
        self._retired: list[Transport] = []
        self._attempt = 0
        self._failures = 0  # failed attempts in a row (for max_attempts)
        self._backoff_steps = 0  # backoff waits since the last lasting connection
        self._hosts_tried = 0  # other hosts tried at once since the last backoff wait
        self._use_tls = options.use_tls
        hosts = len(options.hosts)
        self._host_index = options.reconnect.rng.randrange(hosts) if hosts > 1 else 0
        self._wanted = False
        self._stopped_by: PusherError | None = None  # the refusal or give-up that ended it
        self._last_activity = self._clock()
        self._inbound = 0  # frames seen at the socket
        self._inbound_at_ping: int | None = None
        self._ping_sent_at = self._last_activity
        self._reader_busy = 0  # attempt whose reader is delivering a frame, 0 if none

        # the user
        self.user_id: str | None = None
        self.user_data: dict[str, Any] | None = None
        self._user_wanted = False
        self._user_auth: BooleanDisposable | None = None

        self._handlers: dict[str, Callable[[int, Event, str], None]] = {
            protocol.CONNECTION_ESTABLISHED: self._on_established,
            protocol.ERROR: self._on_server_error,
            protocol.PING: self._on_ping,
            protocol.INTERNAL_SUBSCRIPTION_SUCCEEDED: self._on_subscription_succeeded,
            protocol.INTERNAL_MEMBER_ADDED: self._on_member_added,
            protocol.INTERNAL_MEMBER_REMOVED: self._on_member_removed,
            protocol.INTERNAL_SUBSCRIPTION_COUNT: self._on_subscription_count,
            protocol.SUBSCRIPTION_COUNT: self._on_subscription_count,
            protocol.SUBSCRIPTION_ERROR: self._on_subscription_error,
            protocol.SIGNIN_SUCCESS: self._on_signin_success,
            protocol.WATCHLIST_EVENTS: self._on_watchlist,
        }

    # ---- effects ---------------------------------------------------------------------------

    def _send(self, text: str) -> None:
        """Queue ``text`` for the current socket (lock held); sent by :meth:`_flush`."""
        transport = self._transport
        if transport is not None and not self._replaying:
            self._outbox.append((transport, text))

    def _flush(self) -> None:
        """Deliver the effects of the changes made so far: frames, then notifications.
        Called after the lock is released."""
        if self._outbox:
            with self._send_lock:
                while self._outbox:
                    transport, text = self._outbox.popleft()
                    self._send_now(transport, text)
        self._lane.drain()

    def _send_now(self, transport: Transport, text: str) -> None:
        try:
            transport.send(text)
        except Exception as exc:  # noqa: BLE001 - a dying socket: its reader will notice
            if transport is self._transport:
                error = PusherError(f"could not send a frame: {exc}")
                error.__cause__ = exc
                self.report(error)

    def _post(self, item: Callable[..., Any], *args: Any) -> None:
        self._lane.post(item, *args)

    # ---- reporting ----------------------------------------------------------------------------

    def _post_error(self, error: PusherError) -> None:
        """Put ``error`` on ``errors`` (lock held or not; logged and delivered by the lane,
        so that no logging handler runs under the lock)."""
        self._lane.post(self._emit_error, error)

    def report(self, error: PusherError) -> None:
        """Put ``error`` on ``errors`` now (never with the lock held)."""
        self._post_error(error)
        self._lane.drain()

    def report_observer(self, exc: BaseException) -> None:
        """An observer raised: an :class:`ObserverError` on ``errors``; an error it was given
        and re-raised (no ``on_error`` of its own) is reported as itself and shown once."""
        if isinstance(exc, Unhandled):
            self._lane.post(self._emit_unhandled, exc.error)
            return
        wrapped = ObserverError(f"an observer raised {type(exc).__name__}: {shorten(str(exc))}")
        wrapped.__cause__ = exc
        self._lane.post(self._emit_error, wrapped)

    def _report_library(self, exc: BaseException) -> None:
        """Something in the library failed inside the lane: an :class:`InternalError`."""
        log.error("internal error", exc_info=exc)
        self._lane.post(self._emit_error, self._as_internal(exc))

    @staticmethod
    def _as_internal(exc: BaseException) -> InternalError:
        error = InternalError(f"rxpusher failed: {type(exc).__name__}: {shorten(str(exc))}")
        error.__cause__ = exc
        return error

    def _emit_unhandled(self, error: BaseException) -> None:
        """In the lane: ``error`` reached an observer without ``on_error``. It is put on
        ``errors`` unless it is there already (refusals and subscription errors are), and
        shown once on stderr (or logged when the ``rxpusher`` logger has a handler)."""
        if not isinstance(error, PusherError):
            error = self._as_internal(error)
        if error not in self._emitted:
            self._emit_error(error)
        unhandled.show(error)

    def _emit_error(self, error: PusherError) -> None:
        self._emitted.add(error)
        self._warnings.warn(error)
        if isinstance(error, ConnectAttemptError) and not self._errors.sinks \
                and not self._told_unreachable:
            # nobody watches errors: say once per outage that the client cannot connect
            self._told_unreachable = True
            unhandled.show(error, "", _RETRYING)
        for sink in self._errors.sinks:
            try:
                sink.on_next(error)
            except Exception:  # noqa: BLE001 - an errors observer cannot report on errors
                log.exception("an observer of Pusher.errors raised")

    # ---- observing -----------------------------------------------------------------------------

    def wrap(self, observer: abc.ObserverBase[Any]) -> tuple[abc.ObserverBase[Any], HandoffObserver | None]:
        """The observer the lane calls: ``observer`` itself, or its bounded hand-off to the
        ``scheduler`` option."""
        scheduler = self.options.scheduler
        if scheduler is None:
            return observer, None
        handoff = HandoffObserver(
            observer, scheduler, self.options.scheduler_maxsize,
            self.options.scheduler_overflow, self._report_handoff,
        )
        return handoff, handoff

    def _report_handoff(self, exc: BaseException) -> None:
        if isinstance(exc, PusherError) and not isinstance(exc, ObserverError):
            self.report(exc)  # a buffer overflow
        else:
            self.report_observer(exc)
            self._lane.drain()

    def _observe(self, observer: abc.ObserverBase[Any], join: Callable[[Sink], None],
                 leave: Callable[[Sink], None], *, route: Route = GLOBAL, key: Hashable = None,
                 project: bool = False, terminates: bool = False) -> abc.DisposableBase:
        """Register ``observer`` (through the hand-off with ``scheduler=``): ``join(sink)``
        and, at disposal, ``leave(sink)`` run with the lock held. After ``close()`` the
        observer completes at once."""
        target, handoff = self.wrap(observer)
        sink = Sink(target, project, terminates, route, key)
        with self._lock:
            closed = self._closed
            if closed:
                self._post(sink.end, None, self.report_observer)
            else:
                join(sink)
        self._flush()
        if closed:
            return Disposable()

        def dispose() -> None:
            with self._lock:
                leave(sink)
            self._flush()

        disposable = Disposable(dispose)
        if handoff is not None:
            handoff.subscription.disposable = disposable
        return disposable

    def _observed(self) -> None:
        """Something observes the content (or waits for it): a replay held until now plays
        (lock held)."""
        begin = getattr(self._transport, "begin_playback", None)
        if begin is not None:
            begin()

    def observe_hub(self, which: str, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """Subscribe to ``frames``, ``messages``, ``errors``, ``state`` or ``watchlist``."""
        hub: _Hub = getattr(self, "_" + ("state_hub" if which == "state" else which))

        def join(sink: Sink) -> None:
            hub.sinks = hub.sinks + (sink,)
            if hub is self._state_hub:
                self._post(sink.on_next, self.state)
            elif hub is self._frames or hub is self._messages:
                self._observed()

        def leave(sink: Sink) -> None:
            hub.sinks = tuple(s for s in hub.sinks if s is not sink)

        return self._observe(observer, join, leave)

    def attach(self, route: Route, key: Hashable, observer: abc.ObserverBase[Any], *,
               project: bool, terminates: bool = True) -> abc.DisposableBase:
        """Register an observer of a route: a channel's stream (which counts for the
        channel's reference count), the global route or the user's route."""

        def join(sink: Sink) -> None:
            self.router.add(sink)
            self._observed()
            if isinstance(route, str):
                channel = self._channel(route)
                channel.observers += 1
                if (channel.observers == 1 and not channel.pinned) or channel.state is S.FAILED:
                    self._subscribe_now(channel)
                if key is MEMBERS and channel.roster is not None and channel.roster.ready:
                    self._post(sink.on_next, channel.roster.snapshot)

        def leave(sink: Sink) -> None:
            if not self.router.remove(sink) or not isinstance(route, str):
                return
            channel = self._channels.get(route)
            if channel is not None:
                channel.observers -= 1
                if not channel.active:
                    self._deactivate(channel)
                self._forget_if_idle(channel)

        disposable = self._observe(observer, join, leave, route=route, key=key,
                                   project=project, terminates=terminates)
        if isinstance(route, str) or route is GLOBAL:
            bind_bridge(observer, self, route if isinstance(route, str) else None,
                        key if isinstance(key, str) else None)
        return disposable

    def observe_channel_state(self, name: str, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """``channel.state``: the current state now, then every change (does not count)."""

        def join(sink: Sink) -> None:
            channel = self._channel(name)
            channel.state_sinks = channel.state_sinks + (sink,)
            self._post(sink.on_next, channel.state)

        def leave(sink: Sink) -> None:
            channel = self._channels.get(name)
            if channel is not None:
                channel.state_sinks = tuple(s for s in channel.state_sinks if s is not sink)
                self._forget_if_idle(channel)

        return self._observe(observer, join, leave)

    def observe_interruptions(self, name: str, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """``channel.interruptions`` (does not count for reference counting)."""

        def join(sink: Sink) -> None:
            channel = self._channel(name)
            channel.interruption_sinks = channel.interruption_sinks + (sink,)

        def leave(sink: Sink) -> None:
            channel = self._channels.get(name)
            if channel is not None:
                channel.interruption_sinks = tuple(
                    s for s in channel.interruption_sinks if s is not sink)
                self._forget_if_idle(channel)

        return self._observe(observer, join, leave)

    def observe_health(self, interval: float, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """``pusher.health(interval)``: a :class:`Health` snapshot every ``interval`` s."""
        timer = SerialDisposable()
        frames_then = [self._frames_in]

        def tick(sink: Sink) -> None:
            with self._lock:
                if self._closed or sink not in self._health.sinks:
                    return
                now = self._clock()
                frames = self._frames_in
                snapshot = Health(
                    state=self.state,
                    connected_for=None if self._connected_at is None else now - self._connected_at,
                    reconnects=max(0, self._handshakes - 1),
                    frames=frames,
                    bytes=self._bytes_in,
                    frames_per_second=(frames - frames_then[0]) / interval,
                    last_frame_age=None if self._last_frame_at is None else now - self._last_frame_at,
                )
                frames_then[0] = frames
                self._post(sink.on_next, snapshot)
                schedule(sink)
            self._flush()

        def schedule(sink: Sink) -> None:
            def action(scheduler: abc.SchedulerBase, state: Any = None) -> None:
                tick(sink)

            timer.disposable = self._scheduler.schedule_relative(interval, action)

        def join(sink: Sink) -> None:
            self._health.sinks = self._health.sinks + (sink,)
            schedule(sink)

        def leave(sink: Sink) -> None:
            timer.dispose()
            self._health.sinks = tuple(s for s in self._health.sinks if s is not sink)

        return self._observe(observer, join, leave)

    def record(self, path: str) -> abc.DisposableBase:
        """Write every received text frame to ``path`` as JSON lines until disposed."""
        with self._lock:
            self.check_open()
            recording = _Recording(path, self._clock)
            self._recordings = self._recordings + (recording,)
            if self.state is C.CONNECTED and self._handshake_frame is not None:
                # started after connecting: the handshake first, so a replay gets connected
                self._post(recording.write, self._handshake_frame, None)
        self._flush()

        def stop() -> None:
            with self._lock:
                if recording not in self._recordings:
                    return
                self._recordings = tuple(r for r in self._recordings if r is not recording)
                self._post(recording.close)
            self._flush()
            if not self._lane.in_lane:
                self._lane.wait_idle(_JOIN_TIMEOUT)  # closed when stop() returns

        return Disposable(stop)

    # ---- callback bindings -------------------------------------------------------------------

    def bind(self, channel: str | None, event: str | None, callback: Callable[..., Any],
             subscribe: Callable[[Callable[[Any], None]], abc.DisposableBase]) -> None:
        """Keep a callback subscription (of a channel, or global with ``channel`` None)."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        on_next: Callable[[Any], None]
        if event is None:
            def on_next(e: Event) -> None:
                callback(e.name, e.data)
        else:
            on_next = callback
        subscription = subscribe(on_next)
        with self._lock:
            entries = self._global_bindings if channel is None else self._channel(channel).bindings
            entries.append((event, callback, subscription))

    def unbind(self, channel: str | None, event: str | None = None,
               callback: Callable[..., Any] | None = None) -> None:
        """Dispose the bindings matching ``event`` and ``callback`` (None matches all)."""
        with self._lock:
            if channel is None:
                entries = self._global_bindings
            else:
                record = self._channels.get(channel)
                entries = record.bindings if record is not None else []
            matching = [e for e in entries
                        if (event is None or e[0] == event) and (callback is None or e[1] == callback)]
            for entry in matching:
                entries.remove(entry)
        for _, _, subscription in matching:
            subscription.dispose()

    # ---- channels: the API ---------------------------------------------------------------------

    def check_open(self) -> None:
        """Raise :class:`ClosedError` after ``close()``."""
        if self._closed:
            raise ClosedError("this Pusher client is closed; create a new one")

    def _channel(self, name: str) -> _Channel:
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel(name)
            if channel.kind is ChannelKind.PRIVATE_ENCRYPTED:
                encryption.require_nacl()
        return channel

    def _forget_if_idle(self, channel: _Channel) -> None:
        """Drop the record of a channel nothing refers to any more (lock held)."""
        if (not channel.active and not channel.state_sinks and not channel.bindings
                and not channel.interruption_sinks and channel.auth is None
                and channel.rotation is None
                and self._channels.get(channel.name) is channel):
            del self._channels[channel.name]

    def pin(self, name: str) -> None:
        """``pusher.subscribe(name)``: subscribe and keep subscribed until :meth:`unpin`."""
        with self._lock:
            self.check_open()
            channel = self._channel(name)
            if channel.pinned:
                if channel.state is S.FAILED:
                    self._subscribe_now(channel)
            else:
                channel.pinned = True
                if channel.observers == 0 or channel.state is S.FAILED:
                    self._subscribe_now(channel)
        self._flush()

    def unpin(self, name: str) -> None:
        """``pusher.unsubscribe(name)``: leave, complete the channel's streams and bindings."""
        with self._lock:
            channel = self._channels.get(name)
            if channel is None:
                return
            channel.pinned = False
            dropped = self.router.drop(name)
            channel.observers = 0
            self._deactivate(channel)
            bindings, channel.bindings = channel.bindings, []
            self._post(end_all, dropped, None, self.report_observer)
            self._forget_if_idle(channel)
        self._flush()
        for _, _, subscription in bindings:
            subscription.dispose()

    def active_channels(self) -> list[str]:
        """Names of the channels subscribed or subscribing."""
        with self._lock:
            return [name for name, channel in self._channels.items() if channel.active]

    def channel_state(self, name: str) -> ChannelState:
        """The current state of ``name``."""
        channel = self._channels.get(name)
        return channel.state if channel is not None else S.UNSUBSCRIBED

    def subscription_count(self, name: str) -> int | None:
        """The latest ``subscription_count`` of ``name``."""
        channel = self._channels.get(name)
        return channel.count if channel is not None else None

    def trigger(self, name: str, event: str, data: Any) -> None:
        """Send a client event on a subscribed channel; raise when it cannot go out."""
        text = protocol.encode_frame(event, data, name)
        with self._lock:
            channel = self._channels.get(name)
            if channel is None or channel.state is not S.SUBSCRIBED:
                raise PusherError(f"cannot trigger {event!r}: {name!r} is not subscribed")
            transport = self._transport
            if transport is None:
                raise PusherError(f"cannot trigger {event!r}: the connection is down")
        self._flush()
        with self._send_lock:
            try:
                transport.send(text)
            except Exception as exc:  # noqa: BLE001
                raise PusherError(f"cannot trigger {event!r}: {exc}") from exc

    # ---- channels: the subscription (lock held) -----------------------------------------------

    def _set_channel_state(self, channel: _Channel, state: ChannelState) -> None:
        if channel.state is state:
            return
        channel.state = state
        self._changed.notify_all()
        self._post(emit_to, channel.state_sinks, state, self.report_observer)

    def _cancel_auth(self, channel: _Channel) -> None:
        if channel.auth is not None:
            channel.auth.dispose()
            channel.auth = None

    def _subscribe_now(self, channel: _Channel) -> None:
        """Subscribe on the current socket, or wait as ``pending`` for one."""
        self._cancel_auth(channel)
        self._set_channel_state(channel, S.PENDING)
        socket_id = self.socket_id
        if socket_id is None or self._replaying:
            return
        if channel.kind is ChannelKind.PUBLIC:
            self._send_subscribe(channel, socket_id, Authorization(""))
        elif self._authorizer.channel_is_local:
            try:
                authorization = self._authorizer.channel(channel.name, socket_id)
            except SubscriptionError as error:
                self._fail(channel, error, synthesize=True)
            else:
                self._send_subscribe(channel, socket_id, authorization)
        else:
            token = channel.auth = BooleanDisposable()
            if self._batching is not None and self._authorizer.batch is not None:
                self._batching.append(channel.name)
            else:
                name = channel.name
                authorize = self._authorizer.channel

                def job() -> None:
                    try:
                        outcome: Authorization | SubscriptionError = authorize(name, socket_id)
                    except SubscriptionError as error:
                        outcome = error
                    self._authorized(name, socket_id, token, outcome)

                self._workers.submit(job)
            self._schedule_auth_deadline(channel.name, token)

    def _authorize_batch(self, socket_id: str, names: list[str]) -> None:
        """One batch call for the channels collected while (re)subscribing (lock held)."""
        batch = self._authorizer.batch
        assert batch is not None
        tokens = {name: self._channels[name].auth for name in names}

        def job() -> None:
            outcomes = batch(socket_id, names)
            for name in names:
                token = tokens[name]
                if token is not None:
                    self._authorized(name, socket_id, token, outcomes[name])

        self._workers.submit(job)

    def _schedule_auth_deadline(self, name: str, token: BooleanDisposable) -> None:
        timeout = self.options.auth_timeout

        def expire(scheduler: abc.SchedulerBase, state: Any = None) -> None:
            self._authorized(name, self.socket_id or "", token, SubscriptionError(
                name, 0, f"authorization did not finish within auth_timeout ({timeout} s)"))

        self._scheduler.schedule_relative(timeout, expire)

    def _authorized(self, name: str, socket_id: str, token: BooleanDisposable,
                    outcome: Authorization | SubscriptionError) -> None:
        """An authorization came back (a worker thread or the deadline timer)."""
        with self._lock:
            channel = self._channels.get(name)
            if (channel is None or channel.auth is not token or token.is_disposed
                    or socket_id != self.socket_id or self._closed):
                return
            channel.auth = None
            if isinstance(outcome, SubscriptionError):
                self._fail(channel, outcome, synthesize=True)
            else:
                self._send_subscribe(channel, socket_id, outcome)
        self._flush()

    def _send_subscribe(self, channel: _Channel, socket_id: str, authorization: Authorization) -> None:
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
        self._send(protocol.encode_frame(protocol.SUBSCRIBE, payload))
        channel.subscribed_on = socket_id

    def _clear_roster(self, channel: _Channel) -> None:
        if channel.roster is not None:
            snapshot = channel.roster.clear()
            self._post(emit_to, self.router.sinks(channel.name, MEMBERS), snapshot,
                       self.report_observer)

    def _deactivate(self, channel: _Channel) -> None:
        """Nothing wants the channel any more: leave it on the server."""
        self._cancel_auth(channel)
        if channel.subscribed_on is not None and channel.subscribed_on == self.socket_id:
            self._send(protocol.encode_frame(protocol.UNSUBSCRIBE, {"channel": channel.name}))
        channel.subscribed_on = None
        channel.count = None
        channel.lost_at = None
        self._clear_roster(channel)
        if channel.state is not S.FAILED:
            self._set_channel_state(channel, S.UNSUBSCRIBED)

    def _fail(self, channel: _Channel, error: SubscriptionError, synthesize: bool) -> None:
        """The subscription failed: error the channel's Rx streams (not its bindings).

        ``synthesize`` delivers a ``pusher:subscription_error`` event first, as the server
        would have, for failures found locally (authorization)."""
        self._cancel_auth(channel)
        channel.subscribed_on = None
        channel.error = error
        self._set_channel_state(channel, S.FAILED)
        self._post_error(error)
        if synthesize:
            data = {"type": "AuthError", "error": error.message, "status": error.status}
            self._post(self.router.later(Event(protocol.SUBSCRIPTION_ERROR, channel.name, data), channel.name))
        self._error_streams(channel, error)

    def _error_streams(self, channel: _Channel, error: Exception) -> None:
        dropped = self.router.drop(channel.name, streams_only=True)
        channel.observers -= len(dropped)
        if not channel.active and channel.state is not S.FAILED:
            self._deactivate(channel)
        self._post(end_all, dropped, error, self.report_observer)

    # ---- connection: the API ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL the next attempt connects to."""
        return self.options.url(self._use_tls, self._host_index)

    def connect(self) -> None:
        """Start connecting unless already connected or connecting."""
        with self._lock:
            self.check_open()
            self._wanted = True
            self._stopped_by = None
            if self._transport is None and self.state not in (C.CONNECTING, C.UNAVAILABLE):
                self._start_attempts()
        self._flush()

    def _start_attempts(self) -> None:
        """Connect now, with a fresh backoff (lock held)."""
        self._wanted = True
        self._stopped_by = None
        self._reset_backoff()
        self._enter_connecting()
        self._open()

    def _reset_backoff(self) -> None:
        self._failures = self._backoff_steps = self._hosts_tried = 0

    def disconnect(self) -> None:
        """Close the socket and stay disconnected until ``connect()``."""
        with self._lock:
            self._disconnect()
        self._flush()

    def _disconnect(self) -> None:
        self._wanted = False
        self._cancel_timers()
        self._drop_connection(C.DISCONNECTED)

    def _drop_connection(self, state: ConnectionState | None = None) -> None:
        """Close the socket on our side (then enter ``state``, if given); every channel waits
        for the next connection."""
        was_connected = self.state is C.CONNECTED
        self._drop_transport(1000)
        self.socket_id = None
        if state is not None:
            self._set_state(state)
        self._connection_lost_for_channels(was_connected)

    def reconnect(self) -> None:
        """Drop the current socket (if any) and connect again at once."""
        with self._lock:
            self.check_open()
            self._retry.disposable = Disposable()
            self._liveness.disposable = Disposable()
            self._drop_connection()
            self._start_attempts()
        self._flush()

    def ping(self) -> None:
        """Send ``pusher:ping`` now; reconnect unless something arrives within pong_timeout."""
        with self._lock:
            if self.state is C.CONNECTED:
                self._send_ping()
        self._flush()

    def close(self) -> None:
        """Disconnect for good, complete every stream and binding, end every thread."""
        with self._lock:
            if self._closed:
                return
            self._disconnect()
            self._closed = True
            self._changed.notify_all()
            for channel in self._channels.values():
                self._cancel_auth(channel)
            if self._user_auth is not None:
                self._user_auth.dispose()
            dropped = [sink for route in self.router.routes() for sink in self.router.drop(route)]
            self._post(end_all, dropped, None, self.report_observer)
            bindings = list(self._global_bindings)
            self._global_bindings.clear()
            for channel in self._channels.values():
                channel.observers = 0
                self._set_channel_state(channel, S.UNSUBSCRIBED)  # its stream ends as it is
                ended = channel.state_sinks + channel.interruption_sinks
                self._post(end_all, list(ended), None, self.report_observer)
                channel.state_sinks = channel.interruption_sinks = ()
                bindings.extend(channel.bindings)
                channel.bindings = []
            self._channels.clear()
            recordings, self._recordings = self._recordings, ()
            for recording in recordings:
                self._post(recording.close)
            for hub in (self._frames, self._messages, self._state_hub, self._watchlist,
                        self._health, self._errors):
                hub.ended = True
                self._post(end_all, list(hub.sinks), None, self.report_observer)
                hub.sinks = ()
            retired, self._retired = self._retired, []
        self._flush()
        for _, _, subscription in bindings:
            subscription.dispose()
        self._workers.close(min(self.options.auth_timeout, _JOIN_TIMEOUT))
        self._authorizer.close()
        # inside the lane a reader may be waiting for this thread's turn: it ends right after
        join_timeout = 0.0 if self._lane.in_lane else _JOIN_TIMEOUT
        for transport in retired:
            transport.join(join_timeout)
        if self._owned_scheduler is not None:
            self._owned_scheduler.dispose()
            self._owned_scheduler.join(_JOIN_TIMEOUT)
        if not self._lane.in_lane:
            self._lane.wait_idle(_JOIN_TIMEOUT)

    # ---- waiting -----------------------------------------------------------------------------

    def wait_connected(self, timeout: float | None) -> None:
        """Block until connected; raise the refusal, the give-up, :class:`ClosedError` or
        ``TimeoutError``. Neither connects nor subscribes."""

        def outcome() -> bool | PusherError:
            if self._closed:
                return ClosedError("this Pusher client is closed")
            if self.state is C.CONNECTED:
                return True
            if self._stopped_by is not None and self.state in (C.DISCONNECTED, C.FAILED):
                return self._stopped_by
            return False

        self._wait(outcome, timeout, "connection", lambda: self._last_cause)

    def wait_subscribed(self, name: str, timeout: float | None) -> None:
        """Block until ``name`` is subscribed; raise its :class:`SubscriptionError`, the
        refusal, :class:`ClosedError` or ``TimeoutError``."""

        def outcome() -> bool | PusherError:
            if self._closed:
                return ClosedError("this Pusher client is closed")
            channel = self._channels.get(name)
            if channel is not None and channel.state is S.SUBSCRIBED:
                return True
            if channel is not None and channel.state is S.FAILED and channel.error is not None:
                return channel.error
            if isinstance(self._stopped_by, ConnectionRefused) and self.state is C.DISCONNECTED:
                return self._stopped_by
            return False

        self._wait(outcome, timeout, f"a subscription to {name!r}")

    def wait_stopped(self, timeout: float | None) -> PusherError | None:
        """Block until ``close()`` (None) or until the client can never recover without a
        new ``connect()``: a refusal or the reconnect policy giving up (that error).
        ``TimeoutError`` after ``timeout`` seconds."""

        def ended() -> bool:
            return self._closed or (self._stopped_by is not None
                                    and self.state in (C.DISCONNECTED, C.FAILED))

        with self._changed:
            self._observed()
            if not self._changed.wait_for(ended, timeout):
                raise TimeoutError("still running")
            return None if self._closed else self._stopped_by

    def _wait(self, outcome: Callable[[], bool | PusherError], timeout: float | None,
              what: str, cause: Callable[[], str | None] = lambda: None) -> None:
        if timeout is not None and (timeout != timeout or timeout < 0):
            raise ValueError(f"timeout must be None or a non-negative number, got {timeout!r}")
        with self._changed:
            if self._closed:
                raise ClosedError("this Pusher client is closed; create a new one")
            self._observed()
            if not self._changed.wait_for(lambda: bool(outcome()), timeout):
                last = cause()
                raise TimeoutError(f"no {what} within {timeout} s"
                                   + (f"; last attempt: {last}" if last else ""))
            result = outcome()
        if not self._lane.in_lane:
            # the change is posted to the lane: observers see it before the waiter returns
            self._lane.wait_idle(_JOIN_TIMEOUT)
        if isinstance(result, PusherError):
            raise result


    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._closed

    # ---- connection: attempts (lock held) -------------------------------------------------------

    def _set_state(self, state: ConnectionState) -> bool:
        if self.state is state:
            return False
        self.state = state
        self._changed.notify_all()
        self._post(emit_to, self._state_hub.sinks, state, self.report_observer)
        return True

    def _open(self) -> None:
        self._attempt += 1
        self._server_said = None
        self._retired = [t for t in self._retired if getattr(t, "alive", True)]
        transport = self._transport_factory()
        self._transport = transport
        self._replaying = bool(getattr(transport, "is_replay", False))
        url = self.url
        log.info("connecting to %s", url)
        attempt = self._attempt

        def expire(scheduler: abc.SchedulerBase, state: Any = None) -> None:
            self._attempt_expired(attempt)

        self._attempt_deadline.disposable = self._scheduler.schedule_relative(
            self.options.connect_timeout, expire)
        transport.open(url, _Listener(self, attempt))

    def _drop_transport(self, code: int) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            self._attempt += 1  # whatever it reports from now on is stale
            transport.close(code)
            self._retired.append(transport)

    def _enter_connecting(self) -> None:
        if self._set_state(C.CONNECTING):
            self._unavailable.disposable = self._scheduler.schedule_relative(
                self.options.unavailable_timeout, self._become_unavailable
            )

    def _become_unavailable(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        with self._lock:
            if self.state is C.CONNECTING:
                self._set_state(C.UNAVAILABLE)
        self._flush()

    def _retry_now(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        with self._lock:
            if self._wanted and not self._closed and self._transport is None:
                self._open()
        self._flush()

    def _cancel_timers(self) -> None:
        for timer in (self._liveness, self._retry, self._unavailable, self._attempt_deadline):
            timer.disposable = Disposable()

    # ---- transport reports ----------------------------------------------------------------------

    def _on_activity(self, attempt: int) -> None:
        if attempt == self._attempt:
            self._last_activity = self._clock()
            self._inbound += 1

    def _on_frame(self, attempt: int, text: str) -> None:
        """A text frame (the reader thread): delivered in the lane, after what came before."""
        self._on_frames(attempt, [text])

    def _on_frames(self, attempt: int, texts: list[str]) -> None:
        """Text frames read together (one ``recv``): one turn of the lane for all of them."""
        if attempt != self._attempt:
            return
        now = self._last_activity = self._clock()
        self._inbound += 1
        self._frames_in += len(texts)
        for text in texts:
            self._bytes_in += len(text) if text.isascii() else len(text.encode("utf-8", "replace"))
        self._last_frame_at = now
        self._reader_busy = attempt
        self._lane.run(self._handle_frames, attempt, texts)  # never raises
        self._reader_busy = 0

    def _handle_frames(self, attempt: int, texts: list[str]) -> None:
        handle = self._handle_frame
        run_posted = self._lane.run_posted
        for text in texts:
            handle(attempt, text)
            run_posted()  # what this frame caused comes before the next frame

    def _handle_frame(self, attempt: int, text: str) -> None:
        if attempt != self._attempt:
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("recv %s", protocol.redacted(text))
        for recording in self._recordings:
            recording.write(text, self._last_frame_at)
        for sink in self._frames.sinks:
            try:
                sink.on_next(text)
            except Exception as exc:  # noqa: BLE001
                self.report_observer(exc)
        try:
            event = protocol.decode_frame(text)
        except PusherError as exc:
            self._post_error(exc)
            return
        for sink in self._messages.sinks:
            try:
                sink.on_next(event)
            except Exception as exc:  # noqa: BLE001
                self.report_observer(exc)
        name = event.name
        handler = self._handlers.get(name)
        if handler is not None:
            try:
                handler(attempt, event, text)
            except PusherError as exc:
                self._post_error(exc)
            except Exception as exc:  # noqa: BLE001 - a malformed frame must not kill the reader
                error = ProtocolError(
                    f"cannot handle {shorten(name)}: {type(exc).__name__}: {shorten(str(exc))}",
                    text,
                )
                error.__cause__ = exc
                self._post_error(error)
            self._flush()
            return
        if name.startswith(protocol.INTERNAL_PREFIX):
            return
        channel = event.channel
        if channel is None:
            self.router.dispatch(event, None)
        elif channel.startswith("#"):
            user_id = self.user_id
            if user_id is not None and channel == protocol.SERVER_TO_USER_PREFIX + user_id:
                self.router.dispatch(event, USER, to_global=False)
        elif channel.startswith("private-encrypted-") and not name.startswith("pusher"):
            self._decrypt_and_dispatch(event)
        else:
            self.router.dispatch(event, channel)

    def _on_close(self, attempt: int, code: int | None, reason: str) -> None:
        with self._lock:
            if attempt != self._attempt:
                return
            transport, self._transport = self._transport, None
            if transport is not None:
                self._retired.append(transport)
            self._connection_lost(code, reason)
        self._flush()

    # ---- protocol handlers (in the lane; they take the lock themselves) --------------------------

    def _on_established(self, attempt: int, event: Event, frame: str) -> None:
        data = event.data
        socket_id = data.get("socket_id") if isinstance(data, dict) else None
        if not isinstance(socket_id, str) or not socket_id:
            with self._lock:
                if attempt == self._attempt and self.state is not C.CONNECTED:
                    self._abandon_attempt(
                        "handshake", f"handshake without a usable socket id: {shorten(data)}")
            self._flush()
            return
        server_timeout = data.get("activity_timeout")
        with self._lock:
            if attempt != self._attempt:
                return
            self._attempt_deadline.disposable = Disposable()
            self._attempt_failures = 0
            self._attempt_reported_at = None
            self._last_cause = None
            self.socket_id = socket_id
            self.activity_timeout = self.options.activity_timeout
            if isinstance(server_timeout, (int, float)) and not isinstance(server_timeout, bool) \
                    and server_timeout > 0:
                self.activity_timeout = min(self.activity_timeout, float(server_timeout))
            self._unavailable.disposable = Disposable()
            if not self._replaying:
                self._schedule_activity_check(self.activity_timeout)
            self._connected_at = self._clock()
            self._handshake_frame = frame
            self._handshakes += 1
            self._set_state(C.CONNECTED)
            log.info("connected, socket id %s", socket_id)
            self._post(self._connected_again)
            self._post(self.router.later(event, None))
            self._resubscribe(socket_id)
        self._flush()

    def _connected_again(self) -> None:
        self._told_unreachable = False  # in the lane, as _emit_error

    def _resubscribe(self, socket_id: str) -> None:
        """Subscribe every active channel on the new socket, sign in again (lock held)."""
        self._batching = [] if self._authorizer.batch is not None else None
        try:
            for channel in list(self._channels.values()):
                if channel.active:
                    self._subscribe_now(channel)
            if self._batching:
                self._authorize_batch(socket_id, self._batching)
        finally:
            self._batching = None
        if self._user_wanted:
            self._authenticate_user(socket_id)

    def _on_server_error(self, attempt: int, event: Event, frame: str) -> None:
        data = event.data if isinstance(event.data, dict) else {"message": event.data}
        code = data.get("code")
        error = ServerError(code if isinstance(code, int) else None,
                            shorten(str(data.get("message", ""))))
        with self._lock:
            if attempt == self._attempt:
                self._server_said = (attempt, error.message)  # the reason of a refusal
        left_out = self._server_errors.admit((error.code, error.message))
        if left_out is not None:
            if left_out:
                error.args = (f"{error.args[0]} (repeated {left_out} times since the last "
                              "report)",)
            self._post_error(error)
        self._post(self.router.later(event, None))

    def _on_ping(self, attempt: int, event: Event, frame: str) -> None:
        with self._lock:
            if attempt == self._attempt:
                self._send(protocol.encode_frame(protocol.PONG, {}))
        self._post(self.router.later(event, None))

    def _internal_channel(self, event: Event) -> _Channel | None:
        name = event.channel
        return self._channels.get(name) if name is not None else None

    def _on_subscription_succeeded(self, attempt: int, event: Event, frame: str) -> None:
        public = event._replace(name=protocol.SUBSCRIPTION_SUCCEEDED)
        with self._lock:
            channel = self._internal_channel(event)
            if channel is None or not channel.active or (
                    channel.subscribed_on is None and not self._replaying):
                return  # left meanwhile: pusher:unsubscribe went out already
            roster = channel.roster
            if roster is not None:
                presence = event.data.get("presence") if isinstance(event.data, dict) else None
                if not _valid_presence(presence):
                    self._send(protocol.encode_frame(protocol.UNSUBSCRIBE, {"channel": channel.name}))
                    self._post_error(ProtocolError(
                        f"malformed presence data for {channel.name!r}", frame))
                    self._fail(channel, SubscriptionError(
                        channel.name, None, "the server sent malformed presence data"), False)
                    return
                snapshot = roster.reset(event.data)
            self._set_channel_state(channel, S.SUBSCRIBED)
            if channel.lost_at is not None:
                interruption = Interruption(channel.name, channel.lost_at, _utcnow())
                channel.lost_at = None
                self._post(emit_to, channel.interruption_sinks, interruption, self.report_observer)
            if roster is not None:
                self._post(emit_to, self.router.sinks(channel.name, MEMBERS), snapshot,
                           self.report_observer)
            self._post(self.router.later(public, channel.name, False))
        self._flush()

    def _on_member_added(self, attempt: int, event: Event, frame: str) -> None:
        self._on_member(event, added=True)

    def _on_member_removed(self, attempt: int, event: Event, frame: str) -> None:
        self._on_member(event, added=False)

    def _on_member(self, event: Event, added: bool) -> None:
        with self._lock:
            channel = self._internal_channel(event)
            if channel is None or channel.roster is None:
                return
            roster = channel.roster
            member: Member | None = roster.add(event.data) if added else roster.remove(event.data)
            if member is not None:
                name = channel.name
                self._post(emit_to, self.router.sinks(name, MEMBERS), roster.snapshot,
                           self.report_observer)
                self._post(emit_to, self.router.sinks(name, MEMBER_ADDED if added else MEMBER_REMOVED),
                           member, self.report_observer)
                public = protocol.MEMBER_ADDED if added else protocol.MEMBER_REMOVED
                self._post(self.router.later(event._replace(name=public), name, False))
        self._flush()

    def _on_subscription_count(self, attempt: int, event: Event, frame: str) -> None:
        internal = event.name.startswith(protocol.INTERNAL_PREFIX)
        public = event._replace(name=protocol.SUBSCRIPTION_COUNT)
        count = event.data.get("subscription_count") if isinstance(event.data, dict) else None
        with self._lock:
            channel = self._internal_channel(event)
            if channel is not None and isinstance(count, int) and not isinstance(count, bool):
                channel.count = count
            if channel is not None or not internal:
                self._post(self.router.later(public, event.channel, not internal))
        self._flush()

    def _on_subscription_error(self, attempt: int, event: Event, frame: str) -> None:
        data = event.data if isinstance(event.data, dict) else {"error": event.data}
        status = data.get("status")
        message = shorten(str(data.get("error") or data.get("message") or data))
        with self._lock:
            self._post(self.router.later(event, event.channel))
            channel = self._internal_channel(event)
            if channel is not None:
                error = SubscriptionError(
                    channel.name, status if isinstance(status, int) else None, message)
                self._fail(channel, error, synthesize=False)
        self._flush()

    # ---- encrypted channels -------------------------------------------------------------------

    def _decrypt_and_dispatch(self, event: Event) -> None:
        """Deliver an event of an encrypted channel, decrypted (in the lane).

        A payload that does not open triggers one re-authorization (the key may have
        rotated); events arriving meanwhile wait for the new key, in order. If the new key
        fails too, the event is dropped and a DecryptionError reported."""
        name = event.channel
        assert name is not None
        channel = self._channels.get(name)
        if channel is None:
            return
        key = channel.key
        if key is not None and channel.rotation is None:
            try:
                data = encryption.decrypt(key, event.data)
            except ValueError as exc:
                problem = str(exc)
            else:
                channel.key_fresh = False
                self.router.dispatch(event._replace(data=data), name)
                return
        else:
            problem = "no key for this channel"
        with self._lock:
            if channel.rotation is not None:
                channel.rotation.append(event)
                return
            socket_id = self.socket_id
            if channel.key_fresh or not socket_id or self._authorizer.channel_is_local:
                drop = True
            else:
                drop = False
                channel.rotation = [event]
                token = channel.auth = BooleanDisposable()
                authorize = self._authorizer.channel

                def job() -> None:
                    try:
                        outcome: Authorization | SubscriptionError = authorize(name, socket_id)
                    except SubscriptionError as error:
                        outcome = error
                    self._rotated(name, token, outcome)

                self._workers.submit(job)
        if drop:
            self._post_error(encryption.DecryptionError(name, event.name, problem))

    def _rotated(self, name: str, token: BooleanDisposable,
                 outcome: Authorization | SubscriptionError) -> None:
        """The re-authorization after a failed decryption came back: retry the held events."""
        with self._lock:
            channel = self._channels.get(name)
            if channel is None:
                return
            if channel.auth is token:
                channel.auth = None
                if isinstance(outcome, Authorization):
                    channel.key = outcome.shared_secret
            channel.key_fresh = True
            held, channel.rotation = channel.rotation or [], None
            key = channel.key
            if isinstance(outcome, SubscriptionError):
                self._post_error(outcome)
            for event in held:
                try:
                    if key is None:
                        raise ValueError("no key for this channel")
                    data = encryption.decrypt(key, event.data)
                except ValueError as exc:
                    self._post_error(encryption.DecryptionError(name, event.name, str(exc)))
                    continue
                self._post(self.router.later(event._replace(data=data), name))
            self._forget_if_idle(channel)
        self._flush()

    # ---- the user ---------------------------------------------------------------------------------

    def signin(self) -> None:
        """Sign in now (once connected) and after every reconnect."""
        with self._lock:
            self.check_open()
            self._user_wanted = True
            if self.socket_id is not None and self.user_id is None and self._user_auth is None:
                self._authenticate_user(self.socket_id)
        self._flush()

    def _authenticate_user(self, socket_id: str) -> None:
        if self._user_auth is not None:
            self._user_auth.dispose()
            self._user_auth = None
        if self._authorizer.user_is_local:
            try:
                authorization = self._authorizer.user(socket_id)
            except AuthenticationError as error:
                self._post_error(error)
            else:
                self._send_signin(authorization)
            return
        token = self._user_auth = BooleanDisposable()
        authenticate = self._authorizer.user

        def job() -> None:
            try:
                outcome: UserAuthorization | AuthenticationError = authenticate(socket_id)
            except AuthenticationError as error:
                outcome = error
            with self._lock:
                if self._user_auth is not token or socket_id != self.socket_id:
                    return
                self._user_auth = None
                if isinstance(outcome, AuthenticationError):
                    self._post_error(outcome)
                else:
                    self._send_signin(outcome)
            self._flush()

        self._workers.submit(job)

    def _send_signin(self, authorization: UserAuthorization) -> None:
        self._send(protocol.encode_frame(
            protocol.SIGNIN, {"auth": authorization.auth, "user_data": authorization.user_data}))

    def _on_signin_success(self, attempt: int, event: Event, frame: str) -> None:
        data = event.data
        raw = data.get("user_data") if isinstance(data, dict) else None
        try:
            user_data = protocol.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(user_data, dict):
                raise TypeError("user_data is not an object")
            user_id = user_data["id"]
            if not isinstance(user_id, (str, int)) or isinstance(user_id, bool):
                raise TypeError("id is not a string")
            user_id = str(user_id)
        except (ValueError, TypeError, KeyError, RecursionError):
            self._post_error(AuthenticationError(
                None, f"sign-in answer without a user id: {shorten(data)}"))
            return
        with self._lock:
            if attempt != self._attempt:
                return
            self.user_id = user_id
            self.user_data = user_data
            self._send(protocol.encode_frame(
                protocol.SUBSCRIBE, {"channel": protocol.SERVER_TO_USER_PREFIX + user_id}))
            self._post(self.router.later(event, None))
        self._flush()

    def _on_watchlist(self, attempt: int, event: Event, frame: str) -> None:
        data = event.data
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):
            raise ProtocolError("watchlist events without an 'events' list", frame)
        items = []
        for item in events:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
                    or not isinstance(item.get("user_ids", []), list):
                raise ProtocolError("malformed watchlist event", frame)
            items.append({"name": item["name"], "user_ids": [str(u) for u in item.get("user_ids", [])]})
        for item in items:
            self._post(emit_to, self._watchlist.sinks, item, self.report_observer)

    # ---- loss and the close-code policy (lock held) -----------------------------------------------

    def _connection_lost_for_channels(self, was_connected: bool) -> None:
        """Every channel waits for the next connection; the user is signed out."""
        self._connected_at = None
        lost_at = _utcnow()
        for channel in list(self._channels.values()):
            if channel.state is S.SUBSCRIBED and channel.lost_at is None:
                channel.lost_at = lost_at
            self._cancel_auth(channel)
            channel.subscribed_on = None
            channel.count = None
            if channel.roster is not None and channel.roster.ready:
                self._clear_roster(channel)
            self._set_channel_state(channel, S.PENDING if channel.active else S.UNSUBSCRIBED)
            self._forget_if_idle(channel)
        if self._user_auth is not None:
            self._user_auth.dispose()
            self._user_auth = None
        self.user_id = None

    def _connection_lost(self, code: int | None, reason: str) -> None:
        log.info("connection closed (%s) %s", code, shorten(reason))
        was_connected = self.state is C.CONNECTED
        # only a connection that lasted resets the backoff or earns an immediate reconnect
        lasted = was_connected and self._connected_at is not None \
            and self._clock() - self._connected_at >= self.activity_timeout
        if lasted:
            self._reset_backoff()
        said = self._server_said
        if not reason and said is not None and said[0] == self._attempt:
            reason = said[1]  # the close frame has none: the pusher:error that came with it
        self._last_cause = (f"connection lost: {shorten(reason) or 'no reason given'}"
                            if code in _NO_CLOSE_FRAME else
                            f"closed by the server ({code}): {shorten(reason) or 'no reason given'}")
        self._attempt_deadline.disposable = Disposable()
        if len(self.options.hosts) > 1:
            self._host_index += 1  # the next host: at once when an established one dropped
        if code in (1002, 1007, 1009):
            self._post_error(ProtocolError(
                f"connection closed with {code}: {shorten(reason) or 'protocol violation'}", ""))
        elif not was_connected and self._wanted and not self._closed and code is None:
            self._report_attempt_failure(reason)
        self.socket_id = None
        self._liveness.disposable = Disposable()
        self._connection_lost_for_channels(was_connected)
        if self._replaying:
            self._wanted = False
        if not self._wanted or self._closed:
            self._set_state(C.DISCONNECTED)
            return
        action = protocol.close_action(code)
        if action is CloseAction.REFUSED:
            assert code is not None
            self._wanted = False
            self._cancel_timers()
            self._set_state(C.DISCONNECTED)
            error = ConnectionRefused(code, shorten(reason))
            self._stopped_by = error
            self._post_error(error)
            self._refuse(error)
            return
        delay = 0.0
        at_once = (action is CloseAction.RECONNECT_NOW and lasted) or (
            action is CloseAction.RECONNECT_WITH_TLS and not self._use_tls)
        if action is CloseAction.RECONNECT_WITH_TLS:
            self._use_tls = True
        if not at_once:  # a failed attempt, or a connection that did not last
            policy = self.options.reconnect
            if policy.gives_up(self._failures):
                self._wanted = False
                self._cancel_timers()
                self._stopped_by = PusherError(
                    f"gave up after {self._failures} failed attempts; last: {self._last_cause}")
                self._set_state(C.FAILED)
                self._post_error(self._stopped_by)
                return
            self._failures += 1
            if self._hosts_tried < len(self.options.hosts) - 1:
                self._hosts_tried += 1  # another host at once, each once per backoff step
            else:
                self._hosts_tried = 0
                delay = policy.delay(self._backoff_steps)
                self._backoff_steps += 1
        if self.state not in (C.CONNECTING, C.UNAVAILABLE):
            self._enter_connecting()
        log.info("reconnecting in %.3f s", delay)
        self._retry.disposable = self._scheduler.schedule_relative(delay, self._retry_now)

    def _attempt_expired(self, attempt: int) -> None:
        """``connect_timeout`` passed without a handshake: one deadline for the whole attempt
        (TCP, TLS, the upgrade and ``pusher:connection_established``)."""
        with self._lock:
            if attempt == self._attempt and self._transport is not None \
                    and self.state is not C.CONNECTED:
                self._abandon_attempt(
                    "timeout", f"no handshake within connect_timeout ({self.options.connect_timeout} s)")
        self._flush()

    def _abandon_attempt(self, cause: str, message: str) -> None:
        """Give up the attempt under way (lock held); the backoff decides the next one."""
        url = self.url
        self._drop_transport(1000)
        self._attempt_failures += 1
        error = ConnectAttemptError(url, cause, message)
        self._report_attempt(error)
        self._connection_lost(1006, message)  # 1006: no close frame, not reported again
        self._last_cause = str(error)

    def _report_attempt_failure(self, reason: str) -> None:
        self._attempt_failures += 1
        cause, message = _attempt_cause(reason), shorten(reason)
        proxy = self.options.proxy
        if proxy and cause in ("refused", "dns"):  # the client only ever dials the proxy
            cause, message = "proxy", f"the proxy {shorten(proxy.split('@')[-1])} failed: {message}"
        self._report_attempt(ConnectAttemptError(self.url, cause, message))

    def _report_attempt(self, error: ConnectAttemptError) -> None:
        """Report a failed attempt: the first at once, then at most one every 30 s, saying
        how many failed in between, so that a long outage does not flood ``errors``."""
        self._last_cause = str(error)
        now = self._clock()
        if self._attempt_reported_at is not None and now - self._attempt_reported_at < 30.0:
            return
        if self._attempt_failures > 1:
            error.args = (f"{error.args[0]} ({self._attempt_failures} failed attempts since "
                          "the last report)",)
        self._attempt_reported_at = now
        self._attempt_failures = 0
        self._post_error(error)

    def _refuse(self, error: ConnectionRefused) -> None:
        """Error every channel stream and every global ``events`` stream."""
        for channel in list(self._channels.values()):
            self._error_streams(channel, error)
            self._forget_if_idle(channel)
        dropped = self.router.drop(GLOBAL, streams_only=True)
        self._post(end_all, dropped, error, self.report_observer)

    # ---- liveness ---------------------------------------------------------------------------------

    def _schedule_activity_check(self, delay: float) -> None:
        self._liveness.disposable = self._scheduler.schedule_relative(delay, self._check_activity)

    def _check_activity(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        with self._lock:
            if self.state is C.CONNECTED:
                idle = self._clock() - self._last_activity
                if idle < self.activity_timeout:
                    self._schedule_activity_check(self.activity_timeout - idle)
                else:
                    self._send_ping()
        self._flush()

    def _send_ping(self) -> None:
        self._inbound_at_ping = self._inbound
        self._ping_sent_at = self._clock()
        log.debug("idle: sending pusher:ping")
        self._send(protocol.encode_frame(protocol.PING, {}))
        self._schedule_pong_check()

    def _schedule_pong_check(self) -> None:
        # checked at least every activity_timeout, so that after an early answer the next
        # idle ping is not held back by a longer pong_timeout
        elapsed = self._clock() - self._ping_sent_at
        remaining = self.options.pong_timeout - elapsed
        self._liveness.disposable = self._scheduler.schedule_relative(
            max(0.0, min(remaining, self.activity_timeout)), self._check_pong
        )

    def _socket_busy(self) -> bool:
        """True when the socket has shown life that the counters cannot see yet: its reader
        is delivering a frame (to a slow observer, say) or bytes wait to be read."""
        if self._reader_busy == self._attempt:
            return True
        pending = getattr(self._transport, "has_pending_input", None)
        try:
            return bool(pending()) if pending is not None else False
        except Exception:  # noqa: BLE001 - a socket being torn down
            return False

    def _check_pong(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        with self._lock:
            if self.state is not C.CONNECTED or self._inbound_at_ping is None:
                return
            if self._socket_busy():
                self._last_activity = self._clock()
            if self._inbound != self._inbound_at_ping or self._last_activity > self._ping_sent_at:
                idle = self._clock() - self._last_activity
                self._schedule_activity_check(max(0.0, self.activity_timeout - idle))
                return
            elapsed = self._clock() - self._ping_sent_at
            if elapsed < self.options.pong_timeout:
                self._schedule_pong_check()
                return
            log.warning("no answer to pusher:ping within %s s: reconnecting",
                        self.options.pong_timeout)
            self._drop_transport(1000)
            self._connection_lost(None, "pong timeout")
        self._flush()


def _valid_presence(presence: Any) -> bool:
    if not isinstance(presence, dict):
        return False
    by_id = presence.get("hash", {})
    ids = presence.get("ids", [])
    return isinstance(by_id, dict) and isinstance(ids, list)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _Recording:
    """One ``pusher.record(path)``: JSON lines ``{"t": seconds, "frame": text}``; written
    and closed in the lane, so writes never race the close."""

    __slots__ = ("_file", "_clock", "_start")

    def __init__(self, path: str, clock: Callable[[], float]) -> None:
        # line-buffered: each frame is on disk at once, so a killed process keeps its lines
        self._file = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by close()
        self._clock = clock
        self._start = clock()

    def write(self, text: str, received_at: float | None) -> None:
        if self._file.closed:
            return
        at = self._clock() if received_at is None else received_at
        line = json.dumps({"t": round(max(0.0, at - self._start), 6), "frame": text},
                          ensure_ascii=False)
        self._file.write(line + "\n")

    def close(self) -> None:
        self._file.close()


def _attempt_cause(reason: str) -> str:
    """What a failed attempt's reason text says went wrong."""
    text = reason.lower()
    if "refused" in text:
        return "refused"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "tls"
    if "gaierror" in text or "name or service" in text or "nodename" in text \
            or "name resolution" in text:
        return "dns"
    if "timed out" in text or "timeout" in text:
        return "timeout"
    if "handshake" in text or "status" in text:
        return "handshake"
    return "network"


class _Repeats:
    """Coalesces identical reports: :meth:`admit` lets the first of a key through, then
    none until ``window`` seconds have passed, and says how many were left out meanwhile."""

    __slots__ = ("_clock", "_window", "_seen")

    def __init__(self, clock: Callable[[], float], window: float) -> None:
        self._clock = clock
        self._window = window
        self._seen: dict[Hashable, list[float]] = {}  # key -> [reported at, left out]

    def admit(self, key: Hashable) -> int | None:
        """None: leave this one out; else how many were left out since the last one."""
        now = self._clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self._window:
            seen[1] += 1
            return None
        if len(self._seen) >= 64:  # bounded: a server cannot grow it with varied messages
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self._window}
            if len(self._seen) >= 64:
                self._seen.clear()
        self._seen[key] = [now, 0]
        return 0 if seen is None else int(seen[1])


class _WarningLimiter:
    """Logs problems (in the lane), at most 5 of one kind per minute, then a count."""

    __slots__ = ("_clock", "_seen")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._seen: dict[type, list[float]] = {}  # kind -> [window start, count]

    def warn(self, error: BaseException) -> None:
        now = self._clock()
        window = self._seen.get(type(error))
        if window is None or now - window[0] >= 60.0:
            if window is not None and window[1] > 5:
                log.warning("%d more %s in the last minute", window[1] - 5, type(error).__name__)
            window = self._seen[type(error)] = [now, 0]
        window[1] += 1
        if window[1] > 5:
            return
        if isinstance(error, ObserverError):
            log.error("%s", error, exc_info=error.__cause__)
        else:
            log.warning("%s", shorten(str(error), 500))
