"""The public facade: :class:`Pusher`, a connection whose frames, events, channels
and state are ReactiveX Observables."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable
from reactivex.scheduler import EventLoopScheduler

from . import protocol
from ._internal.bindings import Bindings
from ._internal.hub import Hub, void
from .auth import Authorizer
from .channels import Channel
from .connection import Connection
from .exceptions import ConnectionRefused, ObserverError, PusherError
from .options import Options
from .protocol import Event
from .router import ANY_EVENT, GLOBAL, Router, Sink
from .user import SIGNIN_SUCCESS, USER_ROUTE, WATCHLIST_EVENTS, User

__all__ = ["Pusher"]

log = logging.getLogger("rxpusher")


class _Core:
    """The state a client's parts share, and the connection's handler.

    Owns the lock, the router, the connection, the authorizer, the channel handles and
    the user; channels and the user see it as their :class:`ClientHost`. Kept apart from
    :class:`Pusher` so that the facade's public surface is only the documented API.
    """

    def __init__(self, options: Options) -> None:
        self.options = options
        self.lock = threading.RLock()
        self.closed = False
        self.errors: Hub[PusherError] = Hub(_log_observer_failure)
        self.router = Router(self.report)
        self.timer_thread: threading.Thread | None = None
        self.owned_scheduler: EventLoopScheduler | None = None
        scheduler = options.timer_scheduler
        clock = None
        if scheduler is None:
            scheduler = self.owned_scheduler = EventLoopScheduler(self._timer_thread_factory)
            clock = time.monotonic
        self.authorizer = Authorizer(options)
        self.channels: dict[str, Channel] = {}
        self.connection = Connection(options, self, self.lock, scheduler, self.report, clock)
        self.user = User(self)

    def _timer_thread_factory(self, target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, name="rxpusher-timers", daemon=True)
        self.timer_thread = thread
        return thread

    # ---- ClientHost ----------------------------------------------------------------------

    def deliver_on(self, observable: Observable[Any]) -> Observable[Any]:
        """Move deliveries to the ``scheduler`` option, when there is one, keeping observers
        isolated there too: an exception goes to ``errors``, not into the scheduler."""
        scheduler = self.options.scheduler
        if scheduler is None:
            return observable
        moved = observable.pipe(ops.observe_on(scheduler))

        def subscribe(
            observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return moved.subscribe(_IsolatedObserver(observer, self.report))

        return reactivex.create(subscribe)

    def report(self, error: BaseException) -> None:
        """Put a problem on ``errors``; exceptions from observers are wrapped in ObserverError."""
        if not isinstance(error, PusherError):
            wrapped = ObserverError(f"an observer raised {type(error).__name__}: {error}")
            wrapped.__cause__ = error
            log.error("observer raised", exc_info=error)
            error = wrapped
        else:
            log.warning("%s", error)
        self.errors.emit(error)

    def global_stream(self, key: Hashable, project: bool, terminates: bool = True) -> Observable[Any]:
        """A stream of the global route: events of every channel (and connection events)."""

        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sink = Sink(observer, project, terminates)
            with self.lock:
                if self.closed:
                    observer.on_completed()
                    return Disposable()
                self.router.add(GLOBAL, key, sink)
            return Disposable(lambda: void(self.router.remove(GLOBAL, key, sink)))

        return self.deliver_on(reactivex.create(subscribe))

    def close(self) -> None:
        """Disconnect, complete every stream and binding, stop every thread."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self.connection.close()
        self.authorizer.close()
        with self.lock:
            channels = list(self.channels.values())
            self.channels.clear()
        for channel in channels:
            channel._complete(final=True)
        self.router.end(self.router.drop(GLOBAL))
        self.user._complete()
        self.errors.complete()
        if self.owned_scheduler is not None:
            self.owned_scheduler.dispose()
            thread = self.timer_thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(5.0)

    # ---- ConnectionHandler ---------------------------------------------------------------

    def on_connected(self, socket_id: str) -> None:
        """Resubscribe every active channel on the new socket (re-authorizing private ones,
        in one batch request with ``auth_batch``) and sign in again."""
        with self.authorizer.batch():
            for channel in list(self.channels.values()):
                if channel.active:
                    channel._subscribe_now()
        self.user._on_connected(socket_id)

    def on_connection_lost(self) -> None:
        """Every channel waits for the next connection."""
        for channel in list(self.channels.values()):
            channel._on_connection_lost()
        self.user._on_connection_lost()

    def on_refused(self, error: ConnectionRefused) -> None:
        """Error every channel stream and every global ``events`` stream."""
        for channel in list(self.channels.values()):
            channel._error_streams(error)
        self.router.end(self.router.drop(GLOBAL, streams_only=True), error)

    def on_event(self, event: Event) -> None:
        """Route one decoded event (reader thread)."""
        name = event.name
        channel_name = event.channel
        if channel_name is not None and channel_name.startswith(protocol.SERVER_TO_USER_PREFIX):
            if not name.startswith(protocol.INTERNAL_PREFIX):
                self.router.dispatch(event, route=USER_ROUTE)
            return
        if channel_name is None:
            if name == WATCHLIST_EVENTS:
                self.user._on_watchlist(event.data)
            elif name == SIGNIN_SUCCESS:
                self.user._on_signin_success(event.data)
        elif channel_name.startswith("private-encrypted-") and not name.startswith("pusher"):
            encrypted = self.channels.get(channel_name)
            decrypted = encrypted._decrypt(event) if encrypted is not None else None
            if decrypted is None:
                return
            event = decrypted
        if name.startswith(protocol.INTERNAL_PREFIX):
            channel = self.channels.get(channel_name) if channel_name else None
            if channel is not None:
                event = event._replace(name=protocol.public_name(name))
                channel._apply(event)
                self.router.dispatch(event, channel_only=True)
            return
        if channel_name is not None and name == protocol.SUBSCRIPTION_COUNT:
            channel = self.channels.get(channel_name)
            if channel is not None:
                channel._apply(event)
        self.router.dispatch(event)
        if channel_name is not None and name == protocol.SUBSCRIPTION_ERROR:
            channel = self.channels.get(channel_name)
            if channel is not None:
                channel._on_subscription_error(event)


