"""The shell around the core: the lock, the transports, the timers, the workers, the lane.

:class:`~rxpusher._core.Core` decides; :class:`ClientSession` runs it. There is one way in,
:meth:`ClientSession._step`: take the session lock, call one input of the core, take its
effects and queue them (in the order they were decided), release the lock, then execute
them: actions (frames to send, transports to open and close, timers, authorization jobs)
through the :class:`~rxpusher._internal.actions.ActionQueue`, in the order decided, each
thread running its own; then notifications through the delivery lane
(:class:`~rxpusher._internal.lane.Lane`). No user code and no I/O runs under the lock, and
nothing the core does can take it again: re-entry is impossible by construction.

To execute a new effect: add its type to ``_queue`` (a notification) or ``_execute`` (an
action) in ``ClientSession.__init__``.

Five kinds of thread call in: the user's, the reader (frames), the timer thread, the
``rxpusher-auth`` workers (authorization outcomes) and, with ``scheduler=``, the hand-off.
Plain events take a lock-free route: the reader applies the core's rule for them
(:func:`rxpusher._core.is_plain`, inline) or asks :meth:`Core.route` where an event goes,
and dispatches it through the router at once; protocol events and encrypted ones are
stepped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Hashable
from datetime import datetime, timezone
from typing import Any, TypeVar

from reactivex import abc
from reactivex.disposable import Disposable, SerialDisposable
from reactivex.scheduler import VirtualTimeScheduler

from . import _protocol as protocol
from ._auth import Authorizer
from ._core import CHUNKED, DECIDED_PREFIXES, DROP, HANDLERS, INTERNAL_PREFIX, STEP, Core
from ._core.effects import (
    Authorize,
    AuthorizeBatch,
    AuthorizeUser,
    CancelTimer,
    Changed,
    CloseTransport,
    Deliver,
    Dispose,
    Emit,
    End,
    Open,
    Report,
    Run,
    Send,
    SetTimer,
    Timer,
)
from ._exceptions import (
    AuthenticationError,
    ClosedError,
    InternalError,
    ObserverError,
    PusherError,
    SendError,
    SubscriptionError,
)
from ._internal.actions import ActionQueue
from ._internal import unhandled
from ._internal.handoff import HandoffObserver
from ._internal.lane import Lane
from ._internal.pool import Pool
from ._internal.timers import TimerHandle, shared_timers
from ._options import Options
from ._protocol import ChannelOutcome, Event, UserAuthorization, shorten
from ._router import GLOBAL, USER, Route, Sink, emit_to, end_all
from ._states import AttemptCause, ChannelState, ConnectionState
from ._transport import Transport, WebSocketTransport

log = logging.getLogger("rxpusher")

_JOIN_TIMEOUT = 5.0
_AUTH_THREADS = 4

T = TypeVar("T")


def _seconds_clock(scheduler: abc.SchedulerBase) -> Callable[[], float]:
    """Seconds on ``scheduler``'s timeline (a virtual-time scheduler's float clock)."""
    if isinstance(scheduler, VirtualTimeScheduler) and isinstance(scheduler.clock, (int, float)):
        return lambda: float(scheduler.clock)
    return lambda: scheduler.now.timestamp()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _Listener:
    """One attempt's transport reports, tagged so that stale ones are ignored."""

    __slots__ = ("_session", "attempt")

    def __init__(self, session: ClientSession, attempt: int) -> None:
        self._session = session
        self.attempt = attempt

    def on_open(self) -> None:
        self._session._on_activity(self.attempt)

    def on_activity(self) -> None:
        self._session._on_activity(self.attempt)

    def on_frame(self, text: str) -> None:
        self._session._on_frames(self.attempt, [text])

    def on_frames(self, texts: list[str]) -> None:
        self._session._on_frames(self.attempt, texts)

    def on_close(self, code: int | None, reason: str, cause: AttemptCause | None = None) -> None:
        self._session._step(self._session._core.closed_by_peer, self.attempt, code, reason, cause)


