"""The pure sequencing core (``rxpusher._sequencing``) in virtual time: its inputs are
calls with the time they happen, its outputs the effects the shell carries out."""

from __future__ import annotations

from typing import Any

import pytest

from rxpusher._sequencing import Abandon, Deliver, End, Fetch, Missing, Sequencer, Wake


class Driver:
    """Runs a :class:`Sequencer` on a virtual clock: records deliveries, gaps and fetches,
    and calls ``wake`` when the clock passes the wake-up the core asked for."""

    def __init__(self, sources: int = 1, *, backfill: bool = False, window: float = 0.5,
                 timeout: float = 10.0, max_pending: int = 10_000, start: int | None = None) -> None:
        self.core = Sequencer(sources, backfill=backfill, reorder_window=window,
                              backfill_timeout=timeout, max_pending=max_pending, start=start)
        self.now = 0.0
        self.wake_at: float | None = None
        self.delivered: list[int] = []
        self.data: list[Any] = []
        self.backfilled: list[int] = []
        self.gaps: list[tuple[int, int | None]] = []
        self.gap_sources: list[int] = []
        self.gap_times: list[float] = []
        self.fetches: dict[int, Fetch] = {}
        self.abandoned: list[int] = []
        self.ended: list[Exception | None] = []

    def apply(self, effects: list[Any]) -> None:
        for effect in effects:
            if isinstance(effect, Deliver):
                self.delivered.append(effect.seq)
                self.data.append(effect.data)
                if effect.backfilled:
                    self.backfilled.append(effect.seq)
            elif isinstance(effect, Missing):
                self.gaps.append((effect.first, effect.last))
                self.gap_sources.append(effect.source)
                self.gap_times.append(self.now)
            elif isinstance(effect, Fetch):
                self.fetches[effect.request] = effect
            elif isinstance(effect, Abandon):
                self.abandoned.append(effect.request)
            elif isinstance(effect, Wake):
                self.wake_at = effect.at
            elif isinstance(effect, End):
                self.ended.append(effect.error)

    def send(self, *seqs: int, source: int = 0) -> None:
        for seq in seqs:
            self.apply(self.core.event(source, seq, {"seq": seq}, self.now))

    def advance(self, seconds: float) -> None:
        """Move the clock, waking the core at each due time on the way (as timers would)."""
        until = self.now + seconds
        while self.wake_at is not None and self.wake_at <= until:
            self.now = max(self.now, self.wake_at)
            self.wake_at = None
            self.apply(self.core.wake(self.now))
        self.now = until

    def answer(self, request: int, *seqs: int) -> None:
        self.apply(self.core.fetched(request, [(s, {"seq": s}) for s in seqs], self.now))

    def fail(self, request: int) -> None:
        self.apply(self.core.fetch_failed(request, self.now))

    def only_fetch(self) -> Fetch:
        pending = [f for r, f in self.fetches.items() if r not in self.abandoned]
        assert len(pending) == 1, pending
        return pending[0]


def test_in_order_events_are_delivered_at_once_without_timers() -> None:
    d = Driver()
    d.send(1, 2, 3)
    assert d.delivered == [1, 2, 3] and d.wake_at is None and d.gaps == []


def test_delivery_starts_at_the_first_event_received() -> None:
    d = Driver()
    d.send(41, 42)
    assert d.delivered == [41, 42]


def test_duplicates_are_dropped_and_counted() -> None:
    d = Driver()
    d.send(1, 2, 2, 1, 4, 4, 3)
    assert d.delivered == [1, 2, 3, 4]
    assert d.core.counters().duplicates == 3


def test_an_out_of_order_event_waits_for_the_missing_one_within_the_window() -> None:
    d = Driver(window=0.5)
    d.send(1, 3)
    assert d.delivered == [1] and d.wake_at == 0.5
    d.advance(0.4)
    d.send(2)
    assert d.delivered == [1, 2, 3] and d.gaps == []
    d.advance(1.0)
    assert d.gaps == []


