"""The connection state machine: attempts, handshake, liveness and the close-code policy.

States follow pusher-js: ``initialized`` -> ``connecting`` -> ``connected``;
``unavailable`` after ``unavailable_timeout`` in ``connecting``; ``disconnected``
after ``disconnect()`` or a refused connection; ``failed`` when the reconnect
policy gives up. Every timer runs on a reactivex scheduler, so tests drive them
in virtual time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from reactivex import abc
from reactivex.disposable import Disposable, SerialDisposable
from reactivex.scheduler import VirtualTimeScheduler

from . import protocol
from ._internal.hub import Hub, ReplayHub
from .exceptions import ConnectionRefused, PusherError, ServerError
from .options import Options
from .protocol import CloseAction, Event
from .transport import Transport, WebSocketTransport

log = logging.getLogger("rxpusher")

INITIALIZED = "initialized"
CONNECTING = "connecting"
CONNECTED = "connected"
UNAVAILABLE = "unavailable"
FAILED = "failed"
DISCONNECTED = "disconnected"
STATES = (INITIALIZED, CONNECTING, CONNECTED, UNAVAILABLE, FAILED, DISCONNECTED)

_NO_CLOSE_FRAME = (None, 1005, 1006)


def _seconds_clock(scheduler: abc.SchedulerBase) -> Callable[[], float]:
    """Seconds on ``scheduler``'s timeline: a virtual-time scheduler's float clock, read
    directly, or any scheduler's ``now``."""
    if isinstance(scheduler, VirtualTimeScheduler) and isinstance(scheduler.clock, (int, float)):
        return lambda: float(scheduler.clock)
    return lambda: scheduler.now.timestamp()


class ConnectionHandler(Protocol):
    """What the client above the connection is told."""

    def on_connected(self, socket_id: str) -> None:
        """The handshake completed with a new socket id."""

    def on_connection_lost(self) -> None:
        """An established connection (or the wish for one) ended."""

    def on_refused(self, error: ConnectionRefused) -> None:
        """The server refused the connection; no reconnect follows."""

    def on_event(self, event: Event) -> None:
        """A decoded frame, after the connection handled its protocol part."""


class _AttemptListener:
    """Forwards one attempt's transport reports, tagged so stale ones are ignored."""

    __slots__ = ("_connection", "_attempt")

    def __init__(self, connection: Connection, attempt: int) -> None:
        self._connection = connection
        self._attempt = attempt

    def on_open(self) -> None:
        self._connection._on_activity(self._attempt)

    def on_frame(self, text: str) -> None:
        self._connection._on_frame(self._attempt, text)

    def on_activity(self) -> None:
        self._connection._on_activity(self._attempt)

    def on_close(self, code: int | None, reason: str) -> None:
        self._connection._on_close(self._attempt, code, reason)


