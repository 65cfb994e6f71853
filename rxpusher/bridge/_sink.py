"""What every broker sink shares: the observer side (cheap, on the reader thread), the
bounded buffer, the writer thread that talks to the broker, reconnecting with the backoff,
error reporting and the flush at close.

The reader thread never waits for the broker: ``on_next`` makes an :class:`Item` and appends
it under a lock held for that only. One writer thread per sink takes batches, writes them and
gives them back when the broker fails, then waits for the backoff (or ``close()``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from reactivex import Observable, abc, create
from reactivex.disposable import CompositeDisposable
from reactivex.subject import Subject

from .._auth import shorten
from .._exceptions import BridgeError, PusherError
from .._protocol import Event
from .._retry import Backoff
from .._sequenced import Gap
from .._states import Interruption
from ._buffer import EntryBuffer
from ._entries import Item, Template, event_item, gap_item, interruption_item, to_record

if TYPE_CHECKING:
    from .._channels import Channel
    from .._session import ClientSession

__all__ = ["BrokerSink", "Backend", "BridgeStats", "SeqSpec", "redact", "seconds"]

log = logging.getLogger("rxpusher.bridge")

BATCH = 500
"""Entries written in one round trip at most."""
LINGER = 0.005
"""Seconds the writer waits for more entries when fewer than a batch are waiting."""
REPORT_EVERY = 30.0
"""While the broker stays down, one BridgeError per this many seconds (the first at once)."""

SeqSpec = str | Callable[[Any], int]
"""``seq=``: the data field that holds the seq, or a function of the data returning it."""


def seconds(name: str, value: object, *, zero: bool = False) -> float:
    """``value`` as a finite number of seconds (> 0, or >= 0 with ``zero``); ``ValueError``
    naming ``name`` otherwise."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) \
            or not (value >= 0 if zero else value > 0) or value == float("inf"):
        limit = ">= 0" if zero else "> 0"
        raise ValueError(f"{name} must be a finite number of seconds {limit}, got {value!r}")
    return float(value)