class Pusher:
    """A Pusher Channels client (protocol 7).

    ``Pusher(key, **options)`` connects at once unless ``auto_connect=False``; see
    the README for every option. Observers run on the connection's reader thread
    unless ``scheduler`` is given. Use it as a context manager, or call
    :meth:`close`, to end its threads.
    """

    def __init__(self, key: str, **options: Any) -> None:
        self._core = _Core(Options.from_kwargs(key, options))
        self._bindings = Bindings(self._core.lock)
        self.user: User = self._core.user
        """The signed-in user (see :meth:`signin`): ``user.events(name)``, ``user.watchlist``."""
        if self._core.options.auto_connect:
            self.connect()

    def __repr__(self) -> str:
        return f"<Pusher {self.key!r} {self.connection_state} socket_id={self.socket_id}>"

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- connection ------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The app key."""
        return self._core.options.key

    @property
    def frames(self) -> Observable[str]:
        """Every text frame as received (hot). Survives reconnects; completes on close."""
        return self._core.deliver_on(self._core.connection.frames.observable)

    @property
    def messages(self) -> Observable[Event]:
        """Every decoded frame as an :class:`Event`, protocol events included (hot)."""
        return self._core.deliver_on(self._core.connection.messages.observable)

    @property
    def state(self) -> Observable[str]:
        """The connection state now and at every change: ``initialized``, ``connecting``,
        ``connected``, ``unavailable``, ``failed``, ``disconnected``."""
        return self._core.deliver_on(self._core.connection.state.observable)

    @property
    def errors(self) -> Observable[PusherError]:
        """Non-fatal problems as :class:`PusherError` subclasses: bad frames, ``pusher:error``,
        observers that raised, failed authorizations, refused connections."""
        return self._core.deliver_on(self._core.errors.observable)

    @property
    def connection_state(self) -> str:
        """The current connection state."""
        return self._core.connection.state.value

    @property
    def socket_id(self) -> str | None:
        """The socket id of the current connection, or None while not connected."""
        return self._core.connection.socket_id

    @property
    def url(self) -> str:
        """The WebSocket URL the client connects (or will connect) to."""
        return self._core.connection.url

    @property
    def activity_timeout(self) -> float:
        """The activity timeout in force: the smaller of the option and the server's value."""
        return self._core.connection.activity_timeout

    def connect(self) -> None:
        """Connect (again, after ``disconnect()`` or a refusal); active channels resubscribe."""
        self._core.connection.connect()

    def disconnect(self) -> None:
        """Close the socket and do not reconnect until :meth:`connect`."""
        self._core.connection.disconnect()

    def reconnect(self) -> None:
        """Drop the current socket and connect again at once (channels resubscribe)."""
        self._core.connection.reconnect()

    def signin(self) -> None:
        """Sign the user in now (once connected) and after every reconnect, with
        ``user_auth_endpoint``, ``user_authorizer`` or ``secret`` + ``user_data``.
        Failures are reported on ``errors`` as :class:`AuthenticationError`."""
        self.user._signin()

    def ping(self) -> None:
        """Check the connection now: reconnect unless something arrives within pong_timeout."""
        self._core.connection.ping()

    def close(self) -> None:
        """End for good: disconnect, complete every stream and stop every thread."""
        self._core.close()
        self._bindings.unbind()

    # ---- channels ----------------------------------------------------------------------

    def channel(self, name: str) -> Channel:
        """The one :class:`Channel` handle for ``name`` (created on first use; this alone
        does not subscribe). Raises ``ValueError`` for an invalid name."""
        protocol.validate_channel_name(name)
        core = self._core
        with core.lock:
            channel = core.channels.get(name)
            if channel is None:
                if core.closed:
                    raise PusherError("this Pusher client is closed")
                channel = core.channels[name] = Channel(name, core)
            return channel

    def subscribe(self, name: str) -> Channel:
        """Subscribe to ``name`` and keep it subscribed until :meth:`unsubscribe`."""
        channel = self.channel(name)
        with self._core.lock:
            channel._pin()
        return channel

    def unsubscribe(self, name: str) -> None:
        """Leave ``name`` and complete its streams and bindings. The :class:`Channel`
        handle stays the one for ``name``: a new observer subscribes it again."""
        with self._core.lock:
            channel = self._core.channels.get(name)
            if channel is None:
                return
            channel._pinned = False
            channel._deactivate()
        channel._complete(final=False)

    def all_channels(self) -> list[Channel]:
        """The channels subscribed or subscribing."""
        with self._core.lock:
            return [channel for channel in self._core.channels.values() if channel.active]

    # ---- global events ------------------------------------------------------------------

    def events(self, name: str | None = None) -> Observable[Any]:
        """Data of every ``name`` event on any channel (the seed's global ``bind``), or
        every non-internal :class:`Event` when ``name`` is None (``bind_all``).
        Does not subscribe any channel. Errors with ``ConnectionRefused``."""
        if name is None:
            return self._core.global_stream(ANY_EVENT, project=False)
        if not isinstance(name, str) or not name:
            raise ValueError("event name must be a non-empty string or None")
        return self._core.global_stream(name, project=True)

    def bind(self, event: str, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(data)`` for every ``event`` on any channel."""
        stream = self._core.global_stream(event, project=True, terminates=False)
        self._bindings.bind(event, callback, stream)

    def bind_all(self, callback: Callable[[str, Any], Any]) -> None:
        """Call ``callback(event_name, data)`` for every event on any channel."""
        stream = self._core.global_stream(ANY_EVENT, project=False, terminates=False)
        self._bindings.bind(None, callback, stream)

    def unbind(self, event: str | None = None, callback: Callable[..., Any] | None = None) -> None:
        """Remove global bindings of ``event`` and/or ``callback``; no arguments removes all."""
        self._bindings.unbind(event, callback)


class _IsolatedObserver(abc.ObserverBase[Any]):
    """Forwards to ``observer``; what it raises is reported instead of propagated."""

    def __init__(self, observer: abc.ObserverBase[Any], report: Callable[[BaseException], None]) -> None:
        self._observer = observer
        self._report = report

    def on_next(self, value: Any) -> None:
        try:
            self._observer.on_next(value)
        except Exception as exc:  # noqa: BLE001
            self._report(exc)

    def on_error(self, error: Exception) -> None:
        try:
            self._observer.on_error(error)
        except Exception as exc:  # noqa: BLE001
            self._report(exc)

    def on_completed(self) -> None:
        try:
            self._observer.on_completed()
        except Exception as exc:  # noqa: BLE001
            self._report(exc)


def _log_observer_failure(error: BaseException) -> None:
    log.error("an observer of Pusher.errors raised", exc_info=error)