def bind_bridge(observer: abc.ObserverBase[Any], session: ClientSession, channel: str | None,
                event: str | None) -> None:
    """Tell a :mod:`rxpusher.bridge` sink that observes a stream of ``session`` (directly, so
    ``observer`` is reactivex's wrapper of its bound ``on_next``) which client and channel it
    observes: its broker failures then go to this client's ``errors``."""
    target = getattr(getattr(observer, "_on_next", None), "__self__", None)
    bind = getattr(target, "_rxpusher_bind", None)
    if callable(bind):
        bind(session, channel, event)


def switch_cluster(session: ClientSession, options: Options) -> None:
    """Move ``session`` to ``options`` (``Pusher.switch_cluster``), keeping its channels,
    observers and bindings: the next transport and authorization are made from them."""
    core = session._core
    session._step(core.check_open)
    session.options = options
    session._step(core.switch_cluster, options, session._auth.replace(Authorizer(options)))


def wait_signed_in(session: ClientSession, timeout: float | None) -> None:
    """Block until the server accepted the sign-in; raise the sign-in's failure
    (:class:`AuthenticationError`), :class:`ClosedError` or ``TimeoutError``."""
    core = session._core

    def outcome() -> bool | PusherError:
        return ClosedError("this Pusher client is closed") if core.closed else core.user.outcome()

    session._wait(outcome, timeout, "sign-in")


