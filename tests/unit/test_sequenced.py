"""``rxpusher.sequenced``: the threaded shell, driven through the transport seam in virtual
time (the pure rules are pinned in ``test_sequencing.py``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timezone
from typing import Any

import pytest
from reactivex.testing import TestScheduler

import rxpusher
from rxpusher import BackfillError, Gap, ProtocolError, Sequenced, SubscriptionError
from rxpusher.testing import ScriptedServer

from .support import SOCKET_ID, Recorder, record, rxpusher_threads, wait_for


def by_seq(data: Any) -> int:
    return data["seq"]


def push(server: ScriptedServer, *seqs: int, channel: str = "feed", event: str = "tick") -> None:
    for seq in seqs:
        server.push(event, {"seq": seq}, channel=channel)


def seqs(items: list[Any]) -> list[int]:
    return [item["seq"] for item in items]


ERRORS: dict[int, Recorder[Any]] = {}


@pytest.fixture
def feed_on(make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer) -> Callable[..., Sequenced]:
    """``feed_on(**options)``: a sequenced stream of ``tick`` on ``feed`` of a connected
    client; ``errors_of(feed)`` is the recorder of that client's ``errors``."""

    def make(**options: Any) -> Sequenced:
        client = make_pusher()
        server.handshake(socket_id=SOCKET_ID)
        feed = rxpusher.sequenced(client.channel("feed"), "tick", seq=by_seq, **options)
        ERRORS[id(feed)] = record(client.errors)
        return feed

    return make


def errors_of(feed: Sequenced) -> Recorder[Any]:
    return ERRORS[id(feed)]


def test_events_arrive_in_seq_order_each_once(feed_on, server, sched) -> None:
    feed = feed_on()
    got = record(feed.events)
    server.succeed("feed")
    push(server, 1, 2, 4, 2, 3, 5, 5)
    assert seqs(got.items) == [1, 2, 3, 4, 5] and got.violations == []
    counters = feed.counters
    assert counters.delivered == 5 and counters.duplicates == 2 and counters.gaps == 0


def test_a_hole_not_filled_within_the_window_is_a_gap_notice(feed_on, server, sched) -> None:
    feed = feed_on(reorder_window=0.5)
    got, gaps = record(feed.events), record(feed.gaps)
    server.succeed("feed")
    push(server, 1, 4)
    sched.advance_by(0.49)
    assert seqs(got.items) == [1] and gaps.items == []
    sched.advance_by(0.01)
    assert seqs(got.items) == [1, 4]
    [gap] = gaps.items
    assert isinstance(gap, Gap) and gap[:4] == ("feed", "tick", 2, 3)
    assert gap.detected_at.tzinfo is timezone.utc
    assert feed.counters.gaps == 1 and feed.counters.missing == 2


def test_observing_events_subscribes_and_leaving_unsubscribes(feed_on, server) -> None:
    feed = feed_on()
    watching = record(feed.gaps)
    assert server.sent("pusher:subscribe") == []  # gaps is a view
    first, second = record(feed.events), record(feed.events)
    assert len(server.sent("pusher:subscribe")) == 1
    server.succeed("feed")
    push(server, 7)
    assert seqs(first.items) == seqs(second.items) == [7]
    first.dispose()
    assert server.sent("pusher:unsubscribe") == []
    second.dispose()
    assert len(server.sent("pusher:unsubscribe")) == 1
    assert not watching.completed


def test_the_backfill_runs_on_a_worker_and_its_answer_is_merged(feed_on, server, sched) -> None:
    calls: list[tuple[Any, ...]] = []
    threads: list[str] = []

    def backfill(channel: str, event: str, after: int, before: int | None) -> list[Any]:
        calls.append((channel, event, after, before))
        threads.append(threading.current_thread().name)
        return [{"seq": s} for s in range(after + 1, before or after + 1)]

    feed = feed_on(backfill=backfill)
    got = record(feed.events)
    server.succeed("feed")
    push(server, 1, 5, 6)
    sched.advance_by(0.5)
    got.wait(lambda r: len(r.items) == 6)
    assert seqs(got.items) == [1, 2, 3, 4, 5, 6] and got.violations == []
    assert calls == [("feed", "tick", 1, 5)] and threads == ["rxpusher-backfill"]
    assert feed.counters.backfilled == 3


