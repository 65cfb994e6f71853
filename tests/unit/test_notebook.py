"""The Jupyter kit (rxpusher.notebook) without a browser, without pandas or IPython: the
rolling window (rows and time, in virtual time), the redraw throttle (a fake output
function counts the redraws) and the status line. The pandas, matplotlib and IPython parts
are tested in tests/docs/test_notebook_kit.py."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from rxpusher import Event
from rxpusher.notebook import LiveDisplay, RollingFrame, Status, status_line

# -- the rolling window ------------------------------------------------------------------


def test_the_row_window_keeps_the_last_n_items() -> None:
    source: Subject[Any] = Subject()
    rolling = RollingFrame(source, rows=3)
    for i in range(10):
        source.on_next({"i": i})
    assert rolling.records() == [{"i": 7}, {"i": 8}, {"i": 9}]
    assert len(rolling) == 3 and rolling.received == 10


def test_the_time_window_keeps_the_items_of_the_last_seconds_in_virtual_time() -> None:
    clock = TestScheduler()
    source: Subject[Any] = Subject()
    rolling = RollingFrame(source, seconds=5.0, clock=clock, time_column="t")
    for at in (1.0, 2.0, 6.5, 9.0):
        clock.schedule_absolute(at, lambda *_, at=at: source.on_next({"at": at}))
    clock.advance_to(9.0)
    assert [r["at"] for r in rolling.records()] == [6.5, 9.0]       # 1 and 2 are > 5 s old
    assert [r["t"] for r in rolling.records()] == [6.5, 9.0]         # arrival time on the clock
    clock.advance_to(11.5)                                           # no new item: still trimmed
    assert [r["at"] for r in rolling.records()] == [9.0]
    clock.advance_to(14.0)
    assert rolling.records() == [] and rolling.received == 4


def test_rows_and_seconds_together_apply_both_limits() -> None:
    now = [0.0]
    source: Subject[Any] = Subject()
    rolling = RollingFrame(source, rows=2, seconds=10.0, clock=lambda: now[0])
    for i in range(4):
        source.on_next(i)
    assert rolling.records() == [{"value": 2}, {"value": 3}]
    now[0] = 10.0
    assert rolling.records() == []


def test_events_become_columns_and_a_row_function_overrides() -> None:
    source: Subject[Any] = Subject()
    rolling = RollingFrame(source, rows=10)
    source.on_next(Event("new-price", "AAPL", {"price": 1.5}, None))
    source.on_next(Event("client-msg", "presence-x", "hi", "u1"))
    assert rolling.records() == [
        {"channel": "AAPL", "event": "new-price", "price": 1.5},
        {"channel": "presence-x", "event": "client-msg", "user_id": "u1", "data": "hi"},
    ]
    custom = RollingFrame(source, rows=1, row=lambda e: {"who": e.user_id})
    source.on_next(Event("e", "c", None, "u2"))
    assert custom.records() == [{"who": "u2"}]


def test_the_window_must_be_bounded_and_valid() -> None:
    source: Subject[Any] = Subject()
    for bad in ({}, {"rows": 0}, {"rows": True}, {"seconds": 0}, {"seconds": -1.0}):
        with pytest.raises(ValueError):
            RollingFrame(source, **bad)
    with pytest.raises(TypeError):
        RollingFrame(source, rows=1, clock="now")  # type: ignore[arg-type]


def test_items_from_many_threads_are_all_taken() -> None:
    source: Subject[Any] = Subject()
    rolling = RollingFrame(source, rows=100)
    start = threading.Barrier(4)

    def push(n: int) -> None:
        start.wait()
        for i in range(2_000):
            source.on_next({"thread": n, "i": i})

    threads = [threading.Thread(target=push, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rolling.received == 8_000 and len(rolling) == 100
    assert all(set(r) == {"thread", "i"} for r in rolling.records())


def test_updates_dispose_completion_and_errors() -> None:
    source: Subject[Any] = Subject()
    rolling = RollingFrame(source, rows=5)
    seen: list[int] = []
    completed: list[bool] = []
    rolling.updates.subscribe(lambda r: seen.append(r.received), on_completed=lambda: completed.append(True))
    source.on_next(1)
    source.on_next(2)
    assert seen == [1, 2]
    rolling.dispose()
    source.on_next(3)
    assert seen == [1, 2] and completed == [True] and rolling.done
    assert rolling.records() == [{"value": 1}, {"value": 2}]    # the rows stay

    failing: Subject[Any] = Subject()
    broken = RollingFrame(failing, rows=5)
    failing.on_error(ValueError("feed broke"))
    assert isinstance(broken.error, ValueError) and broken.done


def test_frame_without_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)   # `import pandas` raises ImportError
    rolling = RollingFrame(Subject(), rows=1)
    with pytest.raises(ImportError, match=r"pip install 'rxpusher\[notebook\]'"):
        rolling.frame


def test_the_module_imports_without_the_notebook_extra() -> None:
    code = ("import sys\n"
            "for name in ('pandas', 'matplotlib', 'IPython'): sys.modules[name] = None\n"
            "import rxpusher.notebook\n"
            "print(sorted(rxpusher.notebook.__all__))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "RollingFrame" in done.stdout


# -- the throttle ------------------------------------------------------------------------


def make_display(interval: float = 0.25) -> tuple[LiveDisplay[int], list[int], TestScheduler]:
    clock = TestScheduler()
    shown: list[int] = []
    display: LiveDisplay[int] = LiveDisplay(lambda n: n, interval=interval, output=shown.append,
                                            scheduler=clock)
    return display, shown, clock


def test_a_burst_of_10000_items_is_one_redraw_showing_the_last() -> None:
    display, shown, clock = make_display()
    for i in range(10_000):
        display.update(i)
    assert shown == []                  # drawn on the scheduler, not on the caller's thread
    clock.advance_by(0.001)
    assert shown == [9_999] and display.redraws == 1 and display.updates == 10_000


def test_a_fast_feed_is_drawn_at_most_once_per_interval_and_ends_on_its_last_item() -> None:
    display, shown, clock = make_display(interval=0.25)
    for i in range(10_000):                     # 10,000 items over one second of virtual time
        clock.schedule_absolute(1.0 + i / 10_000, lambda *_, i=i: display.update(i))
    redraw_times: list[float] = []
    count = 0
    while clock.clock < 3.0:
        clock.advance_by(0.01)
        if len(shown) != count:
            count = len(shown)
            redraw_times.append(clock.clock)
    assert 4 <= len(shown) <= 6, shown          # one leading redraw, then one per 0.25 s
    assert shown[0] == 0 and shown[-1] == 9_999
    gaps = [b - a for a, b in zip(redraw_times, redraw_times[1:])]
    assert all(gap >= 0.25 - 1e-9 for gap in gaps), gaps


def test_a_quiet_display_draws_the_next_state_at_once() -> None:
    display, shown, clock = make_display(interval=1.0)
    display.update(1)
    clock.advance_by(0.001)
    clock.advance_by(5.0)
    display.update(2)
    clock.advance_by(0.001)
    assert shown == [1, 2]


def test_a_burst_on_a_real_timer_thread_is_a_handful_of_redraws() -> None:
    shown: list[int] = []
    last_drawn = threading.Event()

    def output(n: int) -> None:
        shown.append(n)
        if n == 9_999:
            last_drawn.set()

    display: LiveDisplay[int] = LiveDisplay(lambda n: n, interval=0.1, output=output)
    for i in range(10_000):
        display.update(i)
    assert last_drawn.wait(5), shown
    assert len(shown) <= 3 and shown[-1] == 9_999
    display.dispose()


def test_follow_flush_and_dispose() -> None:
    display, shown, clock = make_display(interval=10.0)
    source: Subject[int] = Subject()
    display.follow(source)
    source.on_next(1)
    clock.advance_by(0.001)
    source.on_next(2)
    source.on_next(3)
    source.on_completed()               # completion draws the last state at once
    assert shown == [1]                 # ... on the scheduler
    clock.advance_by(0.001)
    assert shown == [1, 3]
    display.update(4)
    display.flush()                     # now, on this thread
    assert shown == [1, 3, 4]
    clock.advance_by(20)
    assert shown == [1, 3, 4]           # the timer found nothing left to draw
    display.update(5)
    clock.advance_by(0.001)
    assert shown == [1, 3, 4, 5]        # quiet for more than the interval: drawn at once
    display.update(6)
    clock.advance_by(1.0)
    assert shown == [1, 3, 4, 5]        # within the interval: not yet
    display.dispose()                   # a pending redraw is dropped
    clock.advance_by(20)
    assert shown == [1, 3, 4, 5]


# -- the status line ---------------------------------------------------------------------


def test_the_status_line_shows_state_channels_and_events_per_second(make_pusher, server,
                                                                    sched) -> None:
    pusher = make_pusher()
    shown: list[Status] = []
    line = status_line(pusher, interval=1.0, output=shown.append, scheduler=sched)
    server.handshake()
    pusher.channel("AAPL").events("new-price").subscribe()
    pusher.channel("MSFT").events("new-price").subscribe()
    server.succeed("AAPL")
    sched.advance_by(1.0)
    for i in range(30):
        server.push("new-price", {"price": i}, channel="AAPL")
    sched.advance_by(1.0)
    status = shown[-1]
    assert status.state == "connected"
    assert status.channels == (("AAPL", True), ("MSFT", False))
    assert status.events_per_second == 30.0 and status.reconnects == 0
    text = str(status)
    for part in ("connected", "2 channels: AAPL, MSFT (pending)", "30.0 events/s",
                 "0 reconnects", "up 2 s"):
        assert part in text, text
    assert len(shown) == 2                       # one line per health interval
    line.dispose()
    sched.advance_by(5.0)
    assert len(shown) == 2                       # disposed: no more lines

