"""The process-wide timer thread: per-client handles, one thread that exists only while
timers are pending, and a handle disposed from inside its own action."""

from __future__ import annotations

import threading
from typing import Any

from rxpusher._internal.timers import TimerThread, shared_timers

from .support import wait_for


def test_clients_share_one_thread_and_dispose_only_their_own_timers() -> None:
    timers = TimerThread("rxpusher-test-timers")
    first, second = timers.handle(), timers.handle()
    ran: list[tuple[str, str]] = []
    done = threading.Event()

    def action(name: str) -> Any:
        def run(scheduler: Any, state: Any) -> None:
            ran.append((name, threading.current_thread().name))
            if name == "second-late":
                done.set()
        return run

    first.schedule_relative(0.05, action("first"))
    second.schedule_relative(0.01, action("second"))
    second.schedule_relative(0.08, action("second-late"))
    first.dispose()  # cancels "first" only
    first.schedule_relative(0.0, action("after-dispose"))  # ignored
    assert done.wait(5)
    assert ran == [("second", "rxpusher-test-timers"), ("second-late", "rxpusher-test-timers")]
    wait_for(lambda: timers.thread is None)


def test_the_thread_ends_when_every_pending_timer_is_cancelled() -> None:
    timers = TimerThread("rxpusher-test-timers")
    handle = timers.handle()
    d1 = handle.schedule_relative(3600, lambda s, st: None)
    handle.schedule_relative(3600, lambda s, st: None)
    thread = timers.thread
    assert thread is not None and thread.is_alive()
    d1.dispose()
    assert timers.thread is thread  # one timer is still pending
    handle.dispose()
    handle.join(5)  # no timer left: join waits for the thread to end
    assert not thread.is_alive() and timers.thread is None
    # and it starts again on demand
    fired = threading.Event()
    timers.handle().schedule(lambda s, st: fired.set())
    assert fired.wait(5)


def test_cancelled_timers_do_not_pile_up() -> None:
    timers = TimerThread("rxpusher-test-timers")
    handle = timers.handle()
    keep = handle.schedule_relative(3600, lambda s, st: None)
    for _ in range(10_000):  # a timer re-armed at every frame
        handle.schedule_relative(3600, lambda s, st: None).dispose()
    assert len(timers._heap) < 600
    keep.dispose()
    handle.join(5)
    assert timers.thread is None


def test_dispose_and_join_inside_its_own_action() -> None:
    timers = TimerThread("rxpusher-test-timers")
    handle = timers.handle()
    other = timers.handle()
    later: list[str] = []
    returned = threading.Event()

    def close(scheduler: Any, state: Any) -> None:
        handle.dispose()
        handle.join(5)  # returns at once: this thread runs the action
        returned.set()

    handle.schedule_relative(0.01, close)
    handle.schedule_relative(0.5, lambda s, st: later.append("mine"))
    other.schedule_relative(0.05, lambda s, st: later.append("other"))
    assert returned.wait(5)
    wait_for(lambda: timers.thread is None)
    assert later == ["other"]


def test_a_failing_action_does_not_stop_the_others(caplog: Any) -> None:
    timers = TimerThread("rxpusher-test-timers")
    handle = timers.handle()
    fired = threading.Event()

    def fail(scheduler: Any, state: Any) -> None:
        raise RuntimeError("boom")

    handle.schedule_relative(0.0, fail)
    handle.schedule_relative(0.01, lambda s, st: fired.set())
    assert fired.wait(5)
    assert "timer action failed" in caplog.text


def test_clients_use_the_process_wide_thread() -> None:
    import rxpusher

    a = rxpusher.Pusher("key", auto_connect=False)
    b = rxpusher.Pusher("key", auto_connect=False)
    try:
        assert a._session._owned_scheduler is not None
        assert a._session._owned_scheduler._timers is shared_timers()
        assert b._session._owned_scheduler._timers is shared_timers()
    finally:
        a.close()
        b.close()