def test_a_backfill_that_raises_is_one_gap_and_a_backfill_error(feed_on, server, sched) -> None:
    def backfill(channel: str, event: str, after: int, before: int | None) -> list[Any]:
        raise OSError("backend down")

    feed = feed_on(backfill=backfill)
    errors = errors_of(feed)
    got, gaps = record(feed.events), record(feed.gaps)
    server.succeed("feed")
    push(server, 10, 11, 20)
    sched.advance_by(0.5)
    gaps.wait(lambda r: len(r.items) == 1)
    assert [(g.first, g.last) for g in gaps.items] == [(12, 19)]
    assert seqs(got.wait_count(3)) == [10, 11, 20]
    error = errors.wait_item(lambda e: isinstance(e, BackfillError))
    assert (error.after, error.before) == (11, 20) and isinstance(error.__cause__, OSError)


def test_a_backfill_past_its_timeout_is_abandoned_and_its_late_answer_dropped(feed_on, server, sched) -> None:
    release = threading.Event()
    entered = threading.Event()

    def backfill(channel: str, event: str, after: int, before: int | None) -> list[Any]:
        entered.set()
        release.wait(5)
        return [{"seq": 2}]

    feed = feed_on(backfill=backfill, backfill_timeout=2.0)
    got, gaps = record(feed.events), record(feed.gaps)
    server.succeed("feed")
    push(server, 1, 3)
    sched.advance_by(0.5)
    assert entered.wait(3)
    sched.advance_by(1.99)
    assert gaps.items == []
    sched.advance_by(0.01)
    assert [(g.first, g.last) for g in gaps.items] == [(2, 2)] and seqs(got.items) == [1, 3]
    release.set()
    wait_for(lambda: feed.counters.fetching == 0)
    push(server, 4)
    assert seqs(got.items) == [1, 3, 4]


def test_after_an_interruption_the_outage_is_backfilled_and_live_events_merged(
        feed_on, server, sched) -> None:
    calls: list[tuple[int, int | None]] = []
    gate = threading.Event()

    def backfill(channel: str, event: str, after: int, before: int | None) -> list[Any]:
        calls.append((after, before))
        gate.wait(5)
        return [{"seq": s} for s in (4, 5, 6)]

    feed = feed_on(backfill=backfill)
    got = record(feed.events)
    server.succeed("feed")
    push(server, 1, 2, 3)
    server.current.drop(4200)
    sched.advance_by(0)
    server.handshake()
    server.succeed("feed")
    wait_for(lambda: calls == [(3, None)])
    push(server, 6, 7)              # live during the call: held
    assert seqs(got.items) == [1, 2, 3]
    gate.set()
    got.wait(lambda r: len(r.items) == 7)
    assert seqs(got.items) == [1, 2, 3, 4, 5, 6, 7] and feed.counters.duplicates == 1


def test_a_seq_that_is_not_an_int_drops_the_event_and_reports_a_protocol_error(
        feed_on, server) -> None:
    feed = feed_on()
    errors = errors_of(feed)
    got = record(feed.events)
    server.succeed("feed")
    push(server, 1)
    server.push("tick", {"seq": "2"}, channel="feed")
    server.push("tick", {"seq": True}, channel="feed")
    server.push("tick", {"no": 2}, channel="feed")
    push(server, 2)
    assert seqs(got.items) == [1, 2]
    bad = [e for e in errors.items if isinstance(e, ProtocolError)]
    assert len(bad) == 3 and "'tick' on 'feed'" in str(bad[0]) and '"seq":"2"' in bad[0].frame
    assert isinstance(bad[2].__cause__, KeyError)


def test_events_complete_when_the_client_closes_delivering_what_is_held(
        make_pusher, server) -> None:
    client = make_pusher()
    server.handshake()
    feed = rxpusher.sequenced(client.channel("feed"), "tick", seq=by_seq)
    got, gaps = record(feed.events), record(feed.gaps)
    server.succeed("feed")
    push(server, 1, 3)
    client.close()
    assert got.completed and gaps.completed
    assert seqs(got.items) == [1, 3] and [(g.first, g.last) for g in gaps.items] == [(2, 2)]
    assert record(feed.gaps).completed and record(feed.events).completed


