"""The sequencing core of :func:`rxpusher.sequenced`: pure state, no threads, no clock.

It turns numbered events from one or more sources (channels, each on its own connection)
into one stream in which every seq appears once, in order. Its inputs are calls made by
the shell (``_sequenced``) with the time they happen (``now``, seconds on the client's
timer scheduler); each call returns the *effects* the shell must carry out, in order:

- :class:`Deliver`: hand ``data`` (seq ``seq``) to the observers;
- :class:`Missing`: the seqs ``first..last`` will never be delivered (a ``Gap``);
- :class:`Fetch`: call the backfill for ``(after, before)`` and report the answer with
  :meth:`Sequencer.fetched` or :meth:`Sequencer.fetch_failed` quoting ``request``;
- :class:`Abandon`: a fetch timed out or is no longer wanted: drop its answer;
- :class:`Wake`: call :meth:`Sequencer.wake` at time ``at`` (replaces the previous one;
  ``at`` None: no wake-up is needed);
- :class:`End`: every source has ended: complete (``error`` None) or error the stream.

The rules (DESIGN, "Sequenced streams"):

- a seq at or below the last delivered one, or already held, is a duplicate: dropped;
- a seq above the next expected one is held; the *hole* below it waits ``reorder_window``
  counted from the arrival of the held event above it, then is fetched (with a backfill)
  or is a gap (without), the holes due at the same time in one fetch; a fetch is bounded by
  ``backfill_timeout``; what is still missing
  in a fetched range once the answer is in (or the fetch failed) is a gap;
- after an interruption of a source that no other source covered, ``(last, None)`` is
  fetched: live events held meanwhile are merged with the answer (without a backfill, the
  hole below that source's next event is a gap at once);
- the fetch after ``start`` goes out when the stream is observed, usually before any source
  is subscribed: its answer vouches only for the seqs up to its highest one (and up to what
  was held when it was asked), not for live events held meanwhile, which may have been
  published after it answered: a hole below them is fetched like any other; and the first
  subscription fetches ``(last, None)`` once more, since what was published between that
  answer and the subscription reached nobody live (the last seqs before a quiet spell);
- at most ``max_pending`` events are held: beyond that the lowest hole is a gap at once.

Ranges are kept as bounds, never expanded seq by seq, so a jump of a billion costs the
same as a jump of two.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Abandon", "Deliver", "Effect", "End", "Fetch", "Missing", "SequencedCounters", "Sequencer",
    "Wake",
]


@dataclass(frozen=True, slots=True)
class Deliver:
    seq: int
    data: Any
    backfilled: bool
    source: int  # the source it came from (live) or was fetched for (backfilled)


@dataclass(frozen=True, slots=True)
class Missing:
    source: int  # the source whose event or interruption revealed the hole
    first: int
    last: int | None


@dataclass(frozen=True, slots=True)
class Fetch:
    request: int
    source: int
    after: int
    before: int | None


@dataclass(frozen=True, slots=True)
class Abandon:
    request: int


@dataclass(frozen=True, slots=True)
class Wake:
    at: float | None


@dataclass(frozen=True, slots=True)
class End:
    error: Exception | None


Effect = Deliver | Missing | Fetch | Abandon | Wake | End


@dataclass(frozen=True, slots=True)
class SequencedCounters:
    """What a sequenced stream did so far (``Sequenced.counters``)."""

    delivered: int
    """Events delivered (live and backfilled)."""
    duplicates: int
    """Events dropped because their seq was delivered or held already."""
    backfilled: int
    """Delivered events that came from the backfill."""
    gaps: int
    """``Gap`` notices emitted."""
    missing: int
    """Seqs reported missing by those gaps (a gap without a known end counts 0)."""
    pending: int
    """Events held now, waiting for a missing seq below them."""
    fetching: int
    """Backfill calls under way now."""


class _Held:
    __slots__ = ("data", "arrived", "backfilled", "source")

    def __init__(self, data: Any, arrived: float, backfilled: bool, source: int) -> None:
        self.data = data
        self.arrived = arrived
        self.backfilled = backfilled
        self.source = source


class _Source:
    __slots__ = ("up", "up_since", "down_at", "ended", "error")

    def __init__(self) -> None:
        self.up = False
        self.up_since: float | None = None
        self.down_at: float | None = None
        self.ended = False
        self.error: Exception | None = None


class _Request:
    __slots__ = ("source", "after", "before", "deadline", "live", "held_then")

    def __init__(self, source: int, after: int, before: int | None, deadline: float,
                 live: bool, held_then: int | None) -> None:
        self.source = source
        self.after = after
        self.before = before
        self.deadline = deadline
        self.live = live
        """A source was subscribed when it was asked: each live event held meanwhile was
        published before the call, so an ``(after, None)`` answer is complete up to the
        highest seq held when it is in."""
        self.held_then = held_then
        """The highest seq held when it was asked. Asked while no source was subscribed (the
        fetch after ``start``, before the channels are up), an ``(after, None)`` answer is
        complete up to there only: an event received later may have been published after
        the backfill answered, and so may the seqs below it (they are fetched, no gap)."""

    def complete_to(self, held: dict[int, Any]) -> int | None:
        """Up to where the answer is complete, once it is in (None: nothing above ``after``)."""
        if self.before is not None:
            return self.before
        if self.live:
            return max(held, default=None)
        return self.held_then

    def covers(self, low: int, high: int) -> bool:
        """True when the hole strictly between ``low`` and ``high`` lies in this range."""
        return self.after <= low and (self.before is None or high <= self.before)


class Sequencer:
    """One sequenced stream's state; see the module docstring. Not thread-safe: the shell
    calls it under its lock."""

    def __init__(self, sources: int, *, backfill: bool, reorder_window: float,
                 backfill_timeout: float, max_pending: int, start: int | None) -> None:
        if sources < 1:
            raise ValueError("at least one source is needed")
        self._sources = [_Source() for _ in range(sources)]
        self._backfill = backfill
        self._window = reorder_window
        self._timeout = backfill_timeout
        self._max_pending = max_pending
        self.last: int | None = start
        """The last seq delivered (or skipped as a gap); None before the first event."""
        self._start_fetch_due = backfill and start is not None  # until its answer is in
        self._start_request: int | None = None
        # The start fetch goes out before the channels are subscribed: what is published
        # after it answered and before a subscription succeeds reaches nobody live, so the
        # first subscription asks again (last, None), like after an interruption.
        self._catch_up_due = self._start_fetch_due  # until its answer is in
        self._catch_up_request: int | None = None
        self._held: dict[int, _Held] = {}
        self._heap: list[int] = []  # the held seqs; the smallest is always removed first
        self._requests: dict[int, _Request] = {}
        self._next_request = 0
        self._resolved: list[tuple[int, int]] = []  # (after, before): fetched, what is left is lost
        self._wake: float | None = None
        self._watch: set[int] = set()  # interrupted sources, without backfill: next seq?
        self._ended = False
        self._last_error: Exception | None = None
        self.delivered = 0
        self.duplicates = 0
        self.backfilled = 0
        self.gaps = 0
        self.missing = 0

    # ---- reading ---------------------------------------------------------------------------

    def counters(self) -> SequencedCounters:
        return SequencedCounters(self.delivered, self.duplicates, self.backfilled, self.gaps,
                        self.missing, len(self._held), len(self._requests))

    @property
    def ended(self) -> bool:
        return self._ended

    # ---- inputs ------------------------------------------------------------------------------

    def in_order(self, seq: int) -> bool:
        """The fast path of :meth:`event`: when ``seq`` is the next one and nothing is held,
        count it delivered and return True (the caller delivers it); else change nothing
        and return False (the caller calls :meth:`event`)."""
        last = self.last
        if (last is not None and seq != last + 1) or self._heap or self._watch or self._ended:
            return False
        self.last = seq
        self.delivered += 1
        return True

    def event(self, source: int, seq: int, data: Any, now: float) -> list[Effect]:
        """A live event from ``source``."""
        if self._ended:
            return []
        last = self.last
        jumped = False
        if self._watch and source in self._watch:
            self._watch.discard(source)  # the first event after an interruption
            if last is not None and seq > last + 1:
                self._resolved.append((last, seq))  # what was published meanwhile is lost
                jumped = True
        if last is None or (seq == last + 1 and not self._heap):  # the common case
            self.last = seq
            self.delivered += 1
            return [Deliver(seq, data, False, source)]
        if seq <= last or seq in self._held:
            self.duplicates += 1
            return []
        effects: list[Effect] = []
        self._hold(seq, _Held(data, now, False, source))
        if seq == last + 1 or jumped:
            self._flush(effects, now)
        else:
            self._arm(now + self._window, effects)
        self._bound(effects, now)
        return effects

    def source_up(self, source: int, up: bool, now: float) -> list[Effect]:
        """``source`` became subscribed (``up``) or stopped being subscribed."""
        state = self._sources[source]
        effects: list[Effect] = []
        if up and not state.up:
            state.up, state.up_since = True, now
            if self._catch_up_due and self._catch_up_request is None \
                    and self.last is not None and not self._ended:
                self._catch_up_request = self._next_request
                self._fetch(source, self.last, None, now, effects)
        elif not up and state.up:
            state.up, state.down_at = False, now
        return effects

    def interrupted(self, source: int, now: float) -> list[Effect]:
        """``source`` was subscribed again after its connection was lost: fetch what was
        published meanwhile (without a backfill: its next event shows what is lost)."""
        if self.last is None or self._ended:
            return []
        lost_at = self._sources[source].down_at
        for index, other in enumerate(self._sources):
            if index != source and other.up and other.up_since is not None \
                    and lost_at is not None and other.up_since <= lost_at:
                return []  # another connection was up all along: it covered the outage
        if not self._backfill:
            self._watch.add(source)
            return []
        effects: list[Effect] = []
        self._fetch(source, self.last, None, now, effects)
        return effects

    def fetched(self, request: int, items: Iterable[tuple[int, Any]], now: float) -> list[Effect]:
        """The answer of fetch ``request``: ``(seq, data)`` pairs in any order."""
        fetch = self._requests.pop(request, None)
        if fetch is None or self._ended:
            return []  # timed out, abandoned or ended meanwhile: too late
        self._answered(request)
        effects: list[Effect] = []
        after, before = fetch.after, fetch.before
        answered: int | None = None
        for seq, data in items:
            if seq <= after or (before is not None and seq >= before):
                continue  # outside what was asked for
            answered = seq if answered is None else max(answered, seq)
            last = self.last
            if (last is not None and seq <= last) or seq in self._held:
                self.duplicates += 1
                continue
            self._hold(seq, _Held(data, now, True, fetch.source))
        complete = fetch.complete_to(self._held)
        if before is None and answered is not None:  # and it has everything below its last
            complete = answered if complete is None else max(complete, answered)
        self._resolve(after, complete, effects, now)
        return effects

    def fetch_failed(self, request: int, now: float) -> list[Effect]:
        """Fetch ``request`` raised (or answered something unusable)."""
        fetch = self._requests.pop(request, None)
        if fetch is None or self._ended:
            return []
        self._answered(request)
        effects: list[Effect] = []
        self._resolve(fetch.after, fetch.complete_to(self._held), effects, now)
        return effects

    def wake(self, now: float) -> list[Effect]:
        """The time asked for by the last :class:`Wake` has come."""
        if self._ended:
            return []
        self._wake = None
        effects: list[Effect] = []
        for request, fetch in list(self._requests.items()):
            if fetch.deadline <= now:  # timed out: what it was to bring is lost
                del self._requests[request]
                self._answered(request)
                effects.append(Abandon(request))
                self._resolve(fetch.after, fetch.complete_to(self._held), effects, now,
                              rearm=False)
        self._flush(effects, now)
        if self._backfill:
            due = [(low, high, held) for low, high, held in self._holes()
                   if held.arrived + self._window <= now and not self._covered(low, high)]
            if due:  # one call for every hole due now (what is held in between is dropped)
                self._fetch(due[0][2].source, due[0][0], due[-1][1], now, effects)
        self._rearm(effects, now)
        return effects

    def source_ended(self, source: int, error: Exception | None, now: float) -> list[Effect]:
        """``source``'s stream completed (client closed, channel left) or errored."""
        state = self._sources[source]
        if state.ended or self._ended:
            return []
        state.ended, state.error, state.up = True, error, False
        if error is not None:
            self._last_error = error
        if not all(s.ended for s in self._sources):
            return []
        return self._finish(now)

    def restart(self, now: float) -> list[Effect]:
        """The stream is observed again after :meth:`stop` or an end (``retry()``)."""
        self._ended = False
        for state in self._sources:
            state.ended, state.error, state.up = False, None, False
        self._last_error = None
        effects: list[Effect] = []
        if self._start_fetch_due and self.last is not None:
            self._start_request = self._next_request  # start + 1 .. up to now, at once
            self._fetch(0, self.last, None, now, effects)
        self._flush(effects, now)
        self._rearm(effects, now)
        return effects

    def stop(self) -> list[Effect]:
        """Nobody observes the stream any more: abandon the fetches and the wake-up; what
        is held stays held for a later :meth:`restart`."""
        effects: list[Effect] = [Abandon(r) for r in self._requests]
        self._requests.clear()
        self._catch_up_request = None  # asked again at the next subscription
        if self._wake is not None:
            self._wake = None
            effects.append(Wake(None))
        return effects

    # ---- the rules -------------------------------------------------------------------------------

    def _answered(self, request: int) -> None:
        """Fetch ``request`` is over (answered, failed or timed out)."""
        if request == self._start_request:
            self._start_fetch_due = False
        if request == self._catch_up_request:
            self._catch_up_due = False

    def _hold(self, seq: int, held: _Held) -> None:
        self._held[seq] = held
        heapq.heappush(self._heap, seq)

    def _deliver_lowest(self, effects: list[Effect]) -> None:
        seq = heapq.heappop(self._heap)
        held = self._held.pop(seq)
        self.last = seq
        self.delivered += 1
        if held.backfilled:
            self.backfilled += 1
        effects.append(Deliver(seq, held.data, held.backfilled, held.source))

    def _gap(self, source: int, first: int, last: int | None, effects: list[Effect]) -> None:
        self.gaps += 1
        if last is not None:
            self.missing += last - first + 1
        effects.append(Missing(source, first, last))

    def _flush(self, effects: list[Effect], now: float) -> None:
        """Deliver what is in order; skip (as a gap) each hole known to be lost."""
        heap = self._heap
        while heap:
            lowest = heap[0]
            last = self.last
            if last is None or lowest == last + 1:
                self._deliver_lowest(effects)
            elif self._lost(last, lowest, now):
                self._gap(self._held[lowest].source, last + 1, lowest - 1, effects)
                self.last = lowest - 1
            else:
                break
        if self.last is not None:
            floor = self.last
            self._resolved = [r for r in self._resolved if r[1] > floor + 1]

    def _lost(self, low: int, high: int, now: float) -> bool:
        """Is the hole strictly between ``low`` and ``high`` known to be lost?"""
        for after, before in self._resolved:
            if after <= low and high <= before:
                return True
        if self._backfill:
            return False
        return self._held[high].arrived + self._window <= now

    def _covered(self, low: int, high: int) -> bool:
        return any(fetch.covers(low, high) for fetch in self._requests.values())

    def _holes(self) -> list[tuple[int, int, _Held]]:
        """Every hole among the held events: (seq below, held seq above, the event above)."""
        holes: list[tuple[int, int, _Held]] = []
        below = self.last
        if below is None:
            return holes
        for seq in sorted(self._held):
            if seq > below + 1:
                holes.append((below, seq, self._held[seq]))
            below = seq
        return holes

    def _fetch(self, source: int, after: int, before: int | None, now: float,
               effects: list[Effect]) -> None:
        request = self._next_request
        self._next_request += 1
        live = any(state.up for state in self._sources)
        self._requests[request] = _Request(source, after, before, now + self._timeout, live,
                                           max(self._held, default=None))
        effects.append(Fetch(request, source, after, before))
        self._arm(now + self._timeout, effects)

    def _resolve(self, after: int, before: int | None, effects: list[Effect], now: float,
                 rearm: bool = True) -> None:
        """A fetch is over, complete in ``(after, before)``: what is still missing there is
        lost (``before`` None: nothing above ``after`` is known lost)."""
        if before is not None and before > after + 1:
            self._resolved.append((after, before))
        self._flush(effects, now)
        if rearm:
            self._rearm(effects, now)

    def _bound(self, effects: list[Effect], now: float) -> None:
        """At most ``max_pending`` held: the lowest hole becomes a gap."""
        while len(self._held) > self._max_pending:
            lowest = self._heap[0]
            last = self.last
            assert last is not None and lowest > last + 1
            self._gap(self._held[lowest].source, last + 1, lowest - 1, effects)
            self.last = lowest - 1
            self._flush(effects, now)

    def _arm(self, at: float, effects: list[Effect]) -> None:
        if self._wake is None or at < self._wake:
            self._wake = at
            effects.append(Wake(at))

    def _rearm(self, effects: list[Effect], now: float) -> None:
        """Compute the next wake-up from scratch: the earliest fetch deadline or hole that
        still waits for its reorder window. Without a backfill a hole whose window is over
        waits for the holes below it (it is a gap when delivery reaches it); with one it
        is fetched at the next wake-up (at once)."""
        at: float | None = None
        for fetch in self._requests.values():
            at = fetch.deadline if at is None else min(at, fetch.deadline)
        for low, high, held in self._holes():
            if not self._covered(low, high):
                due = held.arrived + self._window
                if due <= now:
                    if not self._backfill:
                        continue
                    due = now
                at = due if at is None else min(at, due)
        if at != self._wake:
            self._wake = at
            effects.append(Wake(at))

    def _finish(self, now: float) -> list[Effect]:
        """Every source ended: deliver what is held (the holes are gaps) and end."""
        effects: list[Effect] = [Abandon(r) for r in self._requests]
        self._requests.clear()
        while self._heap:
            lowest = self._heap[0]
            last = self.last
            if last is not None and lowest > last + 1:
                self._gap(self._held[lowest].source, last + 1, lowest - 1, effects)
                self.last = lowest - 1
            self._deliver_lowest(effects)
        self._resolved.clear()
        self._watch.clear()
        if self._wake is not None:
            self._wake = None
            effects.append(Wake(None))
        self._ended = True
        failed = all(s.error is not None for s in self._sources)
        effects.append(End(self._last_error if failed else None))
        return effects

