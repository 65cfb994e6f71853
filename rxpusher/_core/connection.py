"""The connection state machine, liveness and the reconnect decisions (pure).

:data:`TRANSITIONS` is the one table of legal state changes; :meth:`Connection.set_state`
refuses any other. The connection knows attempts by number: every report of a transport
carries the number of the attempt that opened it, and a report of an older attempt is
stale (:meth:`Connection.current`).

Liveness: every inbound frame (control frames included) is activity. ``activity_timeout``
after the last one, a ``pusher:ping`` goes out; when nothing arrives within
``pong_timeout`` the connection is dropped. A socket that is busy (its reader is delivering,
or bytes wait to be read) counts as alive: the shell says so when the timer fires. A socket
that takes nothing the client sends for ``pong_timeout`` (its outbox stalled: a dead path
from client to server) is dead, whatever arrives.

Closes: :func:`rxpusher._protocol.close_action` maps a close code to an action; the
backoff of ``options.reconnect`` spaces failed attempts; a refusal (4001-4099, >= 4300)
stops reconnecting. Failed attempts are reported on ``errors``: the first at once, then at
most one every 30 s with the count in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from .. import _protocol as protocol
from .._protocol import shorten
from .._exceptions import (
    ConnectAttemptError,
    ConnectionRefused,
    ProtocolError,
    PusherError,
    RetriesExhaustedError,
)
from .._protocol import CloseAction
from .._states import AttemptCause, ConnectionState
from .effects import CancelTimer, Changed, CloseTransport, Emit, Open, Report, Send, SetTimer, Timer

if TYPE_CHECKING:
    from .._options import Options
    from .streams import Streams

log = logging.getLogger("rxpusher")

C = ConnectionState

TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    C.INITIALIZED: frozenset({C.CONNECTING, C.DISCONNECTED}),
    C.CONNECTING: frozenset({C.CONNECTED, C.UNAVAILABLE, C.DISCONNECTED, C.FAILED}),
    C.UNAVAILABLE: frozenset({C.CONNECTING, C.CONNECTED, C.DISCONNECTED, C.FAILED}),
    C.CONNECTED: frozenset({C.CONNECTING, C.DISCONNECTED, C.FAILED}),
    C.DISCONNECTED: frozenset({C.CONNECTING}),
    C.FAILED: frozenset({C.CONNECTING, C.DISCONNECTED}),
}
"""Every legal change of the connection state: ``TRANSITIONS[old]`` holds the new states."""

REPORT_INTERVAL = 30.0
"""Seconds between two reports of failed attempts."""
SERVER_ERROR_WINDOW = 60.0
"""An identical ``pusher:error`` is reported once per window."""
NO_CLOSE_FRAME = (None, 1005, 1006)
"""Close codes that mean the connection was lost rather than closed by the server."""


class Repeats:
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


class Connection:
    """The state of the connection and every decision about it; effects go to ``out``."""

    def __init__(self, options: Options, out: list[Any], streams: Streams,
                 clock: Callable[[], float]) -> None:
        self.options = options
        self.out = out
        self.streams = streams
        self.clock = clock
        self.state = C.INITIALIZED
        self.socket_id: str | None = None
        self.activity_timeout = options.activity_timeout
        self.attempt = 0  # the attempt whose reports count; 0 before the first
        self.open = False  # a transport exists for the current attempt
        self.interactive = True  # the current transport reaches a server (see Transport)
        self.failures = 0  # failed attempts in a row (for max_attempts)
        self.backoff_steps = 0  # backoff waits since the last lasting connection
        self.hosts_tried = 0  # other hosts tried at once since the last backoff wait
        self.use_tls = options.use_tls
        hosts = len(options.hosts)
        self.host_index = options.reconnect.rng.randrange(hosts) if hosts > 1 else 0
        self.wanted = False  # connect() was called and nothing stopped it since
        self.stopped_by: PusherError | None = None  # the refusal or give-up that ended it
        # liveness
        self.last_activity = clock()
        self.inbound = 0  # frames seen at the socket
        self.inbound_at_ping: int | None = None
        self.ping_sent_at = self.last_activity
        # history
        self.connected_at: float | None = None
        self.handshakes = 0
        self.handshake_frame: str | None = None  # the current connection's, for record()
        # attempt reporting
        self.attempt_failures = 0  # failed attempts not reported yet
        self.attempt_reported_at: float | None = None
        self.server_errors = Repeats(clock, SERVER_ERROR_WINDOW)
        self.server_said: tuple[int, str] | None = None  # (attempt, message of pusher:error)
        self.last_cause: str | None = None  # why the last attempt or connection ended

    # ---- the state machine -------------------------------------------------------------

    def set_state(self, state: ConnectionState) -> bool:
        """Enter ``state`` (a legal transition); notify its observers. False when it is the
        current state already."""
        old = self.state
        if old is state:
            return False
        if state not in TRANSITIONS[old]:
            raise AssertionError(f"illegal connection state change: {old} -> {state}")
        self.state = state
        self.out.append(Changed)
        self.out.append(Emit(self.streams.state, state))
        return True

    def current(self, attempt: int) -> bool:
        """True when a report of ``attempt`` is not stale."""
        return attempt == self.attempt

    @property
    def url(self) -> str:
        """The URL the next attempt connects to."""
        return self.options.url(self.use_tls, self.host_index)

    def switch(self, options: Options) -> None:
        """Connect with other settings from the next attempt on (``switch_cluster``): their
        TLS setting and, with several hosts, a random one of them."""
        self.options = options
        self.use_tls = options.use_tls
        hosts = len(options.hosts)
        self.host_index = options.reconnect.rng.randrange(hosts) if hosts > 1 else 0

    # ---- attempts ----------------------------------------------------------------------

    def start_attempts(self) -> None:
        """Connect now, with a fresh backoff."""
        self.wanted = True
        self.stopped_by = None
        self.reset_backoff()
        self.enter_connecting()
        self.open_attempt()

    def reset_backoff(self) -> None:
        self.failures = self.backoff_steps = self.hosts_tried = 0

    def open_attempt(self) -> None:
        """Open a transport for a new attempt, with its ``connect_timeout`` deadline."""
        self.attempt += 1
        self.server_said = None
        self.open = True
        self.interactive = True
        url = self.url
        log.info("connecting to %s", url)
        self.out.append(Open(self.attempt, url))
        self.out.append(SetTimer(Timer.ATTEMPT, self.options.connect_timeout, self.attempt))

    def drop_transport(self, code: int) -> None:
        """Close the current transport; whatever it reports from now on is stale."""
        if self.open:
            self.open = False
            self.attempt += 1
            self.out.append(CloseTransport(code))

    def enter_connecting(self) -> None:
        if self.set_state(C.CONNECTING):
            self.out.append(SetTimer(Timer.UNAVAILABLE, self.options.unavailable_timeout))

    def cancel_timers(self) -> None:
        for timer in (Timer.LIVENESS, Timer.RETRY, Timer.UNAVAILABLE, Timer.ATTEMPT):
            self.out.append(CancelTimer(timer))

    def retry_due(self) -> None:
        """The backoff ended: the next attempt, unless something changed meanwhile."""
        if self.wanted and not self.open:
            self.open_attempt()

    def unavailable_due(self) -> None:
        if self.state is C.CONNECTING:
            self.set_state(C.UNAVAILABLE)

    def established(self, socket_id: str, server_timeout: Any) -> None:
        """``pusher:connection_established`` with a usable socket id."""
        self.out.append(CancelTimer(Timer.ATTEMPT, self.attempt))
        self.attempt_failures = 0
        self.attempt_reported_at = None
        self.last_cause = None
        self.socket_id = socket_id
        self.activity_timeout = self.options.activity_timeout
        if isinstance(server_timeout, (int, float)) and not isinstance(server_timeout, bool) \
                and server_timeout > 0:
            self.activity_timeout = min(self.activity_timeout, float(server_timeout))
        self.inbound_at_ping = None
        self.out.append(CancelTimer(Timer.UNAVAILABLE))
        if self.interactive:
            self.out.append(SetTimer(Timer.LIVENESS, self.activity_timeout))
        self.connected_at = self.clock()
        self.handshakes += 1
        self.set_state(C.CONNECTED)
        log.info("connected, socket id %s", socket_id)

    # ---- liveness ------------------------------------------------------------------------

    def activity(self, now: float) -> None:
        """Something arrived on the current socket (lock-free: counters only)."""
        self.last_activity = now
        self.inbound += 1

    def send_ping(self) -> None:
        self.inbound_at_ping = self.inbound
        self.ping_sent_at = self.clock()
        log.debug("idle: sending pusher:ping")
        self.out.append(Send(protocol.encode_frame(protocol.PING, {})))
        self._schedule_pong_check()

    def _schedule_pong_check(self) -> None:
        # checked at least every activity_timeout, so that after an early answer the next
        # idle ping is not held back by a longer pong_timeout
        elapsed = self.clock() - self.ping_sent_at
        remaining = self.options.pong_timeout - elapsed
        self.out.append(SetTimer(Timer.LIVENESS, max(0.0, min(remaining, self.activity_timeout))))

    def liveness_due(self, busy: bool, stalled: bool = False) -> str:
        """The liveness timer fired; ``busy``: the socket shows life the counters cannot
        see yet; ``stalled``: nothing sent has gone out for ``pong_timeout``. Why the
        connection is dead (no answer to the ping, or a stalled send), else ``""``."""
        if self.state is not C.CONNECTED:
            return ""
        if stalled:
            log.warning("nothing sent went out for %s s: reconnecting", self.options.pong_timeout)
            self.inbound_at_ping = None
            return "send stalled"
        now = self.clock()
        if self.inbound_at_ping is None:  # the activity check
            idle = now - self.last_activity
            if idle < self.activity_timeout:
                self.out.append(SetTimer(Timer.LIVENESS, self.activity_timeout - idle))
            else:
                self.send_ping()
            return ""
        if busy:
            self.last_activity = now
        if self.inbound != self.inbound_at_ping or self.last_activity > self.ping_sent_at:
            self.inbound_at_ping = None
            idle = now - self.last_activity
            self.out.append(SetTimer(Timer.LIVENESS, max(0.0, self.activity_timeout - idle)))
            return ""
        if now - self.ping_sent_at < self.options.pong_timeout:
            self._schedule_pong_check()
            return ""
        log.warning("no answer to pusher:ping within %s s: reconnecting", self.options.pong_timeout)
        self.inbound_at_ping = None
        return "pong timeout"

    # ---- loss ------------------------------------------------------------------------------

    def server_error(self, attempt: int, message: str) -> None:
        """A ``pusher:error`` on ``attempt``: the reason of a refusal that comes without one."""
        self.server_said = (attempt, message)

    def lost(self, code: int | None, reason: str,
             cause: AttemptCause | None) -> tuple[bool, bool, str]:
        """The connection (or the attempt) ended; the reports it causes. Whether it had been
        established, whether it lasted (``activity_timeout``: only that resets the backoff
        or earns an immediate reconnect), and the reason (the server's ``pusher:error``
        when the close frame has none)."""
        log.info("connection closed (%s) %s", code, shorten(reason))
        was_connected = self.state is C.CONNECTED
        lasted = was_connected and self.connected_at is not None \
            and self.clock() - self.connected_at >= self.activity_timeout
        if lasted:
            self.reset_backoff()
        said = self.server_said
        if not reason and said is not None and said[0] == self.attempt:
            reason = said[1]  # the close frame has none: the pusher:error that came with it
        self.last_cause = (f"connection lost: {shorten(reason) or 'no reason given'}"
                           if code in NO_CLOSE_FRAME else
                           f"closed by the server ({code}): {shorten(reason) or 'no reason given'}")
        self.out.append(CancelTimer(Timer.ATTEMPT, self.attempt))
        if len(self.options.hosts) > 1:
            self.host_index += 1  # the next host: at once when an established one dropped
        if code in (1002, 1007, 1009):
            self.out.append(Report(ProtocolError(
                f"connection closed with {code}: {shorten(reason) or 'protocol violation'}", "")))
        elif not was_connected and self.wanted and code is None:
            self.attempt_failures += 1
            cause, message = cause or AttemptCause.NETWORK, shorten(reason)
            proxy = self.options.proxy
            if proxy and cause in (AttemptCause.REFUSED, AttemptCause.DNS):
                # the client only ever dials the proxy: it refused, or its name is unknown
                cause = AttemptCause.PROXY
                message = f"the proxy {shorten(proxy.split('@')[-1])} failed: {message}"
            self.report_attempt(ConnectAttemptError(self.url, cause, message))
        self.socket_id = None
        self.connected_at = None
        self.inbound_at_ping = None
        self.out.append(CancelTimer(Timer.LIVENESS))
        return was_connected, lasted, reason

    def after_loss(self, code: int | None, reason: str, lasted: bool) -> PusherError | None:
        """Decide what follows a loss: nothing (not wanted), a refusal, giving up, or the
        next attempt after the backoff. The refusal or give-up error, if any."""
        if not self.interactive:
            self.wanted = False  # a recording ended: it does not reconnect
        if not self.wanted:
            self.set_state(C.DISCONNECTED)
            return None
        action = protocol.close_action(code)
        if action is CloseAction.REFUSED:
            assert code is not None
            self.wanted = False
            self.cancel_timers()
            self.set_state(C.DISCONNECTED)
            refusal = ConnectionRefused(code, shorten(reason))
            self.stopped_by = refusal
            self.out.append(Report(refusal))
            return refusal
        delay = 0.0
        at_once = (action is CloseAction.RECONNECT_NOW and lasted) or (
            action is CloseAction.RECONNECT_WITH_TLS and not self.use_tls)
        if action is CloseAction.RECONNECT_WITH_TLS:
            self.use_tls = True
        if not at_once:  # a failed attempt, or a connection that did not last
            policy = self.options.reconnect
            if policy.gives_up(self.failures):
                self.wanted = False
                self.cancel_timers()
                error = RetriesExhaustedError(
                    f"gave up after {self.failures} failed attempts; last: {self.last_cause}")
                self.stopped_by = error
                self.set_state(C.FAILED)
                self.out.append(Report(error))
                return error
            self.failures += 1
            hosts = len(self.options.hosts)
            if self.hosts_tried < hosts - 1:
                self.hosts_tried += 1  # another host at once, each once per backoff step
            else:
                self.hosts_tried = 0
                delay = policy.delay(self.backoff_steps)
                self.backoff_steps += 1
        if self.state not in (C.CONNECTING, C.UNAVAILABLE):
            self.enter_connecting()
        log.info("reconnecting in %.3f s", delay)
        self.out.append(SetTimer(Timer.RETRY, delay))
        return None

    def report_attempt(self, error: ConnectAttemptError) -> None:
        """Report a failed attempt: the first at once, then at most one every 30 s, saying
        how many failed in between, so that a long outage does not flood ``errors``."""
        self.last_cause = str(error)
        now = self.clock()
        reported_at = self.attempt_reported_at
        if reported_at is not None and now - reported_at < REPORT_INTERVAL:
            return
        if self.attempt_failures > 1:
            error.args = (f"{error.args[0]} ({self.attempt_failures} failed attempts since "
                          "the last report)",)
        self.attempt_reported_at = now
        self.attempt_failures = 0
        self.out.append(Report(error))