def test_close_inside_an_observer_of_events_works(make_pusher, server) -> None:
    client = make_pusher()
    server.handshake()
    feed = rxpusher.sequenced(client.channel("feed"), "tick", seq=by_seq)
    seen: list[int] = []

    def on_next(data: Any) -> None:
        seen.append(data["seq"])
        if data["seq"] == 2:
            client.close()

    done = threading.Event()
    feed.events.subscribe(on_next, on_completed=done.set)
    server.succeed("feed")
    push(server, 1, 2)
    assert done.is_set() and seen == [1, 2]


def test_a_subscription_error_on_the_only_channel_errors_events(feed_on, server) -> None:
    feed = feed_on()
    got = record(feed.events)
    server.push("pusher:subscription_error", {"type": "AuthError", "error": "no", "status": 401},
                channel="feed")
    assert isinstance(got.error, SubscriptionError)


def two_clients(sched: TestScheduler) -> tuple[list[ScriptedServer], list[rxpusher.Pusher]]:
    servers = [ScriptedServer(), ScriptedServer()]
    clients = [rxpusher.Pusher("key", transport=s.transport, timer_scheduler=sched,
                               reconnect=rxpusher.Backoff(jitter=False)) for s in servers]
    for s in servers:
        s.handshake()
    return servers, clients


def test_a_subscription_error_on_one_of_two_channels_is_reported_and_the_other_goes_on(sched) -> None:
    servers, clients = two_clients(sched)
    try:
        errors = record(clients[0].errors)
        feed = rxpusher.sequenced([c.channel("feed") for c in clients], "tick", seq=by_seq)
        got = record(feed.events)
        servers[0].push("pusher:subscription_error", {"type": "AuthError", "error": "no",
                                                      "status": 401}, channel="feed")
        servers[1].succeed("feed")
        push(servers[1], 1, 2)
        assert seqs(got.items) == [1, 2] and got.error is None and not got.completed
        assert any(isinstance(e, SubscriptionError) for e in errors.items)
        clients[1].close()
        assert got.completed
    finally:
        for c in clients:
            c.close()


def test_two_connections_merge_and_a_loss_on_one_needs_no_backfill(sched) -> None:
    calls: list[Any] = []
    servers, clients = two_clients(sched)
    try:
        feed = rxpusher.sequenced([c.channel("feed") for c in clients], "tick", seq=by_seq,
                                  backfill=lambda *args: calls.append(args) or [])
        got, gaps = record(feed.events), record(feed.gaps)
        for s in servers:
            s.succeed("feed")
            push(s, 1, 2)
        servers[0].current.drop(4200)      # connection 0 lost: 3 and 4 reach only connection 1
        push(servers[1], 3, 4)
        sched.advance_by(0)
        servers[0].handshake()
        servers[0].succeed("feed")         # an interruption, covered by connection 1
        for s in servers:
            push(s, 5)
        sched.advance_by(5)
        assert seqs(got.items) == [1, 2, 3, 4, 5] and gaps.items == [] and calls == []
        assert feed.counters.duplicates == 3
        for c in clients:
            c.close()
        assert got.completed
    finally:
        for c in clients:
            c.close()


def test_close_abandons_a_backfill_under_way_and_leaves_no_thread(make_pusher, server, sched) -> None:
    gate, entered = threading.Event(), threading.Event()

    def backfill(channel: str, event: str, after: int, before: int | None) -> list[Any]:
        entered.set()
        gate.wait(5)
        return [{"seq": 2}]

    client = make_pusher()
    server.handshake()
    feed = rxpusher.sequenced(client.channel("feed"), "tick", seq=by_seq, backfill=backfill)
    got = record(feed.events)
    server.succeed("feed")
    push(server, 1, 3)
    sched.advance_by(0.5)
    assert entered.wait(3)
    client.close()                  # does not wait for the call
    assert got.completed and seqs(got.items) == [1, 3]
    gate.set()
    wait_for(lambda: not [t for t in rxpusher_threads() if t.name == "rxpusher-backfill"])
    assert seqs(got.items) == [1, 3]