def test_without_backfill_a_hole_is_a_gap_exactly_when_the_window_ends() -> None:
    d = Driver(window=0.5)
    d.send(1, 2)
    d.advance(0.1)
    d.send(5, 6)
    d.advance(0.49)
    assert d.delivered == [1, 2] and d.gaps == []
    d.advance(0.01)
    assert d.gaps == [(3, 4)] and d.delivered == [1, 2, 5, 6]
    d.send(3, 4)  # too late: below the last delivered
    assert d.delivered == [1, 2, 5, 6] and d.core.counters().duplicates == 2
    assert d.core.counters().gaps == 1 and d.core.counters().missing == 2


def test_each_hole_waits_its_own_window_from_the_event_above_it() -> None:
    d = Driver(window=1.0)
    d.send(1, 3)          # hole 2, due at 1.0
    d.advance(0.5)
    d.send(6)             # hole 4..5, due at 1.5
    d.advance(0.5)
    assert d.gaps == [(2, 2)] and d.delivered == [1, 3]
    d.advance(0.4)
    d.send(4)             # fills part: hole 5 now waits from 6's arrival (0.5) -> 1.5
    assert d.delivered == [1, 3, 4]
    d.advance(0.1)
    assert d.gaps == [(2, 2), (5, 5)] and d.delivered == [1, 3, 4, 6]


def test_a_zero_window_makes_a_gap_at_the_next_wake_up() -> None:
    d = Driver(window=0.0)
    d.send(1, 3)
    d.advance(0)
    assert d.gaps == [(2, 2)] and d.delivered == [1, 3]


def test_with_backfill_the_hole_is_fetched_after_the_window_and_merged_in_order() -> None:
    d = Driver(backfill=True, window=0.5)
    d.send(10, 14, 15)
    d.advance(0.5)
    fetch = d.only_fetch()
    assert (fetch.after, fetch.before) == (10, 14)
    d.send(16)  # live events keep arriving while the fetch runs: held
    assert d.delivered == [10]
    d.answer(fetch.request, 13, 11, 12, 9, 14, 99)  # any order; outside (10, 14) ignored
    assert d.delivered == [10, 11, 12, 13, 14, 15, 16]
    assert d.backfilled == [11, 12, 13] and d.gaps == []
    c = d.core.counters()
    assert c.backfilled == 3 and c.delivered == 7 and c.fetching == 0 and c.pending == 0


def test_what_the_backfill_does_not_return_is_one_gap_with_the_exact_bounds() -> None:
    d = Driver(backfill=True)
    d.send(1, 2, 8)
    d.advance(0.5)
    fetch = d.only_fetch()
    d.answer(fetch.request, 3, 4)
    assert d.gaps == [(5, 7)] and d.delivered == [1, 2, 3, 4, 8]


def test_a_failed_backfill_is_one_gap_with_the_exact_bounds() -> None:
    d = Driver(backfill=True)
    d.send(1, 2, 8, 9)
    d.advance(0.5)
    d.fail(d.only_fetch().request)
    assert d.gaps == [(3, 7)] and d.delivered == [1, 2, 8, 9]


def test_a_backfill_that_overruns_its_timeout_is_abandoned_and_a_gap() -> None:
    d = Driver(backfill=True, window=0.5, timeout=2.0)
    d.send(1, 5)
    d.advance(0.5)
    fetch = d.only_fetch()
    d.advance(1.99)
    assert d.gaps == [] and d.abandoned == []
    d.advance(0.01)
    assert d.abandoned == [fetch.request] and d.gaps == [(2, 4)] and d.delivered == [1, 5]
    d.answer(fetch.request, 2, 3, 4)  # the late answer changes nothing
    assert d.delivered == [1, 5] and d.gaps == [(2, 4)]