class Connection:
    """Owns the transport, the connection state and its timers.

    All state changes happen under ``lock`` (shared with the client); frames
    are read and emitted on the transport's reader thread without it.
    """

    def __init__(
        self,
        options: Options,
        handler: ConnectionHandler,
        lock: threading.RLock,
        scheduler: abc.SchedulerBase,
        report: Callable[[BaseException], None],
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` gives seconds on the timeline of ``scheduler`` (default: its ``now``);
        it is read on every frame, so the client passes ``time.monotonic`` when the
        scheduler runs in real time."""
        self._options = options
        self._handler = handler
        self._lock = lock
        self._scheduler = scheduler
        self._report = report
        self._transport_factory: Callable[[], Transport] = options.transport or (
            lambda: WebSocketTransport.from_options(options)
        )
        self.frames: Hub[str] = Hub(report)
        self.messages: Hub[Event] = Hub(report)
        self.state: ReplayHub[str] = ReplayHub(INITIALIZED, report, lock)
        self.socket_id: str | None = None
        self.activity_timeout = options.activity_timeout
        self._transport: Transport | None = None
        self._retired: list[Transport] = []
        self._attempt = 0
        self._failures = 0
        self._use_tls = options.use_tls
        self._host_index = 0
        self._wanted = False
        self._closed = False
        self._clock = clock or _seconds_clock(scheduler)
        self._last_activity = self._clock()
        self._inbound = 0  # frames seen, so a pong at the ping's own instant still counts
        self._inbound_at_ping: int | None = None
        self._ping_sent_at = self._last_activity
        self._last_error_code: int | None = None
        self._liveness = SerialDisposable()
        self._retry = SerialDisposable()
        self._unavailable = SerialDisposable()

    # ---- public operations ---------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL the next attempt connects to."""
        return self._options.url(self._use_tls, self._host_index)

    def connect(self) -> None:
        """Start connecting unless already connected or connecting."""
        with self._lock:
            if self._closed:
                raise PusherError("this Pusher client is closed; create a new one")
            self._wanted = True
            if self._transport is not None or self.state.value in (CONNECTING, UNAVAILABLE):
                return
            self._failures = 0
            self._enter_connecting()
            self._open()

    def disconnect(self) -> None:
        """Close the socket and stay disconnected until ``connect()``."""
        with self._lock:
            self._wanted = False
            self._cancel_timers()
            self._drop_transport(1000)
            self.socket_id = None
            self.state.set(DISCONNECTED)
            self._handler.on_connection_lost()

    def close(self, timeout: float = 5.0) -> None:
        """Disconnect for good, complete the streams and wait for the reader threads."""
        with self._lock:
            if self._closed:
                return
            self.disconnect()
            self._closed = True
            retired, self._retired = self._retired, []
        for transport in retired:
            transport.join(timeout)
        self.frames.complete()
        self.messages.complete()
        self.state.complete()

    def send(self, text: str) -> bool:
        """Send one frame on the current socket; False (and a report) when it cannot be sent."""
        transport = self._transport
        if transport is None:
            return False
        try:
            transport.send(text)
            return True
        except Exception as exc:  # noqa: BLE001 - a dying socket; the reader will notice
            error = PusherError(f"could not send a frame: {exc}")
            error.__cause__ = exc
            self._report(error)
            return False

    def reconnect(self) -> None:
        """Drop the current socket (if any) and connect again at once."""
        with self._lock:
            if self._closed:
                raise PusherError("this Pusher client is closed; create a new one")
            self._wanted = True
            self._retry.disposable = Disposable()
            self._liveness.disposable = Disposable()
            was_connected = self.state.value == CONNECTED
            self._drop_transport(1000)
            self.socket_id = None
            if was_connected:
                self._handler.on_connection_lost()
            self._failures = 0
            self._enter_connecting()
            self._open()

    def ping(self) -> None:
        """Send ``pusher:ping`` now and reconnect unless something arrives within pong_timeout."""
        with self._lock:
            if self.state.value == CONNECTED:
                self._send_ping()

    # ---- attempts ------------------------------------------------------------------

    def _open(self) -> None:
        self._attempt += 1
        self._retired = [t for t in self._retired if getattr(t, "alive", True)]
        transport = self._transport_factory()
        self._transport = transport
        url = self.url
        log.info("connecting to %s", url)
        transport.open(url, _AttemptListener(self, self._attempt))

    def _drop_transport(self, code: int) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            self._attempt += 1  # whatever it reports from now on is stale
            transport.close(code)
            self._retired.append(transport)

    def _enter_connecting(self) -> None:
        if self.state.set(CONNECTING):
            self._unavailable.disposable = self._scheduler.schedule_relative(
                self._options.unavailable_timeout, self._become_unavailable
            )

    def _become_unavailable(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        with self._lock:
            if self.state.value == CONNECTING:
                self.state.set(UNAVAILABLE)

    def _retry_now(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        with self._lock:
            if self._wanted and not self._closed and self._transport is None:
                self._open()

    def _cancel_timers(self) -> None:
        for timer in (self._liveness, self._retry, self._unavailable):
            timer.disposable = Disposable()

    # ---- transport reports -----------------------------------------------------------

    def _on_activity(self, attempt: int) -> None:
        if attempt == self._attempt:
            self._last_activity = self._clock()
            self._inbound += 1

    def _on_frame(self, attempt: int, text: str) -> None:
        if attempt != self._attempt:
            return
        self._last_activity = self._clock()
        self._inbound += 1
        log.debug("recv %s", text)
        self.frames.emit(text)
        try:
            event = protocol.decode_frame(text)
        except PusherError as exc:
            self._report(exc)
            return
        self.messages.emit(event)
        try:
            if event.channel is None and event.name.startswith("pusher:"):
                self._on_protocol_event(attempt, event)
            self._handler.on_event(event)
        except Exception as exc:  # noqa: BLE001 - nothing may kill the reader thread
            self._report(exc)

    def _on_protocol_event(self, attempt: int, event: Event) -> None:
        name = event.name
        if name == protocol.CONNECTION_ESTABLISHED:
            self._on_established(attempt, event)
        elif name == protocol.PING:
            self.send(protocol.encode_frame(protocol.PONG, {}))
        elif name == protocol.ERROR:
            data = event.data if isinstance(event.data, dict) else {"message": event.data}
            code = data.get("code")
            self._last_error_code = code if isinstance(code, int) else None
            self._report(ServerError(self._last_error_code, str(data.get("message", ""))))

    def _on_established(self, attempt: int, event: Event) -> None:
        data = event.data
        socket_id = data.get("socket_id") if isinstance(data, dict) else None
        if not isinstance(socket_id, str) or not socket_id:
            raise PusherError(f"handshake without a socket id: {data!r}")
        server_timeout = data.get("activity_timeout")
        with self._lock:
            if attempt != self._attempt:
                return
            self.socket_id = socket_id
            self.activity_timeout = self._options.activity_timeout
            if isinstance(server_timeout, (int, float)) and server_timeout > 0:
                self.activity_timeout = min(self.activity_timeout, float(server_timeout))
            self._failures = 0
            self._last_error_code = None
            self._unavailable.disposable = Disposable()
            self._schedule_activity_check(self.activity_timeout)
            self.state.set(CONNECTED)
            log.info("connected, socket id %s", socket_id)
            self._handler.on_connected(socket_id)

    def _on_close(self, attempt: int, code: int | None, reason: str) -> None:
        with self._lock:
            if attempt != self._attempt:
                return
            transport, self._transport = self._transport, None
            if transport is not None:
                self._retired.append(transport)
            self._connection_lost(code, reason)

    # ---- loss and the close-code policy ---------------------------------------------

    def _connection_lost(self, code: int | None, reason: str) -> None:
        if code in _NO_CLOSE_FRAME and self._last_error_code is not None:
            code = self._last_error_code  # the reason came as pusher:error before the drop
        self._last_error_code = None
        log.info("connection closed (%s) %s", code, reason)
        was_connected = self.state.value == CONNECTED
        if not was_connected and len(self._options.hosts) > 1:
            self._host_index += 1  # fail over to the next host
        self.socket_id = None
        self._liveness.disposable = Disposable()
        if was_connected:
            self._handler.on_connection_lost()
        if not self._wanted or self._closed:
            self.state.set(DISCONNECTED)
            return
        action = protocol.close_action(code)
        if action is CloseAction.REFUSED:
            assert code is not None
            self._wanted = False
            self._cancel_timers()
            self.state.set(DISCONNECTED)
            error = ConnectionRefused(code, reason)
            self._report(error)
            self._handler.on_refused(error)
            return
        delay = 0.0
        if action is CloseAction.RECONNECT_WITH_TLS:
            self._use_tls = True
        elif action is CloseAction.BACKOFF:
            policy = self._options.reconnect
            if policy.gives_up(self._failures):
                self._wanted = False
                self._cancel_timers()
                self.state.set(FAILED)
                self._report(PusherError(f"gave up after {self._failures} failed attempts"))
                return
            delay = policy.delay(self._failures)
            self._failures += 1
        if self.state.value not in (CONNECTING, UNAVAILABLE):
            self._enter_connecting()
        log.info("reconnecting in %.3f s", delay)
        self._retry.disposable = self._scheduler.schedule_relative(delay, self._retry_now)

    # ---- liveness --------------------------------------------------------------------

    def _schedule_activity_check(self, delay: float) -> None:
        self._liveness.disposable = self._scheduler.schedule_relative(
            delay, self._check_activity
        )

    def _check_activity(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        with self._lock:
            if self.state.value != CONNECTED:
                return
            idle = self._clock() - self._last_activity
            if idle < self.activity_timeout:
                self._schedule_activity_check(self.activity_timeout - idle)
            else:
                self._send_ping()

    def _send_ping(self) -> None:
        self._inbound_at_ping = self._inbound
        self._ping_sent_at = self._clock()
        log.debug("idle: sending pusher:ping")
        self.send(protocol.encode_frame(protocol.PING, {}))
        self._schedule_pong_check()

    def _schedule_pong_check(self) -> None:
        # checked at least every activity_timeout, so that after an early answer the next
        # idle ping is not held back by a longer pong_timeout
        elapsed = self._clock() - self._ping_sent_at
        remaining = self._options.pong_timeout - elapsed
        self._liveness.disposable = self._scheduler.schedule_relative(
            max(0.0, min(remaining, self.activity_timeout)), self._check_pong
        )

    def _check_pong(self, scheduler: abc.SchedulerBase, state: Any = None) -> None:
        with self._lock:
            if self.state.value != CONNECTED or self._inbound_at_ping is None:
                return
            if self._inbound != self._inbound_at_ping:
                idle = self._clock() - self._last_activity
                self._schedule_activity_check(max(0.0, self.activity_timeout - idle))
                return
            elapsed = self._clock() - self._ping_sent_at
            if elapsed < self._options.pong_timeout:
                self._schedule_pong_check()
                return
            log.warning("no answer to pusher:ping within %s s: reconnecting",
                        self._options.pong_timeout)
            self._drop_transport(1000)
            self._connection_lost(None, "pong timeout")
