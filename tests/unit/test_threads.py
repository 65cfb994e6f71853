"""Threads and schedulers: close() ends every thread; the ``scheduler`` option moves delivery."""

from __future__ import annotations

import threading

from reactivex.testing import TestScheduler

import rxpusher
from rxpusher.testing import ScriptedServer

from .support import record, rxpusher_threads, wait_for


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