def redact(url: str) -> str:
    """``url`` without the password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return shorten(url)
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return shorten(f"{scheme}://{user + ':***' if ':' in credentials else user}@{host}")


class Backend(Protocol):
    """The broker side of a sink; every method runs on the sink's writer thread (or, for
    :meth:`last_seq`, the caller's), never on a client's reader thread."""

    broker: str

    def connect(self) -> None:
        """Open the connection (raise on failure)."""

    def write(self, entries: list[tuple[str, dict[str, Any]]]) -> int:
        """Write ``(target, record)`` pairs in order, idempotently on ``record["id"]``; return
        how many were new (the others were duplicates). Raise when not all were written."""

    def last_seq(self, target: str, channel: str, event: str | None) -> int | None:
        """The highest seq of ``channel`` (and ``event`` when given) in ``target``."""

    def targets(self, pattern: str) -> list[str]:
        """The targets that exist and match ``pattern`` (:meth:`Template.any_event`), at
        most a bounded number."""

    def close(self) -> None:
        """Close the connection (never raises)."""


@dataclass(frozen=True)
class BridgeStats:
    """A sink's counters: ``written`` entries new to the broker, ``duplicates`` it already
    had (another bridge, a restart), ``buffered`` not written yet, ``dropped`` from a full buffer
    (each range recorded by a ``gap`` entry), ``connected`` to the broker now."""

    written: int
    duplicates: int
    buffered: int
    dropped: int
    connected: bool


class BrokerSink(abc.ObserverBase[Any], abc.DisposableBase):
    """Base of the broker sinks (see :class:`rxpusher.bridge.RedisStreamSink`)."""

    broker = "broker"
    _clock: Callable[[], float] = staticmethod(time.monotonic)
    """Times the reports of an outage (tests give a fake one before ``__init__``)."""

    def __init__(self, url: str, template: Template, *, seq: SeqSpec | None, channel: str | None,
                 event: str | None, max_buffer: int, flush_timeout: float,
                 reconnect: Backoff | None) -> None:
        if not isinstance(url, str) or not url:
            raise TypeError(f"url must be a non-empty string, got {url!r}")
        if seq is not None and not isinstance(seq, str) and not callable(seq):
            raise TypeError(f"seq must be a field name or a callable, got {seq!r}")
        if reconnect is not None and not isinstance(reconnect, Backoff):
            raise TypeError(f"reconnect must be an rxpusher.Backoff, got {reconnect!r}")
        self.url = url
        self._shown_url = redact(url)
        self._template = template
        self._seq = seq
        self._channel = channel
        self._event = event
        self._flush_timeout = seconds("flush_timeout", flush_timeout, zero=True)
        self._backoff = reconnect
        self._buffer = EntryBuffer(max_buffer)
        self._cond = threading.Condition()
        self._closing = False
        self._deadline = float("inf")
        self._closed = threading.Event()
        self._written = 0
        self._duplicates = 0
        self._connected = False
        self._inflight = 0
        self._dropped_unnamed = 0
        self._sessions: list[ClientSession] = []
        self._global_sessions: list[ClientSession] = []
        self._bindings: set[tuple[str, str | None]] = set()
        self._watched: set[tuple[int, str]] = set()
        self._subscriptions = CompositeDisposable()
        self._errors: Subject[PusherError] = Subject()
        self._last_report = float("-inf")
        self._unreported = 0
        self._thread = threading.Thread(target=self._run, name=f"rxpusher-bridge-{self.broker}",
                                        daemon=True)
        self._thread.start()

    # ---- the observer side (any thread, never blocks on the broker) ------------------------

    def on_next(self, value: Any) -> None:
        """Buffer ``value`` for the broker: an :class:`~rxpusher.Event` (except the
        per-connection ``pusher:*`` protocol events, which are skipped), an
        :class:`~rxpusher.Interruption`, a sequenced feed's ``Gap``, or a sequenced feed's
        data (with ``seq=``)."""
        item = self._item(value)
        if item is None:
            return
        with self._cond:
            if self._closing:
                return
            self._buffer.push(item)
            waiting = len(self._buffer)
            if waiting == 1 or waiting == BATCH:  # the writer waits for the first or a batch
                self._cond.notify()

    def on_error(self, error: Exception) -> None:
        """The source failed (it was reported on the client's ``errors``): the sink keeps
        what it has and goes on with its other sources."""
        log.debug("a source of the %s bridge ended with %r", self.broker, error)

    def on_completed(self) -> None:
        """A source completed: nothing to do (call :meth:`close` to flush and end)."""

    def _item(self, value: Any) -> Item | None:
        if isinstance(value, Event):
            if value.name.startswith("pusher:"):
                return None  # protocol events (subscription_succeeded, ...) are per connection
            name = value.channel if value.channel is not None else ""
            self._watch_global(name)
            return event_item(name, value.name, value.data, value.user_id,
                              self._seq_of(value.data))
        if isinstance(value, Interruption):
            return interruption_item(value.channel, value.lost_at, value.resubscribed_at)
        if isinstance(value, Gap):
            return gap_item(value.channel, value.event or "", value.first, value.last,
                            value.detected_at)
        channel: str | None = self._channel
        event = self._event
        if channel is None and len(self._bindings) == 1:
            bound_channel, bound_event = next(iter(self._bindings))
            channel, event = bound_channel, event or bound_event
        if channel is None:
            self._dropped_unnamed += 1
            if self._dropped_unnamed == 1:
                self._report(BridgeError(self.broker, self._shown_url, (
                    "dropped data without a channel (not an Event): give the sink channel= "
                    "and event=, or observe channel.events(...) directly")))
            return None
        return event_item(channel, event or "", value, None, self._seq_of(value))

    def _seq_of(self, data: Any) -> int | None:
        spec = self._seq
        if spec is None:
            return None
        try:
            value = data[spec] if isinstance(spec, str) else spec(data)
        except Exception:  # noqa: BLE001 - no seq: the entry is keyed by its digest
            return None
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return None

    # ---- binding to clients (Pusher streams tell the sink who they are) -------------------

    def _rxpusher_bind(self, session: ClientSession, channel: str | None, event: str | None, *,
                       bind_data: bool = True) -> None:
        """Called by a client when this sink observes one of its streams: broker failures go
        to that client's ``errors``, and the channel's interruptions become entries; data
        items (not Events) belong to that channel and event."""
        with self._cond:
            if session not in self._sessions:
                self._sessions.append(session)
                self._last_report = float("-inf")  # an ongoing outage: tell this client too
            if channel is None:
                if session not in self._global_sessions:
                    self._global_sessions.append(session)
            elif bind_data:
                self._bindings.add((channel, event))
            if self._backoff is None:
                self._backoff = session.options.reconnect
        if channel is not None:
            self._watch(session, channel)

    def watch(self, channel: Channel) -> None:
        """Write ``channel``'s interruptions as entries and report broker failures on its
        client's ``errors``. Observing ``channel.events()`` (or ``pusher.events()``) directly
        does this by itself; call it when the sink observes a stream derived from the channel
        (``.pipe(...)``, a sequenced feed)."""
        self._rxpusher_bind(channel._session, channel.name, None, bind_data=False)

    def _watch_global(self, channel: str) -> None:
        if not channel or not self._global_sessions:
            return
        for session in list(self._global_sessions):
            if (id(session), channel) not in self._watched:
                self._watch(session, channel)

    def _watch(self, session: ClientSession, channel: str) -> None:
        with self._cond:
            key = (id(session), channel)
            if key in self._watched or self._closing:
                return
            self._watched.add(key)
        def subscribe(observer: abc.ObserverBase[Any],
                      scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            return session.observe_interruptions(channel, observer)

        interruptions: Observable[Any] = create(subscribe)
        self._subscriptions.add(interruptions.subscribe(self.on_next))

    # ---- reporting --------------------------------------------------------------------------

    @property
    def errors(self) -> Observable[PusherError]:
        """Every :class:`~rxpusher.BridgeError` of this sink (also put on the ``errors`` of
        the clients whose streams it observes). Completes at :meth:`close`. An ongoing
        outage is reported to a new observer at the next failed attempt."""
        def subscribe(observer: abc.ObserverBase[Any],
                      scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            disposable = self._errors.subscribe(observer)
            self._last_report = float("-inf")
            return disposable

        return create(subscribe)

    def _report(self, error: BridgeError, *, outage: bool = False) -> None:
        """Report ``error`` (an ongoing outage at most once per ``REPORT_EVERY`` seconds)."""
        if outage:
            now = self._clock()
            if now - self._last_report < REPORT_EVERY:
                self._unreported += 1
                return
            if self._unreported:
                cause = error.__cause__
                error = BridgeError(error.broker, error.url, (
                    f"{error.message} ({self._unreported} more failures since the last report)"))
                error.__cause__ = cause
            self._last_report = now
            self._unreported = 0
        with self._cond:
            sessions = list(self._sessions)
        if not sessions:
            log.warning("%s", error)
        for session in sessions:
            if not session.closed:
                session.report(error)
        self._errors.on_next(error)

    def _failure(self, what: str, exc: BaseException) -> BridgeError:
        error = BridgeError(self.broker, self._shown_url,
                            f"{what}: {type(exc).__name__}: {shorten(str(exc))}")
        error.__cause__ = exc
        return error

    # ---- the writer thread --------------------------------------------------------------------

    def _make_backend(self) -> Backend:
        raise NotImplementedError

    def _call_timeout(self) -> float:
        """The longest one broker call may take."""
        return 5.0

    def _target(self, item: Item) -> str:
        """Where ``item`` goes: interruption and gap entries under the event name
        ``rxpusher:interruption`` / ``rxpusher:gap`` (a subject of their own on NATS, so that
        the last message of an event's subject is always an event)."""
        event = item.event if item.kind == "event" else f"rxpusher:{item.kind}"
        return self._template.render(item.channel, event)

    def _run(self) -> None:
        backend = self._make_backend()
        failures = 0
        try:
            try:  # at once, so that a wrong URL is reported before the first event
                backend.connect()
                self._connected = True
            except Exception as exc:  # noqa: BLE001 - any broker failure: retry on demand
                backend.close()
                self._report(self._failure("cannot connect", exc), outage=True)
            while True:
                with self._cond:
                    while not self._buffer and not self._closing:
                        self._cond.wait()
                    if self._connected:
                        self._linger()
                    if not self._buffer or time.monotonic() >= self._deadline:
                        break
                    batch = self._buffer.take(BATCH)
                    self._inflight = len(batch)
                try:
                    if not self._connected:
                        backend.connect()
                        self._connected = True
                        if failures:
                            log.info("%s bridge to %s: connected again", self.broker,
                                     self._shown_url)
                        self._last_report = float("-inf")
                    new = backend.write([(self._target(item), to_record(item)) for item in batch])
                except Exception as exc:  # noqa: BLE001 - any broker failure: retry later
                    with self._cond:
                        self._buffer.give_back(batch)
                        self._inflight = 0
                    what = "cannot write" if self._connected else "cannot connect"
                    self._connected = False
                    backend.close()
                    self._report(self._failure(what, exc), outage=True)
                    self._pause((self._backoff or Backoff()).delay(failures))
                    failures += 1
                    continue
                failures = 0
                with self._cond:
                    self._inflight = 0
                    self._written += new
                    self._duplicates += len(batch) - new
                    self._cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - never die silently
            self._report(self._failure("the bridge failed", exc))
        finally:
            backend.close()
            self._connected = False
            with self._cond:
                left = len(self._buffer)
                self._closing = True
                self._cond.notify_all()
            if left:
                self._report(BridgeError(self.broker, self._shown_url, (
                    f"{left} entries not written: the broker was unreachable until the "
                    f"close deadline ({self._flush_timeout:g} s)")))
            self._closed.set()

    def _linger(self) -> None:
        """A trickle of entries: wait up to ``LINGER`` for a whole batch (lock held), one
        round trip for many."""
        end = time.monotonic() + LINGER
        while len(self._buffer) < BATCH and not self._closing:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            self._cond.wait(remaining)

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds``; ``close()`` ends the wait once (to try the flush at once), and
        after that the deadline bounds it."""
        end = time.monotonic() + seconds
        with self._cond:
            closing = self._closing
            while True:
                if self._closing and not closing:
                    return
                remaining = min(end, self._deadline) - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    # ---- public ----------------------------------------------------------------------------------

    @property
    def stats(self) -> BridgeStats:
        """The sink's counters now (:class:`BridgeStats`)."""
        with self._cond:
            return BridgeStats(self._written, self._duplicates,
                               len(self._buffer) + self._inflight,
                               self._buffer.dropped_total, self._connected)

    def last_seq(self, channel: str, event: str | None = None) -> int | None:
        """The highest seq of ``channel`` (and ``event``; None: whatever the event, as a
        channel-wide sequence numbers them) already in the broker, or None: where a restarted
        bridge resumes (``rxpusher.sequenced(..., start=)``). With ``{event}`` in the stream
        or subject and no ``event``, every existing stream or subject of the channel is read.
        Connects on the calling thread, bounded by the broker timeouts; raises
        :class:`BridgeError`."""
        backend = self._make_backend()
        try:
            backend.connect()
            if event is None and self._template.per_event:
                notices = {self._template.render(channel, f"rxpusher:{kind}")
                           for kind in ("interruption", "gap")}  # never hold events
                targets = [target for target in backend.targets(
                    self._template.any_event(channel)) if target not in notices]
            else:
                targets = [self._template.render(channel, event or "")]
            found = [seq for seq in (backend.last_seq(target, channel, event)
                                     for target in targets) if seq is not None]
            return max(found, default=None)
        except BridgeError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the broker client raises
            raise self._failure("cannot read the last seq", exc) from exc
        finally:
            backend.close()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything buffered so far is written (True) or ``timeout`` passed."""
        end = time.monotonic() + (self._flush_timeout if timeout is None else timeout)
        with self._cond:
            while self._buffer or self._inflight:
                remaining = end - time.monotonic()
                if remaining <= 0 or self._closed.is_set():
                    return not (self._buffer or self._inflight)
                self._cond.wait(min(remaining, 0.05))
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Stop taking items, write what is buffered within ``timeout`` (default
        ``flush_timeout``), close the broker connection and end the writer thread. True when
        everything was written; what was not is reported as :class:`~rxpusher.BridgeError`.
        Works from any thread; a second call only waits."""
        wait = self._flush_timeout if timeout is None else float(timeout)
        with self._cond:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + wait
            self._cond.notify_all()
        self._subscriptions.dispose()
        if threading.current_thread() is not self._thread:
            # past the deadline the writer may still be in one broker call, bounded by the
            # broker timeout
            self._thread.join(wait + self._call_timeout())
        with self._cond:
            left = len(self._buffer) + self._inflight
        if self._closed.is_set():
            self._errors.on_completed()
        return left == 0

    def dispose(self) -> None:
        """:meth:`close` with the default deadline."""
        self.close()

    def __enter__(self) -> BrokerSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._shown_url} {self.stats}>"