class ClientSession:
    """Runs a client's :class:`~rxpusher._core.Core`: see the module docstring."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._lock = threading.Lock()  # the session lock: taken in _step only
        self._waiting = threading.Condition()  # notified after every state change
        self._lane = Lane(self._report_library)  # notifications
        self._actions = ActionQueue(self._report_library)  # I/O effects, in order
        self._owned_scheduler: TimerHandle | None = None
        scheduler = options.timer_scheduler
        if scheduler is None:
            scheduler = self._owned_scheduler = shared_timers().handle()
            self._clock: Callable[[], float] = time.monotonic
        else:
            self._clock = _seconds_clock(scheduler)
        self._timers = _Timers(scheduler, self._timer_fired)
        self._warnings = _WarningLimiter(self._clock)
        self._said = unhandled.Said()  # what reached errors, and stderr
        authorizer = Authorizer(options)
        self._core = Core(options, authorizer, self._clock, _utcnow, self.report_observer)
        self._auth = _Authorizations(authorizer, self._core, self._step)
        self.router = self._core.streams.router
        # the hot path's look-ups, bound once
        self._connection = self._core.connection
        self._streams = self._core.streams
        self._route = self._core.route
        self._dispatch = self.router.dispatch
        self._transport_factory: Callable[[], Transport] = options.transport or (
            lambda: WebSocketTransport.from_options(self.options)  # switch_cluster changes them
        )
        self._transport: Transport | None = None
        self._transport_attempt = 0
        self._retired: list[Transport] = []
        self._reader_busy = 0  # attempt whose reader is delivering a frame, 0 if none
        lane, report = self._lane, self.report_observer
        self._queue: dict[type, Callable[[Any], None]] = {
            Emit: lambda e: lane.post(emit_to, e.sinks, e.value, report),
            Deliver: lambda e: lane.post(self.router.deliver, e.event, e.routes, e.global_routes),
            End: lambda e: lane.post(end_all, e.sinks, e.error, report),
            Report: lambda e: lane.post(self._emit_error, e.error),
            Run: lambda e: lane.post(e.call),
        }
        self._execute: dict[type, Callable[[Any], None]] = {
            Send: self._send,
            Open: self._open,
            CloseTransport: self._close_transport,
            SetTimer: self._timers.set,
            CancelTimer: self._timers.cancel,
            Authorize: self._auth.channel,
            AuthorizeBatch: self._auth.batch,
            AuthorizeUser: self._auth.user,
            Dispose: self._dispose,
            type(Changed): self._changed,
        }

    # ---- the one way in ---------------------------------------------------------------------

    def _step(self, step: Callable[..., T], *args: Any) -> T:
        """The one way in: take the lock, run one input of the core, queue its effects in
        the order they were decided, release the lock; then execute them (actions first,
        then notifications), also when the input raised."""
        last = 0  # the sequence number of the last action this step queued
        try:
            with self._lock:
                try:
                    return step(*args)
                finally:
                    effects = self._core.take()
                    if effects:
                        last = self._queue_effects(effects)
        finally:
            self._flush(last)

    def _queue_effects(self, effects: list[Any]) -> int:
        """Under the lock: notifications to the lane, actions to the action queue; the
        sequence number of the last action (0: none)."""
        notifications, execute, post = self._queue, self._execute, self._actions.post
        last = 0
        for effect in effects:
            notify = notifications.get(effect.__class__)
            if notify is not None:
                notify(effect)
            else:
                last = post(execute[effect.__class__], effect)
        return last

    def _flush(self, last: int = 0) -> None:
        """Run the actions up to ``last``, then deliver the notifications (not from inside
        an action: the outer step delivers them, so that no observer runs in a turn)."""
        actions = self._actions
        if last:
            actions.run_to(last)
        if not actions.in_turn:
            self._lane.drain()

    # ---- actions ------------------------------------------------------------------------------

    def _send(self, effect: Send) -> None:
        transport = self._transport
        if transport is None:
            return
        try:
            transport.send(effect.text, bounded=False)  # never blocks: the transport's outbox
        except Exception as exc:  # noqa: BLE001 - a dying socket: its reader will notice
            if transport is self._transport:
                error = SendError(f"could not send a frame: {exc}")
                error.__cause__ = exc
                self._lane.post(self._emit_error, error)

    def _open(self, effect: Open) -> None:
        self._retired = [t for t in self._retired if t.alive]
        transport = self._transport_factory()
        self._transport = transport
        self._transport_attempt = effect.attempt
        self._step(self._core.link, effect.attempt, transport.interactive)
        transport.open(effect.url, _Listener(self, effect.attempt))

    def _close_transport(self, effect: CloseTransport) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            if effect.code is not None:
                transport.close(effect.code)
            self._retired.append(transport)

    def _timer_fired(self, timer: Timer, key: Hashable) -> None:
        if timer is Timer.LIVENESS:
            self._step(self._core.timer_fired, timer, key, self._socket_busy(),
                       self._send_stalled())
        else:
            self._step(self._core.timer_fired, timer, key)

    def _dispose(self, effect: Dispose) -> None:
        for disposable in effect.disposables:
            disposable.dispose()

    def _changed(self, effect: object) -> None:
        with self._waiting:
            self._waiting.notify_all()

    def _socket_busy(self) -> bool:
        """True when the socket has shown life that the counters cannot see yet: its reader
        is delivering a frame (to a slow observer, say) or bytes wait to be read."""
        if self._reader_busy and self._reader_busy == self._core.connection.attempt:
            return True
        transport = self._transport
        try:
            return transport is not None and transport.has_pending_input()
        except Exception:  # noqa: BLE001 - a socket being torn down
            return False

    def _send_stalled(self) -> bool:
        """True when frames have waited to go out for ``pong_timeout`` without one byte
        leaving: the liveness check then takes the connection for dead (a slow link that
        takes bytes is not stalled)."""
        transport = self._transport
        try:
            return transport is not None and transport.unsent_for() >= self.options.pong_timeout
        except Exception:  # noqa: BLE001 - a socket being torn down
            return False

    # ---- transport reports ----------------------------------------------------------------------

    def _on_activity(self, attempt: int) -> None:
        self._core.activity(attempt, self._clock())

    def _on_frames(self, attempt: int, texts: list[str]) -> None:
        """Text frames read together (one ``recv``): one turn of the lane for all of them."""
        if not self._core.frames_arrived(attempt, texts, self._clock()):
            return
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
        if attempt != self._connection.attempt:
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("recv %s", protocol.redacted(text))
        streams = self._streams
        for recording in streams.recordings:
            recording.write(text, self._core.last_frame_at)
        for sink in streams.frames:
            try:
                sink.on_next(text)
            except Exception as exc:  # noqa: BLE001
                self.report_observer(exc)
        try:
            event = protocol.decode_frame(text)
        except PusherError as exc:
            self._lane.post(self._emit_error, exc)
            return
        for sink in streams.messages:
            try:
                sink.on_next(event)
            except Exception as exc:  # noqa: BLE001
                self.report_observer(exc)
        name, channel = event.name, event.channel
        # the core's rule for plain events (rxpusher._core.is_plain), inline: no call per event
        if channel is not None and name not in HANDLERS and not name.startswith(INTERNAL_PREFIX) \
                and not channel.startswith(DECIDED_PREFIXES) and CHUNKED not in name:
            self._dispatch(event, channel)
            return
        route = self._route(event)
        if route is STEP:
            self._step(self._core.receive, attempt, event, text)
        elif route is not DROP:
            self._dispatch(event, route, route is not USER)

    # ---- reporting ----------------------------------------------------------------------------

    def report(self, error: PusherError) -> None:
        """Put ``error`` on ``errors`` now (never with the lock held)."""
        self._lane.post(self._emit_error, error)
        self._lane.drain()

    def report_observer(self, exc: BaseException) -> None:
        """An observer raised: an :class:`ObserverError` on ``errors``, or the error it was
        given and re-raised (no ``on_error`` of its own) as itself, shown once."""
        self._lane.post(self._said.observer_raised, exc, self._emit_error)

    def _report_library(self, exc: BaseException) -> None:
        """Something in the library failed inside the lane: an :class:`InternalError`."""
        log.error("internal error", exc_info=exc)
        self._lane.post(self._emit_error, unhandled.internal_error(exc))

    def _emit_error(self, error: PusherError) -> None:
        self._said.reported(error, self._core)
        self._warnings.warn(error)
        for sink in self._core.streams.errors:
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
            self.report(exc)
        else:
            self.report_observer(exc)
            self._lane.drain()

    def _observe(self, observer: abc.ObserverBase[Any], join: Callable[[Sink], bool],
                 leave: Callable[[Sink], None], *, route: Route = GLOBAL, key: Hashable = None,
                 project: bool = False, terminates: bool = False,
                 plays: bool = False) -> abc.DisposableBase:
        """Register ``observer`` (through the hand-off with ``scheduler=``): the core's
        ``join(sink)`` now and ``leave(sink)`` at disposal. After ``close()`` the observer
        completes at once. ``plays``: it observes content, so a held replay starts."""
        target, handoff = self.wrap(observer)
        sink = Sink(target, project, terminates, route, key)
        if not self._step(join, sink):
            return Disposable()
        if plays:
            _begin_playback(self._transport)
        disposable = Disposable(lambda: self._step(leave, sink))
        if handoff is not None:
            handoff.subscription.disposable = disposable
        return disposable

    def observe_hub(self, which: str, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """Subscribe to ``frames``, ``messages``, ``errors``, ``state`` or ``watchlist``."""
        core = self._core
        return self._observe(observer, lambda sink: core.join_hub(which, sink),
                             lambda sink: core.leave_hub(which, sink),
                             plays=which in ("frames", "messages"))

    def attach(self, route: Route, key: Hashable, observer: abc.ObserverBase[Any], *,
               project: bool, terminates: bool = True) -> abc.DisposableBase:
        """Register an observer of a route: a channel's stream (which counts for the
        channel's reference count), the global route or the user's route."""
        disposable = self._observe(observer, self._core.attach, self._core.detach, route=route,
                                   key=key, project=project, terminates=terminates, plays=True)
        if isinstance(route, str) or route is GLOBAL:
            bind_bridge(observer, self, route if isinstance(route, str) else None,
                        key if isinstance(key, str) else None)
        return disposable

    def observe_channel_state(self, name: str, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """``channel.state``: the current state now, then every change (does not count)."""
        core = self._core
        return self._observe(observer, lambda sink: core.join_channel_state(name, sink),
                             lambda sink: core.leave_channel_state(name, sink))

    def observe_interruptions(self, name: str, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """``channel.interruptions`` (does not count for reference counting)."""
        core = self._core
        return self._observe(observer, lambda sink: core.join_interruptions(name, sink),
                             lambda sink: core.leave_interruptions(name, sink))

    def observe_health(self, interval: float, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """``pusher.health(interval)``: a :class:`Health` snapshot every ``interval`` s."""
        core = self._core
        return self._observe(observer, lambda sink: core.join_health(sink, interval),
                             core.leave_health)

    def record(self, path: str) -> abc.DisposableBase:
        """Write every received text frame to ``path`` as JSON lines until disposed."""
        self._step(self._core.check_open)
        recording = _Recording(path, self._clock)
        try:
            self._step(self._core.add_recording, recording)
        except ClosedError:
            recording.close()
            raise

        def stop() -> None:
            self._step(self._core.remove_recording, recording)
            if not self._lane.in_lane:
                self._lane.wait_idle(_JOIN_TIMEOUT)  # closed when stop() returns

        return Disposable(stop)

    # ---- callback bindings -------------------------------------------------------------------

    def bind(self, channel: str | None, event: str | None, callback: Callable[..., Any],
             subscribe: Callable[[Callable[[Any], None]], abc.DisposableBase]) -> None:
        """Keep a callback subscription (of a channel, or global with ``channel`` None);
        a channel's raises :class:`ClosedError` after ``close()``."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        if channel is not None:
            self._step(self._core.check_open)
        on_next: Callable[[Any], None]
        if event is None:
            def on_next(e: Event) -> None:
                callback(e.name, e.data)
        else:
            on_next = callback
        subscription = subscribe(on_next)
        if not self._step(self._core.add_binding, channel, (event, callback, subscription)):
            subscription.dispose()

    def unbind(self, channel: str | None, event: str | None = None,
               callback: Callable[..., Any] | None = None) -> None:
        """Dispose the bindings matching ``event`` and ``callback`` (None matches all)."""
        self._step(self._core.unbind, channel, event, callback)

    # ---- the API -------------------------------------------------------------------------------

    def check_open(self) -> None:
        """Raise :class:`ClosedError` after ``close()``."""
        self._core.check_open()

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._core.closed

    @property
    def state(self) -> ConnectionState:
        return self._core.connection.state

    @property
    def socket_id(self) -> str | None:
        return self._core.connection.socket_id

    @property
    def url(self) -> str:
        """The URL the next attempt connects to."""
        return self._core.connection.url

    @property
    def activity_timeout(self) -> float:
        return self._core.connection.activity_timeout

    @property
    def user_id(self) -> str | None:
        return self._core.user.user_id

    @property
    def user_data(self) -> dict[str, Any] | None:
        return self._core.user.user_data

    def connect(self) -> None:
        """Start connecting unless already connected or connecting."""
        self._step(self._core.connect)

    def disconnect(self) -> None:
        """Close the socket and stay disconnected until ``connect()``."""
        self._step(self._core.disconnect)

    def reconnect(self) -> None:
        """Drop the current socket (if any) and connect again at once."""
        self._step(self._core.reconnect)

    def ping(self) -> None:
        """Send ``pusher:ping`` now; reconnect unless something arrives within pong_timeout."""
        self._step(self._core.ping)

    def signin(self) -> None:
        """Sign in now (once connected) and after every reconnect."""
        self._step(self._core.signin)

    def pin(self, name: str) -> None:
        """``pusher.subscribe(name)``: subscribe and keep subscribed until :meth:`unpin`."""
        self._step(self._core.pin, name)

    def unpin(self, name: str) -> None:
        """``pusher.unsubscribe(name)``: leave, complete the channel's streams and bindings."""
        self._step(self._core.unpin, name)

    def active_channels(self) -> list[str]:
        """Names of the channels subscribed or subscribing."""
        return self._step(self._core.active_channels)

    def channel_state(self, name: str) -> ChannelState:
        """The current state of ``name``."""
        channel = self._core.subscriptions.channels.get(name)
        return channel.state if channel is not None else ChannelState.UNSUBSCRIBED

    def subscription_count(self, name: str) -> int | None:
        """The latest ``subscription_count`` of ``name``."""
        channel = self._core.subscriptions.channels.get(name)
        return channel.count if channel is not None else None

    def trigger(self, name: str, messages: list[tuple[str, Any]]) -> None:
        """Send client events ``(event, data)`` (one, or a chunked one's parts), paced: what
        may go now is sent here (a failing socket raises), the rest at its turn."""
        event = messages[0][0]
        texts = [protocol.encode_frame(each, data, name) for each, data in messages]
        attempt, ready = self._step(self._core.trigger, name, event, texts)
        if ready:
            transport = self._transport if self._transport_attempt == attempt else None
            _send_now(transport, ready, event)


    def close(self) -> None:
        """Disconnect for good, complete every stream and binding, end every thread."""
        if not self._step(self._core.close):
            return
        self._actions.wait_idle(_JOIN_TIMEOUT)  # the transport is closed
        self._auth.close(min(self.options.auth_timeout, _JOIN_TIMEOUT))
        self._timers.dispose()
        # inside the lane a reader may be waiting for this thread's turn: it ends right after
        join_timeout = 0.0 if self._lane.in_lane else _JOIN_TIMEOUT
        retired, self._retired = self._retired, []
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
        connection = self._core.connection
        self._wait(self._core.connected_outcome, timeout, "connection",
                   lambda: connection.last_cause)

    def wait_subscribed(self, name: str, timeout: float | None) -> None:
        """Block until ``name`` is subscribed; raise its :class:`SubscriptionError`, the
        refusal, :class:`ClosedError` or ``TimeoutError``."""
        core = self._core
        self._wait(lambda: core.subscribed_outcome(name), timeout, f"a subscription to {name!r}")

    def wait_stopped(self, timeout: float | None) -> PusherError | None:
        """Block until ``close()`` (None) or until the client can never recover without a
        new ``connect()``: a refusal or the reconnect policy giving up (that error).
        ``TimeoutError`` after ``timeout`` seconds."""
        core = self._core
        _begin_playback(self._transport)
        with self._waiting:  # the outcomes only read the core: no step under this lock
            if not self._waiting.wait_for(lambda: core.stopped_outcome()[0], timeout):
                raise TimeoutError("still running")
            return core.stopped_outcome()[1]

    def _wait(self, outcome: Callable[[], bool | PusherError], timeout: float | None,
              what: str, cause: Callable[[], str | None] = lambda: None) -> None:
        if timeout is not None and (timeout != timeout or timeout < 0):
            raise ValueError(f"timeout must be None or a non-negative number, got {timeout!r}")
        self._step(self._core.check_open)
        _begin_playback(self._transport)
        _wait_for(self._waiting, self._lane, outcome, timeout, what, cause)


