"""Threads and schedulers: close() ends every thread; the ``scheduler`` option moves delivery."""

from __future__ import annotations

import threading

from reactivex.testing import TestScheduler

import rxpusher
from rxpusher.testing import ScriptedServer

from .support import Recorder, record, rxpusher_threads, wait_for


def test_real_client_not_connected_then_closed_leaves_no_thread() -> None:
    before = set(rxpusher_threads())
    p = rxpusher.Pusher("key", auto_connect=False)
    p.close()
    assert set(rxpusher_threads()) - before == set()


def test_default_timer_scheduler_thread_ends_on_close() -> None:
    before = set(rxpusher_threads())
    server = ScriptedServer()
    p = rxpusher.Pusher("key", transport=server.transport)  # default timer scheduler
    server.handshake()  # schedules the activity timer on a real thread
    assert set(rxpusher_threads()) - before  # the timer thread runs
    p.close()
    wait_for(lambda: not (set(rxpusher_threads()) - before), timeout=5)


def test_auth_worker_threads_end_on_close(make_pusher, server) -> None:
    before = set(rxpusher_threads())
    p = make_pusher(authorizer=lambda c, s: {"auth": "k:s"})
    server.handshake()
    p.subscribe("private-c")
    wait_for(lambda: server.sent("pusher:subscribe"))
    p.close()
    wait_for(lambda: not (set(rxpusher_threads()) - before), timeout=5)


def test_close_from_inside_an_observer_does_not_deadlock(make_pusher, server) -> None:
    p = make_pusher()
    server.handshake()
    done = []
    p.events("quit").subscribe(lambda d: (p.close(), done.append(True)))
    t = threading.Thread(target=lambda: server.push("quit", {}, channel="c"))
    t.start()
    t.join(5)
    assert not t.is_alive()
    assert done == [True]


def test_scheduler_option_delivers_on_that_scheduler(make_pusher, server) -> None:
    deliver = TestScheduler()
    p = make_pusher(scheduler=deliver)
    server.handshake()
    got = record(p.channel("c").events("e"))
    frames = record(p.frames)
    server.push("e", 1, channel="c")
    assert got.items == [] and frames.items == []
    deliver.advance_by(0.001)
    assert got.items == [1]
    assert len(frames.items) == 1


def test_without_scheduler_option_delivery_is_synchronous_on_the_reader(pusher, server) -> None:
    threads = []
    pusher.events("e").subscribe(lambda d: threads.append(threading.current_thread()))
    t = threading.Thread(target=lambda: server.push("e", 1, channel="c"), name="fake-reader")
    t.start()
    t.join(5)
    assert threads == [t]


# ---- observers that wait for another thread using the client (no lock is held) -------------

def _in_thread(work) -> bool:
    """Run ``work`` on a new thread and wait up to 5 s; True when it finished."""
    worker = threading.Thread(target=work)
    worker.start()
    worker.join(5)
    return not worker.is_alive()


def test_a_state_observer_may_wait_for_a_thread_that_uses_the_client(make_pusher, server) -> None:
    p = make_pusher()
    finished: list[bool] = []
    got: list[object] = []

    def on_state(state: str) -> None:
        if state == "connected":
            finished.append(_in_thread(lambda: got.append(
                (p.channel("c").events("e").subscribe(), p.all_channels()))))

    p.state.subscribe(on_state)
    server.handshake()
    assert finished == [True]
    assert server.sent("pusher:subscribe")[-1]["data"] == {"channel": "c"}


def test_a_channel_state_observer_may_wait_for_a_thread_that_uses_the_client(pusher, server) -> None:
    finished: list[bool] = []

    def on_state(state: str) -> None:
        if state == "subscribed":
            finished.append(_in_thread(lambda: (pusher.channel("other"), pusher.unsubscribe("c"),
                                                pusher.all_channels())))

    pusher.channel("c").state.subscribe(on_state)
    pusher.subscribe("c")
    server.succeed("c")
    assert finished == [True]
    assert [f["data"]["channel"] for f in server.sent("pusher:unsubscribe")] == ["c"]


def test_members_and_error_observers_may_wait_for_a_thread_that_uses_the_client(
        make_pusher, server) -> None:
    p = make_pusher(secret="s", channel_data={"user_id": "1"})
    server.handshake()
    finished: list[bool] = []
    room = p.channel("presence-room")
    room.members.subscribe(lambda m: finished.append(_in_thread(lambda: p.all_channels())))
    p.errors.subscribe(lambda e: finished.append(_in_thread(lambda: p.channel("x").state.subscribe())))
    server.succeed("presence-room", {"presence": {"ids": ["1"], "hash": {"1": None}, "count": 1}})
    server.current.receive("not json")
    assert finished == [True, True]


