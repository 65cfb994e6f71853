"""The public facade: :class:`Pusher`, a connection whose frames, events, channels and
state are ReactiveX Observables. It is the composition root: it validates the options,
builds the session that owns every piece of state, and hands out thin handles."""

from __future__ import annotations

import os
import ssl
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Never, overload

from reactivex import Observable, abc

from . import _protocol as protocol
from ._internal.handoff import DEFAULT_MAXSIZE, Overflow
from ._session import ClientSession, switch_cluster
from ._states import ConnectionState, Health
from ._channels import Channel
from ._exceptions import PusherError
from ._chunks import DEFAULT_CHUNK_TIMEOUT
from ._internal.wsframes import DEFAULT_MAX_MESSAGE_SIZE
from ._pacing import DEFAULT_CLIENT_EVENT_QUEUE, DEFAULT_CLIENT_EVENT_RATE
from ._options import BatchAuthorizer, ChannelAuthorizer, Options, UserAuthorizer
from ._protocol import Event
from ._retry import Backoff
from ._router import ANY_EVENT, GLOBAL, observable
from ._user import User

__all__ = ["Pusher", "close_all"]

_open_clients: weakref.WeakSet[Pusher] = weakref.WeakSet()


def close_all() -> None:
    """Close every client of this process that is still open (for notebooks, where
    re-running a cell would otherwise leave the previous client's threads running)."""
    for client in list(_open_clients):
        client.close()