def _wait_for(waiting: threading.Condition, lane: Lane, outcome: Callable[[], bool | PusherError],
              timeout: float | None, what: str, cause: Callable[[], str | None]) -> None:
    """Block until ``outcome()`` is true (raise it when it is an error) or ``timeout``
    passes (``TimeoutError`` naming ``cause()``); return once the observers have seen the
    change. The outcome only reads the core (no step, which would deliver under this lock);
    it is evaluated again after every change, once its effects were carried out."""
    with waiting:
        if not waiting.wait_for(outcome, timeout):
            last = cause()
            raise TimeoutError(f"no {what} within {timeout} s"
                               + (f"; last attempt: {last}" if last else ""))
        result = outcome()
    if not lane.in_lane:  # the change is posted to the lane: delivered before we return
        lane.wait_idle(_JOIN_TIMEOUT)
    if isinstance(result, PusherError):
        raise result


class _Timers:
    """The core's timers on the ``timer_scheduler`` (or the shared timer thread): one slot
    per ``(timer, key)``, replaced by the next :class:`SetTimer` of the same slot."""

    def __init__(self, scheduler: abc.SchedulerBase,
                 fired: Callable[[Timer, Hashable], None]) -> None:
        self._scheduler = scheduler
        self._fired = fired
        self._slots: dict[tuple[Timer, Hashable], SerialDisposable] = {}

    def set(self, effect: SetTimer) -> None:
        timer, key = effect.timer, effect.key
        slot = self._slots.get((timer, key))
        if slot is None:
            slot = self._slots[(timer, key)] = SerialDisposable()

        def fire(scheduler: abc.SchedulerBase, state: Any = None) -> None:
            if key is not None:  # a keyed timer fires once: forget its slot
                self._slots.pop((timer, key), None)
            self._fired(timer, key)

        slot.disposable = self._scheduler.schedule_relative(effect.delay, fire)

    def cancel(self, effect: CancelTimer) -> None:
        slot = self._slots.pop((effect.timer, effect.key), None)
        if slot is not None:
            slot.dispose()

    def dispose(self) -> None:
        for slot in list(self._slots.values()):
            slot.dispose()


