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


class Pusher:
    """A Pusher Channels client (protocol 7).

    ``Pusher(key, **options)`` connects at once unless ``auto_connect=False``; see
    the README for every option. Observers run on the connection's reader thread
    unless ``scheduler`` is given. Use it as a context manager, or call
    :meth:`close`, to end its threads.
    """

    def __init__(self, key: str, **options: Any) -> None:
        self._options = Options.from_kwargs(key, options)
        self.lock = threading.RLock()
        self._closed = False
        self._errors: Hub[PusherError] = Hub(_log_observer_failure)
        self.router = Router(self.report)
        self._timer_thread: threading.Thread | None = None
        self._owned_scheduler: EventLoopScheduler | None = None
        scheduler = self._options.timer_scheduler
        clock = None
        if scheduler is None:
            scheduler = self._owned_scheduler = EventLoopScheduler(self._timer_thread_factory)
            clock = time.monotonic
        self.authorizer = Authorizer(self._options)
        self._channels: dict[str, Channel] = {}
        self._bindings = Bindings(self.lock)
        self.connection = Connection(
            self._options, self, self.lock, scheduler, self.report, clock
        )
        self.user = User(self)
        """The signed-in user (see :meth:`signin`): ``user.events(name)``, ``user.watchlist``."""
        if self._options.auto_connect:
            self.connect()

    def __repr__(self) -> str:
        return f"<Pusher {self._options.key!r} {self.connection_state} socket_id={self.socket_id}>"

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- connection ------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The app key."""
        return self._options.key

    @property
    def frames(self) -> Observable[str]:
        """Every text frame as received (hot). Survives reconnects; completes on close."""
        return self.deliver_on(self.connection.frames.observable)

    @property
    def messages(self) -> Observable[Event]:
        """Every decoded frame as an :class:`Event`, protocol events included (hot)."""
        return self.deliver_on(self.connection.messages.observable)

    @property
    def state(self) -> Observable[str]:
        """The connection state now and at every change: ``initialized``, ``connecting``,
        ``connected``, ``unavailable``, ``failed``, ``disconnected``."""
        return self.deliver_on(self.connection.state.observable)

    @property
    def errors(self) -> Observable[PusherError]:
        """Non-fatal problems as :class:`PusherError` subclasses: bad frames, ``pusher:error``,
        observers that raised, failed authorizations, refused connections."""
        return self.deliver_on(self._errors.observable)

    @property
    def connection_state(self) -> str:
        """The current connection state."""
        return self.connection.state.value

    @property
    def socket_id(self) -> str | None:
        """The socket id of the current connection, or None while not connected."""
        return self.connection.socket_id

    def connect(self) -> None:
        """Connect (again, after ``disconnect()`` or a refusal); active channels resubscribe."""
        self.connection.connect()

    def disconnect(self) -> None:
        """Close the socket and do not reconnect until :meth:`connect`."""
        self.connection.disconnect()

    def reconnect(self) -> None:
        """Drop the current socket and connect again at once (channels resubscribe)."""
        self.connection.reconnect()

    def signin(self) -> None:
        """Sign the user in now (once connected) and after every reconnect, with
        ``user_auth_endpoint``, ``user_authorizer`` or ``secret`` + ``user_data``.
        Failures are reported on ``errors`` as :class:`AuthenticationError`."""
        self.user._signin()

    def ping(self) -> None:
        """Check the connection now: reconnect unless something arrives within pong_timeout."""
        self.connection.ping()

    def close(self) -> None:
        """End for good: disconnect, complete every stream and stop every thread."""
        with self.lock:
            if self._closed:
                return
            self._closed = True
        self.connection.close()
        self.authorizer.close()
        with self.lock:
            channels = list(self._channels.values())
            self._channels.clear()
        for channel in channels:
            channel._complete(final=True)
        self.router.end(self.router.drop(GLOBAL))
        self.user._complete()
        self._bindings.unbind()
        self._errors.complete()
        if self._owned_scheduler is not None:
            self._owned_scheduler.dispose()
            thread = self._timer_thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(5.0)

    # ---- channels ----------------------------------------------------------------------

    def channel(self, name: str) -> Channel:
        """The one :class:`Channel` handle for ``name`` (created on first use; this alone
        does not subscribe). Raises ``ValueError`` for an invalid name."""
        protocol.validate_channel_name(name)
        with self.lock:
            channel = self._channels.get(name)
            if channel is None:
                if self._closed:
                    raise PusherError("this Pusher client is closed")
                channel = self._channels[name] = Channel(name, self)
            return channel

    def subscribe(self, name: str) -> Channel:
        """Subscribe to ``name`` and keep it subscribed until :meth:`unsubscribe`."""
        channel = self.channel(name)
        with self.lock:
            channel._pin()
        return channel

    def unsubscribe(self, name: str) -> None:
        """Leave ``name`` and complete its streams and bindings. The :class:`Channel`
        handle stays the one for ``name``: a new observer subscribes it again."""
        with self.lock:
            channel = self._channels.get(name)
            if channel is None:
                return
            channel._pinned = False
            channel._deactivate()
        channel._complete(final=False)

    def all_channels(self) -> list[Channel]:
        """The channels subscribed or subscribing."""
        with self.lock:
            return [channel for channel in self._channels.values() if channel.active]

    # ---- global events ------------------------------------------------------------------

    def events(self, name: str | None = None) -> Observable[Any]:
        """Data of every ``name`` event on any channel (the seed's global ``bind``), or
        every non-internal :class:`Event` when ``name`` is None (``bind_all``).
        Does not subscribe any channel. Errors with ``ConnectionRefused``."""
        if name is None:
            return self._global_stream(ANY_EVENT, project=False)
        if not isinstance(name, str) or not name:
            raise ValueError("event name must be a non-empty string or None")
        return self._global_stream(name, project=True)

    def bind(self, event: str, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(data)`` for every ``event`` on any channel."""
        self._bindings.bind(event, callback, self._global_stream(event, True, terminates=False))

    def bind_all(self, callback: Callable[[str, Any], Any]) -> None:
        """Call ``callback(event_name, data)`` for every event on any channel."""
        self._bindings.bind(None, callback, self._global_stream(ANY_EVENT, False, terminates=False))

    def unbind(self, event: str | None = None, callback: Callable[..., Any] | None = None) -> None:
        """Remove global bindings of ``event`` and/or ``callback``; no arguments removes all."""
        self._bindings.unbind(event, callback)

    def _global_stream(self, key: Hashable, project: bool, terminates: bool = True) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sink = Sink(observer, project, terminates)
            with self.lock:
                if self._closed:
                    observer.on_completed()
                    return Disposable()
                self.router.add(GLOBAL, key, sink)
            return Disposable(lambda: void(self.router.remove(GLOBAL, key, sink)))

        return self.deliver_on(reactivex.create(subscribe))

    # ---- plumbing shared with channels ---------------------------------------------------

    def deliver_on(self, observable: Observable[Any]) -> Observable[Any]:
        """Move deliveries to the ``scheduler`` option, when there is one, keeping observers
        isolated there too: an exception goes to ``errors``, not into the scheduler."""
        scheduler = self._options.scheduler
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
        self._errors.emit(error)

    def _timer_thread_factory(self, target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, name="rxpusher-timers", daemon=True)
        self._timer_thread = thread
        return thread

    # ---- ConnectionHandler ---------------------------------------------------------------

    def on_connected(self, socket_id: str) -> None:
        """Resubscribe every active channel on the new socket (re-authorizing private ones,
        in one batch request with ``auth_batch``) and sign in again."""
        with self.authorizer.batch():
            for channel in list(self._channels.values()):
                if channel.active:
                    channel._subscribe_now()
        self.user._on_connected(socket_id)

    def on_connection_lost(self) -> None:
        """Every channel waits for the next connection."""
        for channel in list(self._channels.values()):
            channel._on_connection_lost()
        self.user._on_connection_lost()

    def on_refused(self, error: ConnectionRefused) -> None:
        """Error every channel stream and every global ``events`` stream."""
        for channel in list(self._channels.values()):
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
            encrypted = self._channels.get(channel_name)
            decrypted = encrypted._decrypt(event) if encrypted is not None else None
            if decrypted is None:
                return
            event = decrypted
        if name.startswith(protocol.INTERNAL_PREFIX):
            channel = self._channels.get(channel_name) if channel_name else None
            if channel is not None:
                event = event._replace(name=protocol.public_name(name))
                channel._apply(event)
                self.router.dispatch(event, channel_only=True)
            return
        if channel_name is not None and name == protocol.SUBSCRIPTION_COUNT:
            channel = self._channels.get(channel_name)
            if channel is not None:
                channel._apply(event)
        self.router.dispatch(event)
        if channel_name is not None and name == protocol.SUBSCRIPTION_ERROR:
            channel = self._channels.get(channel_name)
            if channel is not None:
                channel._on_subscription_error(event)


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