# ---- serial notifications while another thread unsubscribes or closes ------------------------

def _feed(server, channel: str, count: int) -> threading.Thread:
    def run() -> None:
        for i in range(count):
            server.push("e", i, channel=channel)

    return threading.Thread(target=run, name="fake-reader")


def test_unsubscribe_during_a_fast_delivery_keeps_every_observer_serial(pusher, server) -> None:
    got = Recorder("events")
    started = threading.Event()

    def on_next(value: int) -> None:
        got.on_next(value)
        started.set()

    pusher.channel("c").events("e").subscribe(on_next, got.on_error, got.on_completed)
    members_free = record(pusher.channel("c").events())
    server.succeed("c")
    reader = _feed(server, "c", 20_000)
    reader.start()
    assert started.wait(5)
    pusher.unsubscribe("c")
    reader.join(30)
    assert got.completed and members_free.completed
    assert got.violations == [] and members_free.violations == []
    assert got.items == list(range(len(got.items)))  # in order, nothing after completion


def test_close_during_a_fast_delivery_completes_every_stream_once(make_pusher, server) -> None:
    p = make_pusher()
    server.handshake()
    recorders = [record(p.channel("c").events("e")), record(p.events()), record(p.frames),
                 record(p.state), record(p.errors)]
    server.succeed("c")
    reader = _feed(server, "c", 20_000)
    reader.start()
    recorders[0].wait_count(10)
    p.close()
    reader.join(30)
    for recorder in recorders:
        assert recorder.completed, recorder.name
        assert recorder.violations == [], recorder.violations


def test_member_snapshots_stay_serial_while_another_thread_disconnects(make_pusher, server) -> None:
    p = make_pusher(secret="s", channel_data={"user_id": "0"})
    server.handshake()
    members = record(p.channel("presence-room").members)
    server.succeed("presence-room", {"presence": {"ids": ["0"], "hash": {"0": None}, "count": 1}})

    def joins() -> None:
        for i in range(1, 3000):
            server.push("pusher_internal:member_added", {"user_id": str(i)}, channel="presence-room")

    reader = threading.Thread(target=joins)
    reader.start()
    members.wait_count(50)
    p.disconnect()
    reader.join(30)
    assert members.violations == []
    assert members.items[-1].count == 0  # the roster was cleared, last


def test_a_subscriber_attaching_while_unsubscribe_runs_leaves_the_server_consistent(
        pusher, server) -> None:
    ch = pusher.channel("c")
    ch.events("e").subscribe()
    server.succeed("c")
    again: list[object] = []

    def on_state(state: str) -> None:
        if state == "unsubscribed" and not again:
            again.append(ch.events("e").subscribe())

    ch.state.subscribe(on_state)
    pusher.unsubscribe("c")
    frames = [f["event"] for f in server.sent() if f["data"].get("channel") == "c"]
    assert frames == ["pusher:subscribe", "pusher:unsubscribe", "pusher:subscribe"]
    assert [c.name for c in pusher.all_channels()] == ["c"]


def test_thread_storm_of_subscribes_and_disposals_leaves_the_server_consistent(
        make_pusher, server) -> None:
    p = make_pusher()
    server.handshake()
    names = [f"storm-{i}" for i in range(5)]
    recorders: list[Recorder] = []
    guard = threading.Lock()

    def storm(seed: int) -> None:
        import random

        rng = random.Random(seed)
        held: list = []
        for _ in range(300):
            name = rng.choice(names)
            op = rng.random()
            if op < 0.4:
                recorder = Recorder(name)
                with guard:
                    recorders.append(recorder)
                held.append(recorder.subscribe_to(p.channel(name).events("e")))
            elif op < 0.7 and held:
                held.pop(rng.randrange(len(held))).dispose()
            elif op < 0.85:
                p.subscribe(name)
            else:
                p.unsubscribe(name)

    def reader() -> None:
        for i in range(3000):
            name = names[i % len(names)]
            server.push("e", i, channel=name)

    threads = [threading.Thread(target=storm, args=(seed,)) for seed in range(4)]
    threads.append(threading.Thread(target=reader))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    active = {c.name for c in p.all_channels()}
    for name in names:
        frames = [f["event"] for f in server.sent()
                  if isinstance(f.get("data"), dict) and f["data"].get("channel") == name]
        # subscribe and unsubscribe alternate, and the server's view matches all_channels()
        assert all(a != b for a, b in zip(frames, frames[1:])), (name, frames)
        assert (bool(frames) and frames[-1] == "pusher:subscribe") == (name in active), name
    assert all(r.violations == [] for r in recorders)