def test_a_thread_storm_on_two_connections_delivers_serially_each_seq_once(sched) -> None:
    servers, clients = two_clients(sched)
    try:
        feed = rxpusher.sequenced([c.channel("feed") for c in clients], "tick", seq=by_seq,
                                  reorder_window=0.0)
        got = record(feed.events)
        blocked = record(feed.events.pipe())  # a second observer
        for s in servers:
            s.succeed("feed")
        start = threading.Barrier(4)
        churn_done = threading.Event()

        def publish(server: ScriptedServer) -> None:
            start.wait()
            push(server, *range(2000))  # each connection gets every seq

        def churn() -> None:  # observers come and go while events flow
            start.wait()
            while not churn_done.is_set():
                record(feed.events).dispose()

        def read() -> None:
            start.wait()
            while not churn_done.is_set():
                assert feed.counters.delivered <= 2000

        threads = [threading.Thread(target=publish, args=(s,)) for s in servers]
        helpers = [threading.Thread(target=churn), threading.Thread(target=read)]
        for t in helpers:
            t.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        churn_done.set()
        for t in helpers:
            t.join(30)
        got.wait(lambda r: len(r.items) == 2000, timeout=30)
        assert seqs(got.items) == list(range(2000)) and got.violations == []
        assert seqs(blocked.items) == list(range(2000)) and blocked.violations == []
        assert feed.counters.duplicates == 2000
    finally:
        for c in clients:
            c.close()


def test_arguments_are_checked_before_anything_starts(pusher) -> None:
    channel = pusher.channel("feed")
    with pytest.raises(TypeError):
        rxpusher.sequenced("feed", "tick", seq=by_seq)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rxpusher.sequenced([channel, channel], "tick", seq=by_seq)
    with pytest.raises(ValueError):
        rxpusher.sequenced(channel, "", seq=by_seq)
    with pytest.raises(ValueError):
        rxpusher.sequenced(channel, "tick", seq=by_seq, reorder_window=-1)
    with pytest.raises(ValueError):
        rxpusher.sequenced(channel, "tick", seq=by_seq, backfill_timeout=0)
    with pytest.raises(ValueError):
        rxpusher.sequenced(channel, "tick", seq=by_seq, max_pending=0)
    with pytest.raises(TypeError):
        rxpusher.sequenced(channel, "tick", seq=by_seq, start="3")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rxpusher.sequenced(channel, "tick", seq=3)  # type: ignore[arg-type]


def test_with_the_scheduler_option_observers_are_called_through_its_bounded_hand_off(
        make_pusher, server) -> None:
    from rxpusher import BufferOverflowError

    deliver = TestScheduler()
    client = make_pusher(scheduler=deliver, scheduler_maxsize=10)
    server.handshake()
    feed = rxpusher.sequenced(client.channel("feed"), "tick", seq=by_seq)
    got = record(feed.events)
    server.succeed("feed")
    deliver.advance_by(0.001)
    push(server, *range(1, 6))
    deliver.advance_by(0.001)             # the channel's hand-off, then the feed's
    deliver.advance_by(0.001)
    assert seqs(got.items) == [1, 2, 3, 4, 5]
    push(server, *range(6, 40))           # more than the bound, nothing drained
    for _ in range(5):
        deliver.advance_by(0.001)
    assert isinstance(got.error, BufferOverflowError)
    assert server.sent("pusher:unsubscribe")  # the overflow released the stream


def test_on_real_timers_a_gap_comes_after_the_window_and_close_leaves_no_thread() -> None:
    before = set(rxpusher_threads())  # other tests' clients may keep the shared ones alive
    server = ScriptedServer()
    client = rxpusher.Pusher("key", transport=server.transport)   # the shared timer thread
    try:
        server.handshake()
        feed = rxpusher.sequenced(client.channel("feed"), "tick", seq=by_seq,
                                  backfill=lambda *args: [], reorder_window=0.05)
        got, gaps = record(feed.events), record(feed.gaps)
        server.succeed("feed")
        push(server, 1, 3)
        gaps.wait(lambda r: len(r.items) == 1)
        assert [(g.first, g.last) for g in gaps.items] == [(2, 2)] and seqs(got.items) == [1, 3]
    finally:
        client.close()
    assert got.completed
    wait_for(lambda: set(rxpusher_threads()) <= before)


def test_start_backfills_after_the_snapshot_at_once_then_goes_on_live(feed_on, server) -> None:
    calls: list[tuple[int, int | None]] = []

    def backfill(channel: str, event: str, after: int, before: int | None) -> list[Any]:
        calls.append((after, before))
        return [{"seq": s} for s in (4, 5)]

    feed = feed_on(backfill=backfill, start=3)
    got = record(feed.events)
    wait_for(lambda: calls == [(3, None)])   # before the subscription is even confirmed
    got.wait(lambda r: len(r.items) == 2)
    server.succeed("feed")
    push(server, 5, 6)
    assert seqs(got.items) == [4, 5, 6] and feed.counters.duplicates == 1