def test_nothing_waits_longer_than_the_window_plus_the_backfill_timeout() -> None:
    d = Driver(backfill=True, window=0.5, timeout=3.0)
    d.send(1, 3)            # hole 2 at t=0
    d.advance(0.25)
    d.send(5)               # hole 4 at t=0.25, while the first is not fetched yet
    d.advance(0.5)          # both fetched (each after its own window)
    assert sorted((f.after, f.before) for f in d.fetches.values()) == [(1, 3), (3, 5)]
    d.advance(5)
    assert d.gaps == [(2, 2), (4, 4)] and d.delivered == [1, 3, 5]
    assert d.gap_times == [0.5 + 3.0, 0.25 + 0.5 + 3.0]  # each at its own bound


def test_the_holes_due_at_the_same_time_are_one_fetch() -> None:
    d = Driver(backfill=True, window=0.5)
    d.send(1, *range(3, 2001, 2))   # a thousand holes: 2, 4, 6, ...
    d.advance(0.5)
    fetch = d.only_fetch()
    assert (fetch.after, fetch.before) == (1, 1999)
    d.answer(fetch.request, *range(1, 2001))   # everything: what is held is dropped
    assert d.delivered == list(range(1, 2000)) and d.gaps == []


def test_a_hole_filled_live_while_its_fetch_runs_needs_nothing_from_the_answer() -> None:
    d = Driver(backfill=True)
    d.send(1, 3)
    d.advance(0.5)
    fetch = d.only_fetch()
    d.send(2)
    assert d.delivered == [1, 2, 3]
    d.answer(fetch.request, 2)
    assert d.delivered == [1, 2, 3] and d.core.counters().duplicates == 1 and d.gaps == []


def test_at_most_max_pending_events_are_held_then_the_lowest_hole_is_a_gap() -> None:
    d = Driver(backfill=True, max_pending=3)
    d.send(1, 5, 6, 7)
    assert d.delivered == [1] and d.core.counters().pending == 3
    d.send(9)  # a fourth held event: hole 2..4 is given up at once
    assert d.gaps == [(2, 4)] and d.delivered == [1, 5, 6, 7]
    assert d.core.counters().pending == 1


def test_the_bound_holds_for_a_flood_far_above_a_hole() -> None:
    d = Driver(max_pending=100)
    d.send(1)
    d.send(*range(3, 1_000))
    assert d.core.counters().pending <= 100
    assert d.gaps == [(2, 2)] and d.delivered == [1] + list(range(3, 1_000))


def test_a_huge_jump_is_one_gap_not_a_billion_of_anything() -> None:
    d = Driver()
    d.send(1, 10**12)
    d.advance(0.5)
    assert d.gaps == [(2, 10**12 - 1)] and d.core.counters().missing == 10**12 - 2


def test_start_skips_what_the_snapshot_holds_and_backfills_after_it_at_once() -> None:
    d = Driver(backfill=True, start=100)
    d.apply(d.core.restart(d.now))  # the first observer
    fetch = d.only_fetch()
    d.send(99, 100)                # in the snapshot already
    assert d.delivered == [] and d.core.counters().duplicates == 2
    assert (fetch.after, fetch.before) == (100, None)
    d.send(104)                    # live while the fetch runs: held
    d.answer(fetch.request, 101, 102, 103)
    assert d.delivered == [101, 102, 103, 104] and d.gaps == []


def test_a_start_fetch_answered_before_the_channel_was_up_does_not_vouch_for_later_seqs() -> None:
    # The bridge's restart: the feed is observed (the start fetch goes out) before the
    # channel is subscribed. The backfill answers up to 12; 13..15 are published before the
    # subscription succeeds (nobody receives them live), 16 after it, and 16 is held before
    # the answer is in. 13..15 are fetched, not a gap.
    d = Driver(backfill=True, start=10)
    d.apply(d.core.restart(d.now))
    start = d.only_fetch()
    assert (start.after, start.before) == (10, None)
    d.apply(d.core.source_up(0, True, d.now))
    catch_up = d.fetches[max(d.fetches)]
    assert catch_up is not start and (catch_up.after, catch_up.before) == (10, None)
    d.send(16)
    d.answer(start.request, 11, 12)
    assert d.delivered == [11, 12] and d.gaps == []
    d.answer(catch_up.request, 11, 12, 13, 14, 15)
    assert d.delivered == list(range(11, 17)) and d.gaps == []