# ---- close() inside callbacks on every library thread -----------------------------------------

def _closes_cleanly(p, before: set[threading.Thread]) -> None:
    wait_for(lambda: not (set(rxpusher_threads()) - before), timeout=10)


def test_close_inside_a_state_observer_on_the_timer_thread(server) -> None:
    before = set(rxpusher_threads())
    p = rxpusher.Pusher("key", transport=server.transport, unavailable_timeout=0.05)
    errors = record(p.errors)
    threads: list[str] = []

    def on_state(state: str) -> None:
        if state == "unavailable":
            threads.append(threading.current_thread().name)
            p.close()

    p.state.subscribe(on_state)
    wait_for(lambda: errors.completed, timeout=5)
    assert threads == ["rxpusher-timers"]
    _closes_cleanly(p, before)
    p.close()  # a second close does nothing


def test_close_inside_on_error_on_the_auth_worker_thread(make_pusher, server) -> None:
    before = set(rxpusher_threads())

    def authorizer(channel: str, socket_id: str) -> dict:
        raise RuntimeError("auth backend down")

    p = make_pusher(authorizer=authorizer)
    server.handshake()
    errors = record(p.errors)
    threads: list[str] = []
    failures: list[BaseException] = []

    def on_error(error: Exception) -> None:
        threads.append(threading.current_thread().name)
        try:
            p.close()
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    p.channel("private-c").events("e").subscribe(on_error=on_error)
    wait_for(lambda: errors.completed, timeout=5)
    assert threads == ["rxpusher-auth"] and failures == []
    _closes_cleanly(p, before)


def test_close_inside_an_observer_on_the_scheduler_thread(make_pusher, server) -> None:
    from reactivex.scheduler import EventLoopScheduler

    deliver = EventLoopScheduler()
    before = set(rxpusher_threads())
    p = make_pusher(scheduler=deliver)
    server.handshake()
    errors = record(p.errors)
    p.events("quit").subscribe(lambda d: p.close())
    server.push("quit", {}, channel="c")
    wait_for(lambda: errors.completed, timeout=5)
    _closes_cleanly(p, before)
    deliver.dispose()


def test_close_all_closes_every_open_client(server) -> None:
    before = set(rxpusher_threads())
    clients = [rxpusher.Pusher("key", transport=server.transport) for _ in range(3)]
    server.handshake()
    rxpusher.close_all()
    assert all(c.connection_state == "disconnected" for c in clients)
    wait_for(lambda: not (set(rxpusher_threads()) - before), timeout=5)


def test_a_client_collected_unclosed_warns_and_stops_its_threads(server) -> None:
    import gc
    import warnings

    before = set(rxpusher_threads())
    client = rxpusher.Pusher("key", transport=server.transport)
    server.handshake()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    wait_for(lambda: not (set(rxpusher_threads()) - before), timeout=5)


def test_thread_storm_on_an_encrypted_channel_with_key_rotations_keeps_every_event_in_order(
        make_pusher, server) -> None:
    """The reader pushes events sealed with a key that rotates every 25 events (the first of
    each batch renews the key, the others are held meanwhile) while other threads subscribe,
    leave, ping and bind: the channel's observer gets every event, in order, one at a time."""
    import base64
    import os
    import random

    from rxpusher import _encryption as encryption

    channel = "private-encrypted-storm"
    keys = [os.urandom(32) for _ in range(8)]
    epoch = [0]

    def authorizer(name: str, socket_id: str) -> dict:
        return {"auth": "k:s", "shared_secret": base64.b64encode(keys[epoch[0]]).decode()}

    p = make_pusher(authorizer=authorizer)
    server.handshake()
    got = Recorder("encrypted")
    got.subscribe_to(p.channel(channel).events("e"))
    wait_for(lambda: server.sent("pusher:subscribe"))
    server.succeed(channel)
    stop = threading.Event()

    def churn(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            name = f"other-{rng.randrange(3)}"
            op = rng.random()
            if op < 0.3:
                p.subscribe(name)
            elif op < 0.6:
                p.unsubscribe(name)
            elif op < 0.8:
                p.channel(channel).bind("e", lambda data: None)
                p.channel(channel).unbind("e")
            else:
                p.ping()

    threads = [threading.Thread(target=churn, args=(seed,)) for seed in range(3)]
    for t in threads:
        t.start()
    total = 200
    try:
        for i in range(total):
            if i % 25 == 0:
                got.wait_count(i, timeout=20)  # the server rotates the key
                epoch[0] = i // 25
            server.push("e", encryption.encrypt(keys[epoch[0]], i), channel=channel)
        got.wait_count(total, timeout=20)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert got.items == list(range(total))
    assert got.violations == []