def _send_now(transport: Transport | None, texts: list[str], event: str) -> None:
    """Send the frames of a client event that the pacer let out at once, on the transport of
    the attempt it was decided for (never blocking: into its bounded outbox);
    :class:`SendError` when that cannot be done."""
    if transport is None:
        raise SendError(f"cannot trigger {event!r}: the connection is down")
    try:
        for text in texts:
            transport.send(text)
    except Exception as exc:  # noqa: BLE001
        raise SendError(f"cannot trigger {event!r}: {exc}") from exc


def _begin_playback(transport: Transport | None) -> None:
    """Something observes (or waits on) the client: a replay held until then plays."""
    if transport is not None:
        transport.begin_playback()


class _Authorizations:
    """Runs the authorization effects on the client's ``rxpusher-auth`` workers and steps
    the core with their outcomes."""

    def __init__(self, authorizer: Authorizer, core: Core, step: Callable[..., Any]) -> None:
        self._authorizer = authorizer
        self._core = core
        self._step = step
        self._pool = Pool(_AUTH_THREADS, "rxpusher-auth")

    def channel(self, effect: Authorize) -> None:
        authorize, core, step = self._authorizer.channel, self._core, self._step
        name, socket_id, token = effect.channel, effect.socket_id, effect.token

        def job() -> None:
            try:
                outcome: ChannelOutcome = authorize(name, socket_id)
            except SubscriptionError as error:
                outcome = error
            if effect.rotation:
                step(core.rotated, name, token, outcome)
            else:
                step(core.authorized, name, socket_id, token, outcome)

        self._pool.submit(job)

    def batch(self, effect: AuthorizeBatch) -> None:
        batch, core, step = self._authorizer.batch, self._core, self._step
        assert batch is not None

        def job() -> None:
            outcomes = batch(effect.socket_id, list(effect.channels))
            for name, token in zip(effect.channels, effect.tokens):
                step(core.authorized, name, effect.socket_id, token, outcomes[name])

        self._pool.submit(job)

    def user(self, effect: AuthorizeUser) -> None:
        authenticate, core, step = self._authorizer.user, self._core, self._step

        def job() -> None:
            try:
                outcome: UserAuthorization | AuthenticationError = authenticate(effect.socket_id)
            except AuthenticationError as error:
                outcome = error
            step(core.user_authorized, effect.socket_id, effect.token, outcome)

        self._pool.submit(job)

    def replace(self, authorizer: Authorizer) -> Authorizer:
        """Authorize with ``authorizer`` from now on (``switch_cluster``); the old one's
        HTTP connections are released (a call under way on it is stale anyway)."""
        old, self._authorizer = self._authorizer, authorizer
        old.close()
        return authorizer

    def close(self, timeout: float) -> None:
        """Stop the workers (waiting up to ``timeout`` for calls under way), release the
        HTTP connections."""
        self._pool.close(timeout)
        self._authorizer.close()


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