def test_a_start_fetch_whose_catch_up_fails_fetches_the_hole_below_a_live_event() -> None:
    d = Driver(backfill=True, start=10)
    d.apply(d.core.restart(d.now))
    start = d.only_fetch()
    d.apply(d.core.source_up(0, True, d.now))
    d.fail(max(d.fetches))         # the catch-up (asked while subscribed) fails
    d.send(16)
    d.answer(start.request, 11, 12)
    assert d.delivered == [11, 12] and d.gaps == []
    d.advance(0.5)                 # the hole below 16 waits its reorder window
    hole = d.fetches[max(d.fetches)]
    assert len(d.fetches) == 3 and (hole.after, hole.before) == (12, 16)
    d.answer(hole.request, 13, 14, 15)
    assert d.delivered == list(range(11, 17)) and d.gaps == []


def test_the_first_subscription_after_start_fetches_what_was_published_before_it() -> None:
    # The bridge's restart just before the publisher goes quiet: the start fetch answers up
    # to 12, 13 and 14 are published before the subscription succeeds and nothing after.
    # Nothing live would ever show that 13 and 14 exist: the subscription asks again.
    d = Driver(backfill=True, start=10)
    d.apply(d.core.restart(d.now))
    d.answer(d.only_fetch().request, 11, 12)
    d.apply(d.core.source_up(0, True, 1.0))
    catch_up = d.fetches[max(d.fetches)]
    assert len(d.fetches) == 2 and (catch_up.after, catch_up.before) == (12, None)
    d.answer(catch_up.request, 13, 14)
    assert d.delivered == [11, 12, 13, 14] and d.gaps == []
    d.apply(d.core.source_up(0, False, 2.0))
    d.apply(d.core.source_up(0, True, 3.0))  # a later subscription: not asked again
    assert len(d.fetches) == 2


def test_the_catch_up_fetch_abandoned_by_stop_is_asked_again_at_the_next_subscription() -> None:
    d = Driver(backfill=True, start=10)
    d.apply(d.core.restart(0.0))
    d.answer(d.only_fetch().request, 11)
    d.apply(d.core.source_up(0, True, 0.5))
    first = d.fetches[max(d.fetches)]
    d.apply(d.core.stop())
    d.apply(d.core.restart(1.0))
    d.apply(d.core.source_up(0, True, 1.5))
    again = d.fetches[max(d.fetches)]
    assert again.request != first.request and (again.after, again.before) == (11, None)


def test_a_start_fetch_is_complete_up_to_what_it_answered_and_what_was_held_when_asked() -> None:
    d = Driver(backfill=True, start=10)
    d.send(14)                     # held before the feed asks (no source up yet)
    d.apply(d.core.restart(d.now))
    start = d.only_fetch()
    d.apply(d.core.source_up(0, True, d.now))
    catch_up = d.fetches[max(d.fetches)]
    d.send(20)
    d.answer(start.request, 11, 13, 16)  # 12 and 15 are not in the backfill: lost
    assert d.gaps == [(12, 12), (15, 15)] and d.delivered == [11, 13, 14, 16]
    d.answer(catch_up.request, 17, 18, 19)
    assert d.delivered == [11, 13, 14, 16, 17, 18, 19, 20]


