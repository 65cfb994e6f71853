"""Sequenced streams: :func:`sequenced` merges numbered events of one or more channels into
one stream in which each seq is delivered once, in order, across reconnects and connections.

This module is the threaded shell around the pure :class:`~rxpusher._sequencing.Sequencer`.
It observes each channel through the public API (``channel.events(event)``, or
``channel.events()`` for the channel-wide sequence of ``event=None``, ``channel.state``,
``channel.interruptions``), feeds the core under a lock of its own and
carries out the effects:

- deliveries and gap notices are posted to a :class:`~rxpusher._internal.lane.Lane` of the
  stream's own and run after the lock is released, so every observer gets its
  notifications serially whichever client's thread caused them, and none runs under a lock;
- the core's wake-up runs on the first client's timer scheduler (a ``TestScheduler`` in
  tests: reorder windows and backfill timeouts are virtual time);
- backfill calls run on worker threads (``rxpusher-backfill``), never on a reader thread;
  one past ``backfill_timeout`` is abandoned (its answer dropped), and so is every call
  under way when the stream ends: nothing waits for them.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from reactivex import Observable, abc
from reactivex.disposable import BooleanDisposable, Disposable, SerialDisposable
from reactivex.scheduler import VirtualTimeScheduler

from ._internal.pool import Pool
from ._protocol import shorten
from ._channels import Channel
from ._exceptions import BackfillError, InternalError, ObserverError, ProtocolError, PusherError
from ._internal.lane import Lane
from ._internal.timers import shared_timers
from ._protocol import Event
from ._router import GLOBAL, Sink, emit_to, end_all, observable
from ._session import bind_bridge
from ._sequencing import (
    Abandon,
    Deliver,
    Effect,
    End,
    Fetch,
    Missing,
    SequencedCounters,
    Sequencer,
    Wake,
)
from ._states import ChannelState

if TYPE_CHECKING:
    from ._session import ClientSession

__all__ = ["Backfill", "ChannelBackfill", "Gap", "Sequenced", "SequencedCounters", "sequenced"]

Backfill = Callable[[str, str, int, int | None], Iterable[Any]]
"""``backfill(channel_name, event, after, before)`` -> the data of the events with
``after < seq < before`` (``before`` None: up to now), in any order."""

ChannelBackfill = Callable[[str, str | None, int, int | None], Iterable[Any]]
"""The backfill of a channel-wide sequence (``event=None``): called with ``event`` None,
it returns the data of every event of the channel in the range, whatever its name."""

_PROTOCOL_PREFIXES = ("pusher:", "pusher_internal:")
"""Events of the protocol (per connection): never part of a channel-wide sequence."""

_WORKERS = 4  # backfill calls under way at once, per stream


class Gap(NamedTuple):
    """Seqs ``first..last`` (inclusive) of ``event`` on ``channel`` that a sequenced stream
    will not deliver: they were neither received nor backfilled in time. ``event`` is None
    for a channel-wide sequence (``sequenced(..., event=None)``); ``last`` is None when the
    end is not known; ``detected_at`` is a UTC ``datetime``."""

    channel: str
    event: str | None
    first: int
    last: int | None
    detected_at: datetime


@overload
def sequenced(
    channels: Channel | Sequence[Channel], event: str, *, seq: Callable[[Any], int],
    backfill: Backfill | None = None, reorder_window: float = 0.5,
    backfill_timeout: float = 10.0, max_pending: int = 10_000, start: int | None = None,
) -> Sequenced: ...


@overload
def sequenced(
    channels: Channel | Sequence[Channel], event: None, *, seq: Callable[[Any], int],
    backfill: ChannelBackfill | None = None, reorder_window: float = 0.5,
    backfill_timeout: float = 10.0, max_pending: int = 10_000, start: int | None = None,
) -> Sequenced: ...


def sequenced(
    channels: Channel | Sequence[Channel],
    event: str | None,
    *,
    seq: Callable[[Any], int],
    backfill: Backfill | ChannelBackfill | None = None,
    reorder_window: float = 0.5,
    backfill_timeout: float = 10.0,
    max_pending: int = 10_000,
    start: int | None = None,
) -> Sequenced:
    """Each ``event`` of ``channels`` once, in the order of ``seq(data)``.

    ``channels`` is a :class:`Channel` or a list of them (usually the same channel on
    different clients, such as two connections to two hosts of a cluster): their events are
    merged, a seq delivered once. ``seq(data)`` returns the consecutive integer the
    publisher set; an event for which it raises or returns something else is dropped and
    reported on the client's ``errors`` as :class:`ProtocolError`. An event above the next
    expected seq waits up to ``reorder_window`` seconds for the missing ones, then
    ``backfill(channel_name, event, after, before)`` is called on a worker thread (bounded
    by ``backfill_timeout``) and what it returns in ``(after, before)`` is delivered in
    order; what is still missing is a :class:`Gap`. After an interruption that no other
    channel covered, ``backfill(..., after=last_delivered, before=None)`` fetches what was
    published meanwhile. At most ``max_pending`` events are held. Delivery starts after
    ``start`` when given (``start + 1 ..`` is backfilled at once), else at the first event.

    ``event=None`` is the channel-wide sequence: every event of the channel, whatever its
    name, numbered by one ``seq`` (the protocol's own ``pusher:*`` and
    ``pusher_internal:*`` events are never part of it). The backfill is then called with
    ``event`` None and answers the data of every event of the channel in the range; gaps
    have ``event`` None. ``named_events`` tells each item's event name.
    See :class:`Sequenced` for the streams.
    """
    sources = [channels] if isinstance(channels, Channel) else list(channels)
    if not sources or not all(isinstance(c, Channel) for c in sources):
        raise TypeError("channels must be a Channel or a non-empty list of Channels")
    if len(set(sources)) != len(sources):
        raise ValueError("the same channel of the same client is given twice")
    if event is not None and (not isinstance(event, str) or not event):
        raise ValueError("event must be a non-empty event name, or None for every event")
    if not callable(seq):
        raise TypeError("seq must be a callable: data -> int")
    if backfill is not None and not callable(backfill):
        raise TypeError("backfill must be None or a callable (channel, event, after, before)")
    reorder_window = _seconds("reorder_window", reorder_window, zero=True)
    backfill_timeout = _seconds("backfill_timeout", backfill_timeout, zero=False)
    if not isinstance(max_pending, int) or isinstance(max_pending, bool) or max_pending < 1:
        raise ValueError(f"max_pending must be a positive int, got {max_pending!r}")
    if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
        raise TypeError(f"start must be None or an int, got {start!r}")
    return Sequenced(sources, event, seq, backfill, reorder_window, backfill_timeout,
                     max_pending, start)


def _seconds(name: str, value: Any, zero: bool) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value \
            or value == float("inf") or value < 0 or (value == 0 and not zero):
        bound = "a number >= 0" if zero else "a positive number"
        raise ValueError(f"{name} must be {bound} of seconds, got {value!r}")
    return float(value)


def _describe(data: Any) -> str:
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):
        text = repr(data)
    return shorten(text)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _Client:
    """What the stream uses of a channel's client: reporting, hand-offs, timers. (The one
    place that reaches into the session.)"""

    def __init__(self, channel: Channel) -> None:
        self.session: ClientSession = channel._session

    def report(self, error: PusherError) -> None:
        self.session.report(error)

    def report_observer(self, exc: BaseException) -> None:
        error = ObserverError(f"an observer raised {type(exc).__name__}: {shorten(str(exc))}")
        error.__cause__ = exc
        self.session.report(error)

    def sink(self, observer: abc.ObserverBase[Any]
             ) -> tuple[Sink, Callable[[abc.DisposableBase], None]]:
        """``observer`` as the stream calls it (through the bounded hand-off of the client's
        ``scheduler`` option, if any), and how to tell the hand-off its subscription."""
        target, handoff = self.session.wrap(observer)

        def bind(subscription: abc.DisposableBase) -> None:
            if handoff is not None:  # an overflow ends the subscription
                handoff.subscription.disposable = subscription

        return Sink(target, False, True, GLOBAL, None), bind

    @property
    def closed(self) -> bool:
        return self.session.closed

    @property
    def timer_scheduler(self) -> abc.SchedulerBase | None:
        return self.session.options.timer_scheduler


class Sequenced:
    """A sequenced stream, from :func:`sequenced`.

    - ``events``: the data, in seq order, each seq exactly once. Observing it counts for
      reference counting on every channel (the first observer subscribes them, the last one
      to leave releases them); observers share one stream. Completes when every client is
      closed (what is still held is delivered first, its holes reported as gaps); a
      ``SubscriptionError`` on one of several channels is reported on that client's
      ``errors`` and the others go on; when every channel failed (the only one, say) it
      errors with the last failure.
    - ``named_events``: the same deliveries as ``events``, each as an
      :class:`~rxpusher.Event` ``(name, channel, data)``, for the event name of each item of
      a channel-wide sequence (``event=None``; see :attr:`named_events`). Observing it counts
      like observing ``events``.
    - ``gaps``: a :class:`Gap` for each range that will not be delivered (a view: observing
      it subscribes nothing); completes with ``events``.
    - ``counters``: a :class:`SequencedCounters` snapshot (delivered, duplicates,
      backfilled, gaps, missing, pending, fetching).
    """

    def __init__(self, channels: list[Channel], event: str | None, seq: Callable[[Any], int],
                 backfill: Backfill | ChannelBackfill | None, reorder_window: float,
                 backfill_timeout: float, max_pending: int, start: int | None) -> None:
        self.channels: tuple[Channel, ...] = tuple(channels)
        """The channels merged, in the order given."""
        self.event = event
        """The event name; None for the channel-wide sequence (every event of the channel)."""
        self._clients = [_Client(c) for c in channels]
        self._names = [c.name for c in channels]
        self._what = "events" if event is None else repr(event)
        self._last_name: list[str | None] = [None] * len(channels)  # live, per channel
        self._seq = seq
        self._backfill = backfill
        self._max_answer = max_pending
        self._lock = threading.Lock()
        self._core = Sequencer(len(channels), backfill=backfill is not None,
                               reorder_window=reorder_window, backfill_timeout=backfill_timeout,
                               max_pending=max_pending, start=start)
        first = self._clients[0]
        self._report = first.report
        self._report_observer = first.report_observer
        self._lane = Lane(self._report_library)
        self._observers: tuple[Sink, ...] = ()  # of the data
        self._named: tuple[Sink, ...] = ()  # of the data as Events
        self._gap_observers: tuple[Sink, ...] = ()
        self._links: list[abc.DisposableBase] = []
        self._generation = 0
        self._wake = SerialDisposable()
        self._fetches: dict[int, BooleanDisposable] = {}
        self._workers: Pool | None = None
        scheduler = first.timer_scheduler
        self._own_timers = scheduler is None
        self._scheduler: abc.SchedulerBase | None = scheduler
        if isinstance(scheduler, VirtualTimeScheduler) \
                and isinstance(scheduler.clock, (int, float)):
            virtual = scheduler
            self._now: Callable[[], float] = lambda: float(virtual.clock)
        elif scheduler is not None:
            real = scheduler
            self._now = lambda: real.now.timestamp()
        else:
            self._now = time.monotonic

    def __repr__(self) -> str:
        return f"<Sequenced {self.event!r} on {', '.join(map(repr, self._names))} {self.counters}>"

    # ---- the public streams ----------------------------------------------------------------

    @property
    def events(self) -> Observable[Any]:
        """The data of every event, in seq order, each seq once (see the class docstring)."""

        def subscribe(observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
            disposable = self._attach(observer)
            for client, name in zip(self._clients, self._names):
                bind_bridge(observer, client.session, name, self.event)  # a broker sink
            return disposable

        return observable(subscribe)

    @property
    def named_events(self) -> Observable[Event]:
        """What ``events`` delivers, each item as an :class:`~rxpusher.Event` ``(name, channel,
        data)``: the name of the live event it came from (with an ``event`` name: that name),
        the channel it arrived on or was backfilled for, and no ``user_id`` for a backfilled
        item. A backfilled item of a channel-wide sequence (``event=None``) carries no name of
        its own: it is named by the string field ``"event"`` of its data when the data is an
        object that has one, else by the last event name received live on that channel (``""``
        before the first). Observing it counts like observing ``events``."""

        def subscribe(observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
            disposable = self._attach(observer, named=True)
            for client, name in zip(self._clients, self._names):
                bind_bridge(observer, client.session, name, self.event)  # a broker sink
            return disposable

        return observable(subscribe)

    @property
    def gaps(self) -> Observable[Gap]:
        """A :class:`Gap` for every range that will not be delivered. Observing it does not
        subscribe the channels; completes when ``events`` ends."""

        def subscribe(observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
            sink, bind = self._clients[0].sink(observer)
            if all(client.closed for client in self._clients):
                self._lane.post(sink.end, None, self._report_observer)
                self._lane.drain()
                return Disposable()
            with self._lock:
                self._gap_observers = self._gap_observers + (sink,)

            def dispose() -> None:
                with self._lock:
                    self._gap_observers = tuple(s for s in self._gap_observers if s is not sink)

            subscription = Disposable(dispose)
            bind(subscription)
            return subscription

        return observable(subscribe)

    @property
    def counters(self) -> SequencedCounters:
        """What the stream did so far: delivered, duplicates, backfilled, gaps, missing (seqs
        in gaps), pending (held now), fetching (backfill calls under way)."""
        with self._lock:
            return self._core.counters()

    # ---- observers of events ---------------------------------------------------------------

    def _attach(self, observer: abc.ObserverBase[Any], named: bool = False
                ) -> abc.DisposableBase:
        sink, bind = self._clients[0].sink(observer)
        with self._lock:
            if named:
                self._named = self._named + (sink,)
            else:
                self._observers = self._observers + (sink,)
            starting = len(self._observers) + len(self._named) == 1
            if starting:
                self._generation += 1
                generation = self._generation
                self._apply(self._core.restart(self._now()))
        self._lane.drain()
        if starting:
            self._link(generation)

        def dispose() -> None:
            with self._lock:
                if sink not in self._observers and sink not in self._named:
                    return
                self._observers = tuple(s for s in self._observers if s is not sink)
                self._named = tuple(s for s in self._named if s is not sink)
                links: list[abc.DisposableBase] = []
                if not self._observers and not self._named:
                    links, self._links = self._links, []
                    self._generation += 1
                    self._apply(self._core.stop())
                    self._release_threads()
            for link in links:
                link.dispose()
            self._lane.drain()

        subscription = Disposable(dispose)
        bind(subscription)
        return subscription

    def _link(self, generation: int) -> None:
        """Observe every channel (outside the lock: subscribing may deliver at once)."""
        links: list[abc.DisposableBase] = []
        for index, channel in enumerate(self.channels):
            links.append(channel.state.subscribe(_View(functools.partial(
                self._on_state, generation, index))))
            links.append(channel.interruptions.subscribe(_View(functools.partial(
                self._on_interruption, generation, index))))
            events: Observable[Any] = channel.events() if self.event is None \
                else channel.events(self.event)
            links.append(events.subscribe(_EventObserver(self, index, generation)))
        with self._lock:
            current = generation == self._generation
            if current:
                self._links = links
        if not current:  # every observer left meanwhile
            for link in links:
                link.dispose()

    # ---- inputs --------------------------------------------------------------------------

    def _input(self, generation: int, what: str, *args: Any) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._apply(getattr(self._core, what)(*args, self._now()))
        self._lane.drain()

    def _on_state(self, generation: int, source: int, state: ChannelState) -> None:
        self._input(generation, "source_up", source, state is ChannelState.SUBSCRIBED)

    def _on_interruption(self, generation: int, source: int, notice: object) -> None:
        self._input(generation, "interrupted", source)

    def _event_input(self, generation: int, source: int) -> Callable[[Any], None]:
        """The ``on_next`` of one channel's ``events(event)`` (``events()`` with
        ``event=None``): the hot path of the stream."""
        seq, lock, core, lane = self._seq, self._lock, self._core, self._lane
        post, drain, report = lane.post, lane.drain, self._report_observer
        enter, leave = lane.enter, lane.leave
        deliver, last_name = self._deliver, self._last_name

        def on_next(value: Any) -> None:
            if self.event is None:  # the channel-wide sequence: an Event, the item held
                if value.name.startswith(_PROTOCOL_PREFIXES):
                    return
                data = value.data
            else:
                data = value
            try:
                number = seq(data)
            except Exception as exc:  # noqa: BLE001 - the user's seq function
                self._bad_seq(source, data, f"seq() raised {type(exc).__name__}: "
                              f"{shorten(str(exc))}", exc)
                return
            if type(number) is not int:
                if not isinstance(number, int) or isinstance(number, bool):
                    self._bad_seq(source, data, f"seq() returned {shorten(repr(number))}, "
                                  "not an int")
                    return
                number = int(number)
            lock.acquire()
            if generation != self._generation:
                lock.release()
                return
            if self.event is None:
                last_name[source] = value.name
            if core.in_order(number):  # the common case: next in line, nothing held
                observers, named = self._observers, self._named
                if enter():  # nobody delivers: deliver it here, in order, after the lock
                    lock.release()
                    try:
                        if named:
                            deliver(observers, named, value, source)
                        else:
                            emit_to(observers, data, report)
                    finally:
                        leave()
                    return
                post(deliver, observers, named, value, source)
            else:
                try:
                    self._apply(core.event(source, number, value, self._now()))
                finally:
                    lock.release()
                drain()
                return
            lock.release()
            drain()

        return on_next

    def _deliver(self, observers: tuple[Sink, ...], named: tuple[Sink, ...], item: Any,
                 source: int) -> None:
        """Deliver one held item (an Event for the channel-wide sequence, else the data) to
        the observers of ``events`` and of ``named_events`` (in the lane)."""
        report = self._report_observer
        if self.event is None:
            data, event = item.data, item
        else:
            data, event = item, None
        if observers:
            emit_to(observers, data, report)
        if named:
            if event is None:
                event = Event(self.event or "", self._names[source], data)
            emit_to(named, event, report)

    def _backfilled(self, source: int, data: Any) -> Any:
        """A backfilled item as held: for the channel-wide sequence an Event named as
        :attr:`named_events` says."""
        if self.event is not None:
            return data
        name = data.get("event") if isinstance(data, dict) else None
        if not isinstance(name, str):
            name = self._last_name[source] or ""
        return Event(name, self._names[source], data)

    def _bad_seq(self, source: int, data: Any, why: str,
                 cause: BaseException | None = None) -> None:
        error = ProtocolError(f"{self._what} on {self._names[source]!r} dropped from the "
                              f"sequenced stream: {why}", _describe(data))
        error.__cause__ = cause
        self._clients[source].report(error)

    # ---- effects (lock held) --------------------------------------------------------------

    def _apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            kind = type(effect)
            if kind is Deliver:
                assert isinstance(effect, Deliver)
                self._lane.post(self._deliver, self._observers, self._named, effect.data,
                                effect.source)
            elif kind is Missing:
                assert isinstance(effect, Missing)
                gap = Gap(self._names[effect.source], self.event, effect.first, effect.last,
                          _utcnow())
                self._lane.post(emit_to, self._gap_observers, gap, self._report_observer)
            elif kind is Wake:
                assert isinstance(effect, Wake)
                self._set_wake(effect.at)
            elif kind is Fetch:
                assert isinstance(effect, Fetch)
                self._start_fetch(effect)
            elif kind is Abandon:
                assert isinstance(effect, Abandon)
                token = self._fetches.pop(effect.request, None)
                if token is not None:
                    token.dispose()
            elif kind is End:
                assert isinstance(effect, End)
                self._end(effect.error)

    def _set_wake(self, at: float | None) -> None:
        if at is None:
            self._wake.disposable = Disposable()
            return
        if self._scheduler is None:
            self._scheduler = shared_timers().handle()
        generation = self._generation

        def action(scheduler: abc.SchedulerBase, state: Any = None) -> None:
            self._input(generation, "wake")

        self._wake.disposable = self._scheduler.schedule_relative(
            max(0.0, at - self._now()), action)

    def _start_fetch(self, fetch: Fetch) -> None:
        backfill = self._backfill
        assert backfill is not None
        token = BooleanDisposable()
        self._fetches[fetch.request] = token
        if self._workers is None:
            self._workers = Pool(_WORKERS, "rxpusher-backfill")
        channel = self._names[fetch.source]
        generation = self._generation
        self._workers.submit(lambda: self._run_fetch(backfill, channel, fetch, token, generation))

    def _run_fetch(self, backfill: Backfill | ChannelBackfill, channel: str, fetch: Fetch,
                   token: BooleanDisposable, generation: int) -> None:
        """On a worker thread: call the backfill and hand its answer to the core."""
        after, before = fetch.after, fetch.before
        items: list[tuple[int, Any]] = []
        failure: BackfillError | None = None
        if token.is_disposed:
            return  # timed out or abandoned while it waited for a worker
        try:
            answer = backfill(channel, self.event, after, before)  # type: ignore[arg-type]
            if isinstance(answer, (str, bytes, dict)) or not isinstance(answer, Iterable):
                raise TypeError(f"backfill returned {shorten(repr(answer))}, "
                                "not an iterable of data")
            for data in answer:
                if token.is_disposed:
                    return
                if len(items) >= self._max_answer:
                    break  # bounded: what is left out is reported as a gap
                try:
                    number = self._seq(data)
                except Exception as exc:  # noqa: BLE001 - the user's seq function
                    self._bad_seq(fetch.source, data, f"seq() raised {type(exc).__name__}: "
                                  f"{shorten(str(exc))}", exc)
                    continue
                if not isinstance(number, int) or isinstance(number, bool):
                    self._bad_seq(fetch.source, data, f"seq() returned {shorten(repr(number))}, "
                                  "not an int")
                    continue
                items.append((int(number), self._backfilled(fetch.source, data)))
        except Exception as exc:  # noqa: BLE001 - the user's backfill
            failure = BackfillError(channel, self.event, after, before,
                                    f"{type(exc).__name__}: {shorten(str(exc))}")
            failure.__cause__ = exc
        with self._lock:
            if token.is_disposed or generation != self._generation:
                return  # timed out or abandoned: the core has moved on
            self._fetches.pop(fetch.request, None)
            now = self._now()
            if failure is None:
                self._apply(self._core.fetched(fetch.request, items, now))
            else:
                self._apply(self._core.fetch_failed(fetch.request, now))
        if failure is not None:
            self._clients[fetch.source].report(failure)
        self._lane.drain()

    def _end(self, error: Exception | None) -> None:
        """Every channel ended: end the observers, release the threads (lock held)."""
        observers, self._observers = self._observers + self._named, ()
        self._named = ()
        gap_observers, self._gap_observers = self._gap_observers, ()
        links, self._links = self._links, []
        self._generation += 1
        self._lane.post(end_all, list(observers), error, self._report_observer)
        self._lane.post(end_all, list(gap_observers), None, self._report_observer)
        self._lane.post(_dispose_all, links)
        self._release_threads()

    def _release_threads(self) -> None:
        """No one observes: drop the wake-up, abandon the fetches, stop the workers (their
        idle threads end; one inside a backfill call ends when the call returns)."""
        self._wake.disposable = Disposable()
        for token in self._fetches.values():
            token.dispose()
        self._fetches.clear()
        workers, self._workers = self._workers, None
        if workers is not None:
            workers.close(0.0)
        if self._own_timers and self._scheduler is not None:
            scheduler, self._scheduler = self._scheduler, None
            scheduler.dispose()  # type: ignore[attr-defined]

    def _report_library(self, exc: BaseException) -> None:
        error = InternalError(f"rxpusher failed: {type(exc).__name__}: {shorten(str(exc))}")
        error.__cause__ = exc
        self._report(error)


def _dispose_all(links: list[abc.DisposableBase]) -> None:
    for link in links:
        link.dispose()


class _EventObserver(abc.ObserverBase[Any]):
    """One channel's ``events(event)`` feeding the stream (``on_next`` is the stream's
    closure for that channel, set on the instance: one call less per event)."""

    def __init__(self, feed: Sequenced, source: int, generation: int) -> None:
        self._feed = feed
        self._source = source
        self._generation = generation
        self.on_next = feed._event_input(generation, source)  # type: ignore[assignment]

    def on_next(self, value: Any) -> None:  # replaced per instance in __init__
        raise NotImplementedError

    def on_error(self, error: Exception) -> None:
        self._feed._input(self._generation, "source_ended", self._source, error)

    def on_completed(self) -> None:
        self._feed._input(self._generation, "source_ended", self._source, None)


class _View(abc.ObserverBase[Any]):
    """One channel's ``state`` or ``interruptions``: views whose end is that of its
    ``events`` stream, so only their items matter."""

    __slots__ = ("_on_next",)

    def __init__(self, on_next: Callable[[Any], None]) -> None:
        self._on_next = on_next

    def on_next(self, value: Any) -> None:
        self._on_next(value)

    def on_error(self, error: Exception) -> None:
        pass

    def on_completed(self) -> None:
        pass