class Pusher:
    """A Pusher Channels client (protocol 7).

    ``Pusher(key, **options)`` connects at once unless ``auto_connect=False``. Every option
    is a typed keyword parameter; the options table of the package reference and of
    ``docs/guide.md`` gives each one's default and meaning. Observers run on the thread
    whose action caused the notification (the connection's reader for frames), one
    notification at a time, unless ``scheduler`` is given. Use it as a context manager (also
    ``async with``), or call :meth:`close`, to end its threads.

    ``io="shared"`` (the default): one I/O thread reads the connections of every client in
    the process, so observers of all clients share it and a slow one delays the others (never
    to the point of a reconnect: liveness measures each socket). ``io="dedicated"``: this
    client's connection is read by a thread of its own, isolated from the others.
    """

    def __init__(
        self,
        key: str,
        *,
        cluster: str = "mt1",
        host: str | Sequence[str] | None = None,
        ws_port: int = 80,
        wss_port: int = 443,
        use_tls: bool | None = None,
        encrypted: bool | None = None,
        path: str = "",
        secret: str | None = None,
        channel_data: Mapping[str, Any] | None = None,
        user_data: Mapping[str, Any] | None = None,
        encryption_master_key: str | None = None,
        auth_endpoint: str | None = None,
        auth: Mapping[str, Any] | None = None,
        authorizer: ChannelAuthorizer | None = None,
        auth_batch: bool = False,
        batch_authorizer: BatchAuthorizer | None = None,
        user_auth_endpoint: str | None = None,
        user_authorizer: UserAuthorizer | None = None,
        auth_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        ca_bundle: str | None = None,
        proxy: str | None = None,
        activity_timeout: float = 120.0,
        pong_timeout: float = 30.0,
        unavailable_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        reconnect: Backoff | None = None,
        scheduler: abc.SchedulerBase | None = None,
        scheduler_maxsize: int = DEFAULT_MAXSIZE,
        scheduler_overflow: Overflow = "error",
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        chunk_timeout: float = DEFAULT_CHUNK_TIMEOUT,
        client_event_rate: float | None = DEFAULT_CLIENT_EVENT_RATE,
        client_event_queue: int = DEFAULT_CLIENT_EVENT_QUEUE,
        io: Literal["shared", "dedicated"] = "shared",
        auto_connect: bool = True,
        transport: Callable[[], Any] | None = None,
        timer_scheduler: abc.SchedulerBase | None = None,
        **unknown: Never,
    ) -> None:
        options = dict(locals())
        del options["self"], options["key"], options["unknown"]
        options.update(unknown)  # rejected by Options, with a suggestion for typos
        for name in ("use_tls", "encrypted", "reconnect"):
            if options[name] is None:
                del options[name]
        self._session = ClientSession(Options.from_kwargs(key, options))
        self._handles: weakref.WeakValueDictionary[str, Channel] = weakref.WeakValueDictionary()
        _open_clients.add(self)
        self.user: User = User(self._session)
        """The signed-in user (see :meth:`signin`): ``user.events(name)``, ``user.watchlist``."""
        if auto_connect:
            self.connect()

    def __repr__(self) -> str:
        return f"<Pusher {self.key!r} {self.connection_state} socket_id={self.socket_id}>"

    def __del__(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None and not session.closed:
            warnings.warn(f"unclosed {self!r}: call close() or use 'with'", ResourceWarning,
                          source=self, stacklevel=2)
            session.close()

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Pusher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        import asyncio

        await asyncio.to_thread(self.close)  # close() joins threads: keep the loop free

    # ---- connection ---------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The app key."""
        return self._session.options.key

    def _hub(self, which: str) -> Observable[Any]:
        session = self._session
        return observable(lambda observer: session.observe_hub(which, observer))

    @property
    def frames(self) -> Observable[str]:
        """Every text frame as received (hot). Survives reconnects; completes on close."""
        return self._hub("frames")

    @property
    def messages(self) -> Observable[Event]:
        """Every decoded frame as an :class:`Event`, protocol events included (hot)."""
        return self._hub("messages")

    @property
    def state(self) -> Observable[ConnectionState]:
        """The connection state now and at every change (a :class:`ConnectionState`:
        ``initialized``, ``connecting``, ``connected``, ``unavailable``, ``failed``,
        ``disconnected``). Completes on close."""
        return self._hub("state")

    @property
    def errors(self) -> Observable[PusherError]:
        """Non-fatal problems as :class:`PusherError` subclasses: bad frames, ``pusher:error``,
        observers that raised, failed authorizations, refused connections."""
        return self._hub("errors")

    @property
    def connection_state(self) -> ConnectionState:
        """The current connection state."""
        return self._session.state

    @property
    def socket_id(self) -> str | None:
        """The socket id of the current connection, or None while not connected."""
        return self._session.socket_id

    @property
    def url(self) -> str:
        """The WebSocket URL the client connects (or will connect) to."""
        return self._session.url

    @property
    def activity_timeout(self) -> float:
        """The activity timeout in force: the smaller of the option and the server's value."""
        return self._session.activity_timeout

    def connect(self) -> None:
        """Connect (again, after ``disconnect()`` or a refusal); active channels resubscribe.
        Raises :class:`ClosedError` after :meth:`close`."""
        self._session.connect()

    def switch_cluster(self, *, key: str | None = None, cluster: str | None = None,
                       host: str | Sequence[str] | None = None, ws_port: int | None = None,
                       wss_port: int | None = None) -> None:
        """Move this client to another app key and/or cluster (or host, ports), as pusher-js
        8.5's ``switchCluster`` does, e.g. while a cluster has an outage.

        Every channel, observer, binding and other option is kept: the current connection
        closes, the new one connects, every active channel is subscribed again (private and
        presence ones re-authorized with the new socket id) and each channel that was
        subscribed emits an :class:`Interruption`. :attr:`key` and :attr:`url` show the new
        values at once. A ``cluster`` without a ``host`` drops the ``host`` option. A wrong
        value raises ``ValueError``/``TypeError`` before anything changes;
        :class:`ClosedError` after :meth:`close`. After ``disconnect()`` the client stays
        disconnected, on the new settings, until :meth:`connect`."""
        options = self._session.options.switched(
            key=key, cluster=cluster,
            host=list(host) if host is not None and not isinstance(host, str) else host,
            ws_port=ws_port, wss_port=wss_port)
        switch_cluster(self._session, options)

    def disconnect(self) -> None:
        """Close the socket and do not reconnect until :meth:`connect`."""
        self._session.disconnect()

    def reconnect(self) -> None:
        """Drop the current socket and connect again at once (channels resubscribe).
        Raises :class:`ClosedError` after :meth:`close`."""
        self._session.reconnect()

    def signin(self) -> None:
        """Sign the user in now (once connected) and after every reconnect, with
        ``user_auth_endpoint``, ``user_authorizer`` or ``secret`` + ``user_data``.
        Failures are reported on ``errors`` as :class:`AuthenticationError` and on
        ``user.events("pusher:signin_error")`` as ``{"type": "AuthError", "error", "status"}``
        (pusher-js 8.6); ``user.wait_signed_in()`` waits for the server's acceptance."""
        self._session.signin()

    def wait_connected(self, timeout: float | None = None) -> None:
        """Block until the client is connected (at once if it is). Does not connect.

        Raises :class:`ServerRefusedError` when the server refused the connection,
        :class:`RetriesExhaustedError` when the reconnect policy gave up, :class:`ClosedError`
        after :meth:`close`, and ``TimeoutError`` after ``timeout`` seconds, whose message names
        the last attempt's
        cause (``last attempt: cannot connect to ... (refused): ...``)."""
        self._session.wait_connected(timeout)

    def run_forever(self) -> None:
        """Block until :meth:`close` is called (from a callback or another thread) or
        Ctrl-C; then close. The way for a plain script to keep receiving.

        Raises the error when the client can never recover by itself: the server's refusal
        (:class:`ServerRefusedError`, 4001-4099 and >= 4300) or the reconnect policy giving up
        (:class:`RetriesExhaustedError`); the client is closed by then."""
        stopped: PusherError | None = None
        try:
            while True:
                try:
                    stopped = self._session.wait_stopped(1.0)
                except TimeoutError:
                    continue
                break
        except KeyboardInterrupt:
            pass
        finally:
            self.close()
        if stopped is not None:
            raise stopped

    def health(self, interval: float = 1.0) -> Observable[Health]:
        """A :class:`Health` snapshot every ``interval`` seconds (state, time connected,
        reconnects, frames, bytes, frames/s, age of the last frame), for dashboards and
        alerting. Subscribes no channel; completes on close."""
        if not isinstance(interval, (int, float)) or isinstance(interval, bool) \
                or not interval > 0 or interval == float("inf"):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        session = self._session
        return observable(lambda observer: session.observe_health(float(interval), observer))

    def record(self, path: str | os.PathLike[str]) -> abc.DisposableBase:
        """Write every text frame received from now on to ``path`` (overwritten), one JSON
        line each: ``{"t": <seconds since the recording started>, "frame": "<raw text>"}``.
        Each line is written through as it arrives (a killed process keeps its lines); when
        recording starts on a connected client, the connection's handshake frame comes first
        (at ``t`` 0), so the replay reaches ``connected``. Disposing the result (or
        :meth:`close`) closes the file. Play it back
        with :func:`rxpusher.replay`. Raises :class:`ClosedError` after :meth:`close`."""
        return self._session.record(os.fspath(path))

    def ping(self) -> None:
        """Check the connection now: reconnect unless something arrives within pong_timeout."""
        self._session.ping()

    def close(self) -> None:
        """End for good: disconnect, complete every stream and binding, and end every
        library thread (the calling one when it returns). Works from any thread and inside
        any callback; a second call does nothing."""
        self._session.close()
        _open_clients.discard(self)

    # ---- channels ---------------------------------------------------------------------------

    def channel(self, name: str) -> Channel:
        """The :class:`Channel` handle for ``name`` (this alone does not subscribe). Raises
        ``ValueError`` for an invalid name, :class:`ClosedError` after :meth:`close`."""
        protocol.validate_channel_name(name)
        self._session.check_open()
        handle = self._handles.get(name)
        if handle is None:
            handle = Channel(name, self._session)
            handle = self._handles.setdefault(name, handle)
        return handle

    def subscribe(self, name: str) -> Channel:
        """Subscribe to ``name`` and keep it subscribed until :meth:`unsubscribe`."""
        channel = self.channel(name)
        self._session.pin(name)
        return channel

    def unsubscribe(self, name: str) -> None:
        """Leave ``name`` and complete its streams and bindings. A new observer of the
        channel subscribes it again."""
        self._session.unpin(name)

    def all_channels(self) -> list[Channel]:
        """The channels subscribed or subscribing."""
        if self._session.closed:
            return []
        return [self.channel(name) for name in self._session.active_channels()]

    # ---- global events -------------------------------------------------------------------------

    @overload
    def events(self, name: None = None) -> Observable[Event]: ...

    @overload
    def events(self, name: str) -> Observable[Any]: ...

    def events(self, name: str | None = None) -> Observable[Any]:
        """Data of every ``name`` event on any channel (the global ``bind`` of pusher-js), or
        every non-internal :class:`Event` when ``name`` is None (``bind_all``).
        Does not subscribe any channel. Errors with :class:`ServerRefusedError`."""
        if name is None:
            return self._global(ANY_EVENT, project=False)
        if not isinstance(name, str) or not name:
            raise ValueError("event name must be a non-empty string or None")
        return self._global(name, project=True)

    def _global(self, key: Any, project: bool, terminates: bool = True) -> Observable[Any]:
        session = self._session
        return observable(lambda observer: session.attach(
            GLOBAL, key, observer, project=project, terminates=terminates))

    def bind(self, event: str, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(data)`` for every ``event`` on any channel."""
        if not isinstance(event, str) or not event:
            raise ValueError("event name must be a non-empty string")
        stream = self._global(event, project=True, terminates=False)
        self._session.bind(None, event, callback, lambda on_next: stream.subscribe(on_next))

    def bind_all(self, callback: Callable[[str, Any], Any]) -> None:
        """Call ``callback(event_name, data)`` for every event on any channel."""
        stream = self._global(ANY_EVENT, project=False, terminates=False)
        self._session.bind(None, None, callback, lambda on_next: stream.subscribe(on_next))

    def unbind(self, event: str | None = None, callback: Callable[..., Any] | None = None) -> None:
        """Remove global bindings of ``event`` and/or ``callback``; no arguments removes all."""
        self._session.unbind(None, event, callback)