def test_a_start_fetch_abandoned_by_stop_is_made_again_at_restart() -> None:
    d = Driver(backfill=True, start=10)
    d.apply(d.core.restart(0.0))
    first = d.only_fetch()
    d.apply(d.core.stop())
    d.apply(d.core.restart(1.0))
    second = d.only_fetch()
    assert second.request != first.request and (second.after, second.before) == (10, None)
    d.answer(second.request, 11)
    d.apply(d.core.stop())
    d.apply(d.core.restart(2.0))
    assert d.only_fetch() is second and d.delivered == [11]   # done: not fetched again


def test_start_without_backfill_delivers_from_start_plus_one() -> None:
    d = Driver(start=5)
    d.send(6, 7)
    assert d.delivered == [6, 7]


def test_an_interruption_fetches_up_to_now_and_merges_the_live_events() -> None:
    d = Driver(backfill=True)
    d.apply(d.core.source_up(0, True, 0.0))
    d.send(1, 2, 3)
    d.apply(d.core.source_up(0, False, 1.0))
    d.now = 5.0
    d.apply(d.core.source_up(0, True, 5.0))
    d.apply(d.core.interrupted(0, 5.0))
    fetch = d.only_fetch()
    assert (fetch.after, fetch.before) == (3, None)
    d.send(9, 10)                   # live, after the outage
    d.advance(0.5)                  # the window passes: covered by the fetch, no new one
    assert len(d.fetches) == 1
    d.answer(fetch.request, 4, 5, 6, 7, 8, 9)  # overlaps the live 9
    assert d.delivered == list(range(1, 11)) and d.gaps == []
    assert d.core.counters().duplicates == 1 and d.backfilled == [4, 5, 6, 7, 8]


def test_an_interruption_answer_that_misses_some_is_a_gap_below_the_live_events() -> None:
    d = Driver(backfill=True)
    d.apply(d.core.source_up(0, True, 0.0))
    d.send(1)
    d.apply(d.core.source_up(0, False, 1.0))
    d.apply(d.core.source_up(0, True, 2.0))
    d.apply(d.core.interrupted(0, 2.0))
    d.send(7)
    d.answer(d.only_fetch().request, 2, 3)
    assert d.gaps == [(4, 6)] and d.delivered == [1, 2, 3, 7]


def test_an_interruption_whose_fetch_fails_with_nothing_held_is_no_gap_yet() -> None:
    d = Driver(backfill=True)
    d.apply(d.core.source_up(0, True, 0.0))
    d.send(1)
    d.apply(d.core.interrupted(0, 1.0))
    d.fail(d.only_fetch().request)
    assert d.gaps == []
    d.send(2)  # nothing was missed after all
    assert d.delivered == [1, 2] and d.gaps == []


def test_without_backfill_the_hole_below_the_first_event_after_an_interruption_is_a_gap_at_once() -> None:
    d = Driver()
    d.send(1)
    d.apply(d.core.interrupted(0, 0.0))
    assert d.fetches == {}
    d.send(5)
    assert d.gaps == [(2, 4)] and d.delivered == [1, 5]
    d.send(7)                     # later holes wait for their window again
    assert d.gaps == [(2, 4)]
    d.advance(0.5)
    assert d.gaps == [(2, 4), (6, 6)]


def test_without_backfill_an_interruption_that_missed_nothing_is_no_gap() -> None:
    d = Driver()
    d.send(1)
    d.apply(d.core.interrupted(0, 0.0))
    d.send(2, 4)
    assert d.gaps == [] and d.delivered == [1, 2]
    d.advance(0.5)
    assert d.gaps == [(3, 3)]


def test_two_sources_merge_into_one_stream_each_seq_once() -> None:
    d = Driver(2)
    d.send(1, 2, 3, source=0)
    d.send(1, 2, 3, 4, source=1)
    d.send(4, 5, source=0)
    d.send(5, source=1)
    assert d.delivered == [1, 2, 3, 4, 5]
    assert d.core.counters().duplicates == 5 and d.gaps == []