def test_retry_after_a_subscription_error_subscribes_again_and_goes_on(feed_on, server) -> None:
    from reactivex import operators as ops

    feed = feed_on()
    got = record(feed.events.pipe(ops.retry(2)))
    server.succeed("feed")
    push(server, 1, 2)
    server.push("pusher:subscription_error", {"type": "AuthError", "error": "no", "status": 401},
                channel="feed")
    assert len(server.sent("pusher:subscribe")) == 2   # retried
    server.succeed("feed")
    push(server, 2, 3)
    assert seqs(got.items) == [1, 2, 3] and got.error is None


# ---- event=None: the channel-wide sequence --------------------------------------------------


def wide_on(make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer,
            **options: Any) -> Sequenced:
    """A channel-wide sequenced stream (``event=None``) on ``feed`` of a connected client."""
    client = make_pusher()
    server.handshake(socket_id=SOCKET_ID)
    feed = rxpusher.sequenced(client.channel("feed"), None, seq=by_seq, **options)
    ERRORS[id(feed)] = record(client.errors)
    return feed


def names(items: list[Any]) -> list[tuple[str, int]]:
    return [(item.name, item.data["seq"]) for item in items]


def test_event_none_numbers_every_event_of_the_channel_by_one_seq(make_pusher, server,
                                                                  sched) -> None:
    feed = wide_on(make_pusher, server)
    got, named = record(feed.events), record(feed.named_events)
    server.succeed("feed")                                    # a protocol event: not counted
    server.push("pusher:subscription_count", {"subscription_count": 2}, channel="feed")
    server.push("tick", {"seq": 1}, channel="feed")
    server.push("trade", {"seq": 2}, channel="feed")
    server.push("quote", {"seq": 4}, channel="feed")          # held: 3 is missing
    server.push("tick", {"seq": 3}, channel="feed")
    server.push("trade", {"seq": 2}, channel="feed")          # a duplicate, whatever its name
    server.push("tick", {"seq": 9}, channel="other")          # another channel: not this feed
    assert seqs(got.items) == [1, 2, 3, 4] and got.violations == []
    assert names(named.items) == [("tick", 1), ("trade", 2), ("tick", 3), ("quote", 4)]
    assert all(isinstance(e, rxpusher.Event) and e.channel == "feed" for e in named.items)
    assert not [e for e in errors_of(feed).items if isinstance(e, ProtocolError)]
    assert feed.counters.delivered == 4 and feed.counters.duplicates == 1
    assert feed.event is None


def test_event_none_a_hole_is_a_gap_of_no_event_after_the_window(make_pusher, server,
                                                                 sched) -> None:
    feed = wide_on(make_pusher, server, reorder_window=0.5)
    got, gaps = record(feed.events), record(feed.gaps)
    server.succeed("feed")
    server.push("tick", {"seq": 1}, channel="feed")
    server.push("trade", {"seq": 4}, channel="feed")
    sched.advance_by(0.49)
    assert seqs(got.items) == [1] and gaps.items == []
    sched.advance_by(0.01)
    assert seqs(got.items) == [1, 4]
    assert [g[:4] for g in gaps.items] == [("feed", None, 2, 3)]


def test_event_none_backfill_is_called_with_event_none_and_its_items_are_named(
        make_pusher, server, sched) -> None:
    calls: list[tuple[Any, ...]] = []

    def backfill(channel: str, event: str | None, after: int, before: int | None) -> list[Any]:
        calls.append((channel, event, after, before))
        return [{"seq": 2, "event": "trade"}, {"seq": 3, "event": 7}, {"seq": 4}]

    feed = wide_on(make_pusher, server, backfill=backfill)
    named = record(feed.named_events)
    server.succeed("feed")
    server.push("tick", {"seq": 1}, channel="feed")
    server.push("quote", {"seq": 5}, channel="feed")
    sched.advance_by(0.5)
    named.wait(lambda r: len(r.items) == 5)
    assert calls == [("feed", None, 1, 5)]
    # its own "event" string, else the last name received live on the channel
    assert names(named.items) == [("tick", 1), ("trade", 2), ("quote", 3), ("quote", 4),
                                  ("quote", 5)]
    assert [e.user_id for e in named.items] == [None] * 5
    assert feed.counters.backfilled == 3


