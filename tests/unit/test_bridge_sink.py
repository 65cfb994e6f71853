"""rxpusher.bridge._sink: the observer side, the writer thread, retries, reporting and close,
against a scripted broker (the real brokers are in tests/integration/test_bridge.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rxpusher import Backoff, BridgeError, Event, Interruption
from rxpusher.bridge._entries import Template
from rxpusher.bridge._sink import Backend, BrokerSink, redact

from .support import record, rxpusher_threads, wait_for

FAST = Backoff(initial=0.001, maximum=0.001, jitter=False)


class ScriptedBroker(Backend):
    """Keeps what it is given; fails while ``down`` is set; blocks while ``hold`` is clear.
    Idempotent on the record id, like the real brokers."""

    broker = "scripted"

    def __init__(self) -> None:
        self.down = threading.Event()
        self.hold = threading.Event()
        self.hold.set()
        self.lock = threading.Lock()
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.ids: set[str] = set()
        self.connects = 0
        self.writes = 0

    def connect(self) -> None:
        with self.lock:
            self.connects += 1
        if self.down.is_set():
            raise ConnectionRefusedError("scripted broker is down")

    def write(self, entries: list[tuple[str, dict[str, Any]]]) -> int:
        self.hold.wait(10)
        if self.down.is_set():
            raise ConnectionResetError("scripted broker went away")
        new = 0
        with self.lock:
            self.writes += 1
            for target, entry in entries:
                if entry["id"] not in self.ids:
                    self.ids.add(entry["id"])
                    self.records.append((target, entry))
                    new += 1
        return new

    def last_seq(self, target: str, channel: str, event: str | None) -> int | None:
        seqs = [e["seq"] for t, e in self.records if t == target and e.get("seq") is not None]
        return max(seqs) if seqs else None

    def close(self) -> None:
        pass

    def entries(self, kind: str = "event") -> list[dict[str, Any]]:
        with self.lock:
            return [entry for _, entry in self.records if entry["type"] == kind]


class ScriptedSink(BrokerSink):
    broker = "scripted"

    def __init__(self, backend: ScriptedBroker, clock: Any = None, **options: Any) -> None:
        self.backend = backend
        if clock is not None:
            self._clock = clock
        options.setdefault("reconnect", FAST)
        defaults: dict[str, Any] = {"seq": None, "channel": None, "event": None,
                                    "max_buffer": 100_000, "flush_timeout": 5.0}
        defaults.update(options)
        super().__init__("scripted://broker", Template("s:{channel}", "stream"), **defaults)

    def _make_backend(self) -> Backend:
        return self.backend


@pytest.fixture
def broker() -> ScriptedBroker:
    return ScriptedBroker()


@pytest.fixture
def sinks() -> Any:
    made: list[BrokerSink] = []
    yield made
    for sink in made:
        sink.close(1.0)


@pytest.fixture
def make_sink(broker: ScriptedBroker, sinks: list[BrokerSink]) -> Any:
    def make(**options: Any) -> ScriptedSink:
        sink = ScriptedSink(broker, **options)
        sinks.append(sink)
        return sink
    return make


def test_channel_events_reach_the_broker_in_order_with_their_fields(pusher, server, broker,
                                                                    make_sink) -> None:
    sink = make_sink()
    pusher.channel("c").events().subscribe(sink)
    server.succeed("c")
    for n in range(20):
        server.push("e", {"n": n}, channel="c", user_id="u1" if n == 0 else None)
    wait_for(lambda: len(broker.entries()) == 20)
    entries = broker.entries()
    assert [json_n(e) for e in entries] == list(range(20))
    assert {t for t, _ in broker.records} == {"s:c"}
    assert entries[0]["user_id"] == "u1" and entries[1]["user_id"] is None
    assert all(e["channel"] == "c" and e["event"] == "e" for e in entries)


def json_n(entry: dict[str, Any]) -> int:
    import json
    return int(json.loads(entry["data"])["n"])


def test_a_sequenced_feed_is_keyed_by_seq_and_a_repeat_is_written_once(pusher, server, broker,
                                                                         make_sink) -> None:
    sink = make_sink(seq="seq")
    pusher.channel("c").events("e").subscribe(sink)  # data items: channel and event from there
    server.succeed("c")
    for n in (1, 2, 2, 3, 1):
        server.push("e", {"seq": n}, channel="c")
    wait_for(lambda: sink.stats.written + sink.stats.duplicates == 5)
    assert [e["id"] for e in broker.entries()] == ["c:1", "c:2", "c:3"]
    assert [e["event"] for e in broker.entries()] == ["e", "e", "e"]
    assert sink.stats.duplicates == 2
    assert sink.last_seq("c") == 3


def test_data_without_a_channel_is_a_bridge_error_not_a_silent_loss(broker, make_sink) -> None:
    sink = make_sink(seq="seq")
    errors = record(sink.errors)
    sink.on_next({"seq": 1})
    sink.on_next({"seq": 2})
    assert len(errors.items) == 1 and "channel=" in str(errors.items[0])
    named = make_sink(seq="seq", channel="feed", event="tick")
    named.on_next({"seq": 4})
    wait_for(lambda: broker.entries())
    assert broker.entries()[0]["id"] == "feed:4"


def test_a_broker_failure_is_a_bridge_error_on_the_clients_errors_and_other_channels_go_on(
        pusher, server, broker, make_sink) -> None:
    broker.down.set()
    errors = record(pusher.errors)
    sink = make_sink()
    pusher.channel("a").events().subscribe(sink)
    other = record(pusher.channel("b").events("e"))
    server.succeed("a")
    server.succeed("b")
    server.push("e", 1, channel="a")
    wait_for(lambda: any(isinstance(e, BridgeError) for e in errors.items))
    error = next(e for e in errors.items if isinstance(e, BridgeError))
    assert error.broker == "scripted" and isinstance(error.__cause__, ConnectionRefusedError)
    server.push("e", 2, channel="b")
    assert other.items == [2] and pusher.channel("a").subscribed
    broker.down.clear()
    wait_for(lambda: len(broker.entries()) == 1)  # it was kept and written once back


def test_an_outage_is_reported_at_once_then_once_per_interval(broker, make_sink) -> None:
    now = [1000.0]
    broker.down.set()
    sink = make_sink(clock=lambda: now[0])
    errors = record(sink.errors)
    sink.on_next(Event("e", "c", 1))
    wait_for(lambda: errors.items)  # at once
    attempts = broker.connects
    wait_for(lambda: broker.connects >= attempts + 5)
    reported = len(errors.items)
    attempts = broker.connects
    wait_for(lambda: broker.connects >= attempts + 20)
    assert len(errors.items) == reported  # 20 more failed attempts, no more reports
    now[0] += 31
    wait_for(lambda: len(errors.items) == reported + 1)
    assert "more failures since the last report" in str(errors.items[-1])


def test_failed_writes_are_retried_in_order_until_written_once(broker, make_sink) -> None:
    sink = make_sink()
    for n in range(5):
        sink.on_next(Event("e", "c", {"n": n}))
    wait_for(lambda: len(broker.entries()) == 5)
    broker.down.set()
    for n in range(5, 10):
        sink.on_next(Event("e", "c", {"n": n}))
    wait_for(lambda: broker.connects >= 5)
    broker.down.clear()
    wait_for(lambda: len(broker.entries()) == 10)
    assert [json_n(e) for e in broker.entries()] == list(range(10))


def test_the_reader_thread_never_waits_for_a_slow_broker(broker, make_sink) -> None:
    broker.hold.clear()  # every write blocks
    sink = make_sink()
    for n in range(2000):
        sink.on_next(Event("e", "c", {"n": n}))  # returns although the writer is stuck
    assert sink.stats.buffered + broker.writes >= 1500
    broker.hold.set()
    wait_for(lambda: len(broker.entries()) == 2000)


def test_a_full_buffer_drops_the_oldest_and_writes_a_gap_entry(broker, make_sink) -> None:
    broker.down.set()
    sink = make_sink(max_buffer=3, seq="n")
    for n in range(10):
        sink.on_next(Event("e", "c", {"n": n}))
    wait_for(lambda: sink.stats.dropped >= 7)
    broker.down.clear()
    wait_for(lambda: len(broker.entries()) == 3)
    gaps = broker.entries("gap")
    assert len(gaps) == 1 and gaps[0]["count"] == 7 and (gaps[0]["first"], gaps[0]["last"]) == (0, 6)
    assert [e["seq"] for e in broker.entries()] == [7, 8, 9]
    kinds = [entry["type"] for _, entry in broker.records]
    assert kinds == ["gap", "event", "event", "event"]  # the gap where the dropped ones were


def test_close_writes_what_is_buffered_at_once_even_during_a_long_backoff(broker, make_sink) -> None:
    broker.down.set()
    sink = make_sink(reconnect=Backoff(initial=60, maximum=60, jitter=False))
    sink.on_next(Event("e", "c", 1))
    wait_for(lambda: broker.connects >= 1)
    broker.down.clear()
    assert sink.close(5.0) is True  # the flush did not wait out the 60 s backoff
    assert len(broker.entries()) == 1
    assert not [t for t in rxpusher_threads() if t.name.startswith("rxpusher-bridge")]


def test_close_gives_up_at_its_deadline_and_reports_what_was_not_written(broker, make_sink) -> None:
    broker.down.set()
    sink = make_sink()
    errors = record(sink.errors)
    for n in range(3):
        sink.on_next(Event("e", "c", n))
    assert sink.close(0.2) is False
    assert any("3 entries not written" in str(e) for e in errors.items)
    assert errors.completed
    sink.on_next(Event("e", "c", 9))  # after close: ignored, no thread to take it
    assert sink.stats.buffered == 3


def test_close_from_the_sinks_own_error_callback_does_not_deadlock(broker, make_sink) -> None:
    broker.down.set()
    sink = make_sink()
    sink.errors.subscribe(lambda _: sink.close(0.1))  # runs on the writer thread
    sink.on_next(Event("e", "c", 1))
    wait_for(lambda: sink._closed.is_set())
    assert not sink._thread.is_alive()


def test_interruptions_of_an_observed_channel_become_entries(pusher, server, sched, broker,
                                                             make_sink) -> None:
    sink = make_sink()
    pusher.channel("c").events().subscribe(sink)
    server.succeed("c")
    server.current.drop(None)
    sched.advance_by(1)
    server.handshake()
    server.succeed("c")
    wait_for(lambda: broker.entries("interruption"))
    [entry] = broker.entries("interruption")
    assert entry["channel"] == "c" and entry["lost_at"] <= entry["resubscribed_at"]


def test_an_interruption_observed_directly_is_an_entry(broker, make_sink) -> None:
    from datetime import UTC, datetime

    sink = make_sink()
    sink.on_next(Interruption("c", datetime.now(UTC), datetime.now(UTC)))
    wait_for(lambda: broker.entries("interruption"))


def test_a_thread_storm_writes_every_event_once_and_leaves_no_thread(broker, make_sink) -> None:
    sink = make_sink(max_buffer=100_000)
    start = threading.Barrier(8)

    def produce(worker: int) -> None:
        start.wait()
        for n in range(500):
            sink.on_next(Event("e", f"c{worker % 2}", {"w": worker, "n": n}))

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sink.close(10.0) is True
    assert len(broker.entries()) == 4000 and len(broker.ids) == 4000
    assert not sink._thread.is_alive()


def test_the_url_is_shown_without_its_password() -> None:
    assert redact("redis://user:secret@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact("nats://host:4222") == "nats://host:4222"
    error = BridgeError("redis", redact("redis://:pw@h/0"), "down")
    assert "pw" not in str(error)


def test_bad_options_are_type_or_value_errors_before_any_io(broker) -> None:
    for options in ({"seq": 5}, {"max_buffer": 0}, {"flush_timeout": -1},
                    {"reconnect": "fast"}):
        with pytest.raises((TypeError, ValueError)):
            ScriptedSink(broker, **options)


def test_a_sequenced_feed_tells_the_sink_its_channel_and_its_gaps_become_entries(
        pusher, server, sched, broker, make_sink) -> None:
    import rxpusher

    feed = rxpusher.sequenced(pusher.channel("c"), "e", seq=lambda d: d["seq"])
    sink = make_sink(seq="seq")
    feed.events.subscribe(sink)
    feed.gaps.subscribe(sink)
    server.succeed("c")
    for n in (1, 2, 5):
        server.push("e", {"seq": n}, channel="c")
    sched.advance_by(1)  # past the reorder window: 3..4 will not come
    wait_for(lambda: len(broker.entries()) == 3 and broker.entries("gap"))
    assert [e["id"] for e in broker.entries()] == ["c:1", "c:2", "c:5"]
    [gap] = broker.entries("gap")
    assert (gap["channel"], gap["event"], gap["first"], gap["last"]) == ("c", "e", 3, 4)
    assert [t for t, e in broker.records if e["type"] == "gap"] == ["s:c"]


def test_close_from_a_client_observer_on_the_reader_thread_flushes_and_returns(
        pusher, server, broker, make_sink) -> None:
    sink = make_sink()
    channel = pusher.channel("c")
    channel.events().subscribe(sink)
    closed: list[bool] = []

    def on_tick(data: Any) -> None:
        if data == 3:  # the thread that delivers the event closes the sink
            closed.append(sink.close(5.0))

    channel.events("e").subscribe(on_tick)
    server.succeed("c")
    for n in range(5):
        server.push("e", n, channel="c")
    assert closed == [True]
    written = [e["data"] for e in broker.entries()]
    assert written[:3] == ["0", "1", "2"] and "4" not in written  # 4 came after the close
    assert not sink._thread.is_alive()


def test_flush_waits_for_what_was_buffered_and_says_when_it_could_not(broker, make_sink) -> None:
    sink = make_sink()
    for n in range(50):
        sink.on_next(Event("e", "c", n))
    assert sink.flush(5.0) is True
    assert len(broker.entries()) == 50 and sink.stats.buffered == 0
    broker.down.set()
    wait_for(lambda: not sink.stats.connected or broker.connects >= 1)
    sink.on_next(Event("e", "c", 50))
    assert sink.flush(0.2) is False  # still buffered: the broker is down
    assert sink.stats.buffered == 1
    broker.down.clear()
    assert sink.flush(5.0) is True


def test_subscribing_one_sink_from_many_threads_binds_each_channel_once(pusher, server, broker,
                                                                         make_sink) -> None:
    sink = make_sink()
    names = [f"c{n}" for n in range(10)]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def subscribe_all() -> None:
        start.wait()
        try:
            for name in names:
                pusher.channel(name).events().subscribe(sink)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=subscribe_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sink._watched == {(id(pusher._session), name) for name in names}  # one watch each
    for name in names:
        server.succeed(name)
        server.push("e", name, channel=name)
    wait_for(lambda: len(broker.entries()) == 10)  # four observers per channel, one entry each
    assert sorted(e["channel"] for e in broker.entries()) == sorted(names)
    assert sink.stats.duplicates == 30


class PerEventBroker(ScriptedBroker):
    """A scripted broker that lists its targets like SCAN MATCH / a subjects filter."""

    def __init__(self) -> None:
        super().__init__()
        self.patterns: list[str] = []

    def targets(self, pattern: str) -> list[str]:
        import fnmatch

        self.patterns.append(pattern)
        with self.lock:
            return sorted({t for t, _ in self.records if fnmatch.fnmatchcase(t, pattern)})


class PerEventSink(ScriptedSink):
    def __init__(self, backend: ScriptedBroker, **options: Any) -> None:
        super().__init__(backend, **options)
        self._template = Template("s:{channel}:{event}", "stream")


def test_the_last_seq_of_a_channel_whatever_the_event_reads_each_of_its_streams(
        pusher, server, sinks) -> None:
    broker = PerEventBroker()
    sink = PerEventSink(broker, seq="seq")
    sinks.append(sink)
    pusher.channel("c").events().subscribe(sink)
    pusher.channel("c-1").events().subscribe(sink)
    server.succeed("c")
    server.succeed("c-1")
    for name, seq in (("tick", 1), ("trade", 2), ("tick", 3), ("quote", 4), ("trade", 5)):
        server.push(name, {"seq": seq}, channel="c")
    server.push("tick", {"seq": 99}, channel="c-1")   # another channel's stream
    wait_for(lambda: len(broker.entries()) == 6)
    assert sink.last_seq("c") == 5                   # in s:c:trade, whatever the event
    assert sink.last_seq("c", "tick") == 3           # one event: its stream only
    assert broker.patterns == ["s:c:*"]
    assert sink.last_seq("nobody") is None


def test_any_event_patterns_for_streams_and_subjects() -> None:
    assert Template("pusher:{channel}:{event}", "stream").any_event("a?[b]") == \
        r"pusher:a\?\[b\]:*"
    subject = Template("pusher.{channel}.{event}", "subject", subject=True)
    assert subject.any_event("a.b c") == "pusher.a_b_c.*" and subject.per_event
    assert not Template("pusher:{channel}", "stream").per_event