def test_a_loss_on_one_source_covered_by_the_other_is_no_gap_and_no_fetch() -> None:
    d = Driver(2, backfill=True)
    d.apply(d.core.source_up(0, True, 0.0))
    d.apply(d.core.source_up(1, True, 0.0))
    d.send(1, 2, source=0)
    d.send(1, 2, source=1)
    d.apply(d.core.source_up(0, False, 1.0))      # source 0's connection is lost
    d.send(3, 4, 5, source=1)                     # source 1 goes on
    d.apply(d.core.source_up(0, True, 3.0))
    d.apply(d.core.interrupted(0, 3.0))           # covered by source 1: no fetch
    d.send(6, source=0)
    d.send(6, source=1)
    d.advance(5)
    assert d.delivered == [1, 2, 3, 4, 5, 6] and d.fetches == {} and d.gaps == []


def test_an_interruption_is_fetched_when_the_other_source_was_down_too() -> None:
    d = Driver(2, backfill=True)
    d.apply(d.core.source_up(0, True, 0.0))
    d.apply(d.core.source_up(1, True, 0.0))
    d.send(1, source=0)
    d.apply(d.core.source_up(0, False, 1.0))
    d.apply(d.core.source_up(1, False, 1.5))
    d.apply(d.core.source_up(1, True, 2.0))     # source 1 came back after 0 was lost
    d.apply(d.core.source_up(0, True, 3.0))
    d.apply(d.core.interrupted(0, 3.0))
    assert (d.only_fetch().after, d.only_fetch().before) == (1, None)


def test_the_stream_ends_when_every_source_ended_delivering_what_is_held() -> None:
    d = Driver(2)
    d.send(1, 2, 5)
    d.apply(d.core.source_ended(0, None, 0.1))
    assert d.ended == []
    d.apply(d.core.source_ended(1, None, 0.2))
    assert d.gaps == [(3, 4)] and d.delivered == [1, 2, 5] and d.ended == [None]
    assert d.wake_at is None
    d.send(6)
    assert d.delivered == [1, 2, 5]


def test_one_failed_source_of_two_completes_the_stream_the_only_one_errors_it() -> None:
    failure = RuntimeError("refused")
    d = Driver(2)
    d.apply(d.core.source_ended(0, failure, 0.0))
    d.send(1, source=1)
    assert d.delivered == [1]
    d.apply(d.core.source_ended(1, None, 0.0))
    assert d.ended == [None]
    alone = Driver(1)
    alone.apply(alone.core.source_ended(0, failure, 0.0))
    assert alone.ended == [failure]


def test_ending_abandons_the_fetches_under_way() -> None:
    d = Driver(backfill=True)
    d.send(1, 3)
    d.advance(0.5)
    fetch = d.only_fetch()
    d.apply(d.core.source_ended(0, None, 1.0))
    assert d.abandoned == [fetch.request] and d.gaps == [(2, 2)] and d.delivered == [1, 3]
    d.answer(fetch.request, 2)
    assert d.delivered == [1, 3]


def test_stop_abandons_fetches_and_restart_fetches_the_holes_again() -> None:
    d = Driver(backfill=True)
    d.send(1, 3)
    d.advance(0.5)
    first = d.only_fetch()
    d.apply(d.core.stop())
    assert d.abandoned == [first.request] and d.wake_at is None
    d.now = 10.0
    d.apply(d.core.restart(d.now))
    d.advance(0)
    second = d.only_fetch()
    assert second.request != first.request and (second.after, second.before) == (1, 3)


@pytest.mark.parametrize("order", [[3, 1, 2], [2, 3, 1], [1, 3, 2]])
def test_any_arrival_order_within_the_window_is_delivered_in_seq_order(order: list[int]) -> None:
    d = Driver(2)
    d.send(0)
    for i, seq in enumerate(order):
        d.send(seq, source=i % 2)
    assert d.delivered == [0, 1, 2, 3] and d.gaps == []