def test_event_none_a_failed_backfill_says_every_event(make_pusher, server, sched) -> None:
    def backfill(channel: str, event: str | None, after: int, before: int | None) -> list[Any]:
        raise OSError("backend down")

    feed = wide_on(make_pusher, server, backfill=backfill)
    got, gaps = record(feed.events), record(feed.gaps)
    server.succeed("feed")
    server.push("tick", {"seq": 1}, channel="feed")
    server.push("tick", {"seq": 3}, channel="feed")
    sched.advance_by(0.5)
    gaps.wait(lambda r: len(r.items) == 1)
    assert [(g.event, g.first, g.last) for g in gaps.items] == [(None, 2, 2)]
    assert seqs(got.items) == [1, 3]
    error = errors_of(feed).wait_item(lambda e: isinstance(e, BackfillError))
    assert error.event is None
    assert "backfill of every event on 'feed' after 1 before 3" in str(error)


def test_event_none_with_start_a_backfilled_item_before_any_live_one_is_named_by_its_data(
        make_pusher, server) -> None:
    calls: list[tuple[Any, ...]] = []

    def backfill(channel: str, event: str | None, after: int, before: int | None) -> list[Any]:
        calls.append((event, after, before))
        return [{"seq": 4, "event": "trade"}, {"seq": 5}]

    feed = wide_on(make_pusher, server, backfill=backfill, start=3)
    named = record(feed.named_events)
    named.wait(lambda r: len(r.items) == 2)
    assert calls == [(None, 3, None)]
    assert names(named.items) == [("trade", 4), ("", 5)]  # no name known yet: ""
    server.succeed("feed")
    server.push("tick", {"seq": 6}, channel="feed")
    named.wait(lambda r: len(r.items) == 3)
    assert names(named.items)[-1] == ("tick", 6)


def test_named_events_of_a_named_feed_are_events_of_that_name(feed_on, server, sched) -> None:
    feed = feed_on()
    got, named = record(feed.events), record(feed.named_events)
    server.succeed("feed")
    push(server, 1, 3, 2)
    assert seqs(got.items) == [1, 2, 3]
    assert named.items == [rxpusher.Event("tick", "feed", {"seq": s}) for s in (1, 2, 3)]


def test_named_events_alone_subscribes_and_leaving_unsubscribes(make_pusher, server) -> None:
    feed = wide_on(make_pusher, server)
    named = record(feed.named_events)
    assert server.sent("pusher:subscribe")
    server.succeed("feed")
    server.push("tick", {"seq": 1}, channel="feed")
    assert names(named.items) == [("tick", 1)]
    named.dispose()
    assert server.sent("pusher:unsubscribe")


def test_event_none_a_thread_storm_on_two_connections_is_serial_and_each_seq_once(sched) -> None:
    servers, clients = two_clients(sched)
    try:
        feed = rxpusher.sequenced([c.channel("feed") for c in clients], None, seq=by_seq,
                                  reorder_window=0.0)
        got, named = record(feed.events), record(feed.named_events)
        for s in servers:
            s.succeed("feed")
        start = threading.Barrier(4)
        done = threading.Event()

        def publish(server: ScriptedServer) -> None:
            start.wait()
            for n in range(2000):
                server.push("even" if n % 2 == 0 else "odd", {"seq": n}, channel="feed")

        def churn() -> None:  # observers of both streams come and go while events flow
            start.wait()
            while not done.is_set():
                record(feed.named_events).dispose()
                record(feed.events).dispose()

        threads = [threading.Thread(target=publish, args=(s,)) for s in servers]
        helper = threading.Thread(target=churn)
        helper.start()
        for t in threads:
            t.start()
        start.wait()
        for t in threads:
            t.join(30)
        done.set()
        helper.join(30)
        named.wait(lambda r: len(r.items) == 2000, timeout=30)
        assert seqs(got.items) == list(range(2000)) and got.violations == []
        assert names(named.items) == [("even" if n % 2 == 0 else "odd", n) for n in range(2000)]
        assert named.violations == [] and feed.counters.duplicates == 2000
    finally:
        for c in clients:
            c.close()
    assert got.completed and named.completed


def test_event_none_is_accepted_and_other_events_still_checked(pusher) -> None:
    channel = pusher.channel("feed")
    assert rxpusher.sequenced(channel, None, seq=by_seq).event is None
    with pytest.raises(ValueError):
        rxpusher.sequenced(channel, 3, seq=by_seq)  # type: ignore[call-overload]
