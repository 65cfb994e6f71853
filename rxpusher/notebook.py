"""A Jupyter kit: a rolling pandas DataFrame of a stream, live tables and charts redrawn in
place (throttled), and a status line for a client.

Needs the ``notebook`` extra (``pip install 'rxpusher[notebook]'``) for the parts that use
pandas, matplotlib or IPython; ``import rxpusher.notebook`` itself works without them, and
a feature that needs one raises ``ImportError`` naming the extra.

>>> from rxpusher.notebook import RollingFrame, live_table, status_line  # doctest: +SKIP
>>> ticks = RollingFrame(pusher.channel("AAPL").events("new-price"), rows=500)  # doctest: +SKIP
>>> live_table(ticks, tail=10)          # redraws in place, at most 4 times a second  # doctest: +SKIP
>>> status_line(pusher)                 # state, channels, events/s, every second  # doctest: +SKIP

Threads: items of a stream arrive on library threads (the connection's reader, a timer);
:class:`RollingFrame` takes them under a lock. Redraws run on the ``scheduler`` of the
display: by default, inside a notebook, the kernel's own asyncio loop, so tables and charts
are drawn on the kernel's thread whenever a cell awaits or has finished.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, SerialDisposable
from reactivex.subject import Subject

from ._states import Health
from ._protocol import Event

if TYPE_CHECKING:  # only for the type checker: the extra is optional at run time
    from ._client import Pusher

    try:
        from matplotlib.axes import Axes
        from matplotlib.figure import Figure
    except ImportError:  # documentation built without the extra (pdoc runs this block)
        Axes = Figure = Any  # type: ignore[misc,assignment]

__all__ = [
    "RollingFrame",
    "LiveDisplay",
    "live_table",
    "live_chart",
    "Status",
    "status_line",
    "ipython_output",
    "wait_until",
]

T = TypeVar("T")
Output = Callable[[Any], None]
"""Where a :class:`LiveDisplay` puts each rendering: called with the object to show."""
Clock = Callable[[], float] | abc.SchedulerBase

DataFrame: TypeAlias = Any
"""A ``pandas.DataFrame`` (pandas ships no type hints of its own)."""

EXTRA_HINT = "pip install 'rxpusher[notebook]'"


def _require(module: str) -> ModuleType:
    """Import ``module`` of the ``notebook`` extra, or raise an ImportError that names it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this part of rxpusher.notebook needs {module.split('.')[0]}: {EXTRA_HINT}"
        ) from exc


def _now_function(clock: Clock | None) -> Callable[[], float]:
    """Seconds from ``clock``: a function, a reactivex scheduler (virtual time for a
    ``TestScheduler``), or None for ``time.monotonic``."""
    if clock is None:
        return time.monotonic
    if isinstance(clock, abc.SchedulerBase):
        scheduler = clock
        return lambda: scheduler.to_seconds(scheduler.now)
    if callable(clock):
        return clock
    raise TypeError(f"clock must be a function returning seconds or a scheduler, got {clock!r}")


def _as_row(item: Any) -> dict[str, Any]:
    """The default row of an item: a mapping as it is, an ``Event`` as its four fields with a
    mapping ``data`` spread into columns, anything else as ``{"value": item}``."""
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, Event):
        row: dict[str, Any] = {"channel": item.channel, "event": item.name}
        if item.user_id is not None:
            row["user_id"] = item.user_id
        if isinstance(item.data, Mapping):
            row.update(item.data)
        else:
            row["data"] = item.data
        return row
    return {"value": item}


class RollingFrame:
    """The last ``rows`` items of a stream, or those of the last ``seconds``, or both limits,
    as rows of a pandas DataFrame.

    Subscribes to ``source`` at once (an Observable of dicts, ``Event`` records or plain
    values). ``row`` turns an item into a dict of columns; by default a mapping is taken
    as it is, an ``Event`` gives ``channel``, ``event`` (and ``user_id``) plus its ``data``
    spread into columns when that is a mapping (else a ``data`` column), and anything else
    a ``value`` column. Items may arrive on any thread: they are taken under a lock, and :attr:`frame`
    is a consistent snapshot. With ``time_column`` the arrival time on ``clock`` is a column
    too. ``clock`` is a function returning seconds or a reactivex scheduler (a
    ``TestScheduler`` for virtual time); by default ``time.monotonic``.

    :attr:`updates` emits this object after each item, on the thread that delivered it.
    Disposing (or the source completing or failing) stops taking items; the rows stay.
    """

    def __init__(self, source: Observable[Any], *, rows: int | None = None,
                 seconds: float | None = None, row: Callable[[Any], Mapping[str, Any]] | None = None,
                 time_column: str | None = None, index: str | None = None,
                 clock: Clock | None = None) -> None:
        if rows is None and seconds is None:
            raise ValueError("give rows=, seconds= or both: the window must be bounded")
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
            raise ValueError(f"rows must be a positive int, got {rows!r}")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or not seconds > 0):
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        self._max_rows = rows
        self._seconds = None if seconds is None else float(seconds)
        self._row = row or _as_row
        self._time_column = time_column
        self._index = index
        self._now = _now_function(clock)
        self._lock = threading.Lock()
        self._items: deque[tuple[float, dict[str, Any]]] = deque(maxlen=rows)
        self._total = 0
        self._error: Exception | None = None
        self._done = False
        self._updates: Subject[RollingFrame] = Subject()
        self._subscription = SerialDisposable()
        self._subscription.disposable = source.subscribe(
            self._on_next, self._on_error, self._on_completed)

    def __repr__(self) -> str:
        return f"<RollingFrame {len(self)} rows of {self.received} received>"

    def __len__(self) -> int:
        with self._lock:
            self._trim(self._now())
            return len(self._items)

    def __enter__(self) -> RollingFrame:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    def _trim(self, now: float) -> None:
        if self._seconds is not None:
            horizon = now - self._seconds
            while self._items and self._items[0][0] <= horizon:
                self._items.popleft()

    def _on_next(self, item: Any) -> None:
        values = dict(self._row(item))
        now = self._now()
        if self._time_column is not None:
            values[self._time_column] = now
        with self._lock:
            if self._done:
                return
            self._items.append((now, values))
            self._total += 1
            self._trim(now)
        self._updates.on_next(self)

    def _on_error(self, error: Exception) -> None:
        with self._lock:
            self._error, self._done = error, True
        self._updates.on_completed()

    def _on_completed(self) -> None:
        with self._lock:
            self._done = True
        self._updates.on_completed()

    @property
    def updates(self) -> Observable[RollingFrame]:
        """Emits this object after each item taken (on the thread that delivered the item);
        completes when the source ends or this is disposed."""
        return self._updates

    @property
    def received(self) -> int:
        """How many items were taken since the start (also those the window dropped)."""
        with self._lock:
            return self._total

    @property
    def error(self) -> Exception | None:
        """The error the source ended with, if it did."""
        with self._lock:
            return self._error

    @property
    def done(self) -> bool:
        """True once the source completed or failed, or after :meth:`dispose`."""
        with self._lock:
            return self._done

    def records(self) -> list[dict[str, Any]]:
        """The rows in the window, oldest first, as a list of dicts (no pandas needed)."""
        with self._lock:
            self._trim(self._now())
            return [dict(values) for _, values in self._items]

    @property
    def frame(self) -> DataFrame:
        """A DataFrame of the rows in the window, oldest first (a snapshot: later items do not
        change it), indexed by the ``index`` column when one was given. Needs pandas."""
        pd = _require("pandas")
        records = self.records()
        frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
        if self._index is not None and self._index in frame.columns:
            frame = frame.set_index(self._index)
        return frame

    def dispose(self) -> None:
        """Stop taking items (the rows stay) and complete :attr:`updates`."""
        self._subscription.dispose()
        with self._lock:
            was_done, self._done = self._done, True
        if not was_done:
            self._updates.on_completed()


class _Text:
    """Plain text that a notebook shows as it is (no quotes, unlike a ``str``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def ipython_output(placeholder: object = "(waiting for data)",
                   display_id: str | None = None) -> Output:
    """An :data:`Output` for Jupyter. Shows ``placeholder`` at once, in the cell that calls
    this (a ``str`` is shown as plain text), with ``IPython.display.display`` and a display
    id; every call then replaces it in place (``update_display``), whichever cell runs at
    the time and whichever thread calls. Needs IPython.

    Outside a kernel (plain ``python`` with IPython installed), where there is no display to
    update, it falls back to plain output: each drawing is printed on stdout as text, unless
    it is the same text as the one before."""
    ipd = _require("IPython.display")
    shown = _Text(placeholder) if isinstance(placeholder, str) else placeholder
    handle = ipd.display(shown, display_id=display_id or True)
    if handle is None:  # no kernel: display() printed the placeholder and gives no handle
        return _plain_output()

    def output(obj: Any) -> None:
        handle.update(obj)

    return output


def _plain_output() -> Output:
    """An :data:`Output` that prints each new drawing's text on stdout (a terminal)."""
    last: list[str | None] = [None]

    def output(obj: Any) -> None:
        if hasattr(obj, "savefig"):  # a matplotlib figure has no text to show: say so, once
            text = ("rxpusher.notebook: a live chart is drawn in a notebook only (no kernel "
                    "here); print RollingFrame.frame, or use live_table, instead")
        else:
            text = str(obj)
        if text != last[0]:
            last[0] = text
            print(text, flush=True)

    return output


def _default_scheduler() -> abc.SchedulerBase:
    """The kernel's asyncio loop when called on it (inside a notebook cell), else a timer
    thread."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        from reactivex.scheduler import TimeoutScheduler

        return TimeoutScheduler()
    from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

    return AsyncIOThreadSafeScheduler(loop)


class LiveDisplay(Generic[T]):
    """A display redrawn in place from the latest state, at most once per ``interval``.

    :meth:`update` (from any thread) records the latest state; a redraw calls
    ``render(state)`` and hands the result to ``output`` (by default :func:`ipython_output`:
    a display in the cell that creates this, showing ``placeholder`` until the first
    redraw, then updated in place). Redraws are coalesced, never queued: a state
    arriving while one is pending replaces it, so a burst of any size costs at most one
    redraw per interval, and the last state is always the one drawn last. The first update
    after a quiet interval is drawn at once (on the scheduler).

    Redraws run on ``scheduler``: by default, when created on a running asyncio loop (a
    notebook cell), that loop, so ``render`` runs on the kernel's thread; elsewhere a timer
    thread. Tests pass a ``TestScheduler`` and an ``output`` of their own.
    """

    def __init__(self, render: Callable[[T], Any], *, interval: float = 0.25,
                 output: Output | None = None, scheduler: abc.SchedulerBase | None = None,
                 placeholder: object = "(waiting for data)") -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}")
        self._render = render
        self._interval = float(interval)
        self._output = output if output is not None else ipython_output(placeholder)
        self._scheduler = scheduler if scheduler is not None else _default_scheduler()
        self._lock = threading.Lock()
        self._draw_lock = threading.Lock()
        self._state: T | None = None
        self._pending = False
        self._last_draw: float | None = None
        self._redraws = 0
        self._updates = 0
        self._disposed = False
        self._timer: abc.DisposableBase | None = None
        self._sources = CompositeDisposable()

    def __repr__(self) -> str:
        return f"<LiveDisplay {self._redraws} redraws of {self._updates} updates>"

    def _now(self) -> float:
        return self._scheduler.to_seconds(self._scheduler.now)

    @property
    def redraws(self) -> int:
        """How many times the display was drawn."""
        with self._lock:
            return self._redraws

    @property
    def pending(self) -> bool:
        """True while a redraw is scheduled (the latest state is not drawn yet)."""
        with self._lock:
            return self._pending

    @property
    def updates(self) -> int:
        """How many states :meth:`update` received."""
        with self._lock:
            return self._updates

    def update(self, state: T) -> None:
        """Make ``state`` the one to draw next; schedules a redraw unless one is pending.
        Any thread; returns at once."""
        with self._lock:
            if self._disposed:
                return
            self._state = state
            self._updates += 1
            if self._pending:
                return
            self._pending = True
            now = self._now()
            delay = 0.0 if self._last_draw is None else max(
                0.0, self._last_draw + self._interval - now)
        # The previous timer has run (or found nothing pending): it is not disposed, which on
        # an asyncio loop would block this (library) thread until the loop is free.
        self._timer = self._scheduler.schedule_relative(delay, self._redraw)

    def _redraw(self, scheduler: abc.SchedulerBase | None = None, _: Any = None) -> None:
        with self._draw_lock:  # one redraw at a time, whatever the scheduler's threads
            with self._lock:
                if self._disposed or not self._pending:
                    return  # drawn meanwhile by flush(), or disposed
                state = self._state
                self._pending = False
                self._last_draw = self._now()
                self._redraws += 1
            self._output(self._render(state))  # type: ignore[arg-type]

    def flush(self) -> None:
        """Draw the latest state now, on the calling thread, if a redraw is pending."""
        self._redraw()  # the timer then finds nothing pending

    def _draw_soon(self) -> None:
        """Draw a pending state on the scheduler now, without waiting for the interval."""
        with self._lock:
            if not self._pending or self._disposed:
                return
        self._timer = self._scheduler.schedule(self._redraw)

    def follow(self, source: Observable[T]) -> abc.DisposableBase:
        """Subscribe to ``source`` and :meth:`update` with each item; when it ends, a pending
        state is drawn at once (on the scheduler). Disposed with this display."""
        subscription = source.subscribe(self.update, on_completed=self._draw_soon,
                                        on_error=lambda _: self._draw_soon())
        self._sources.add(subscription)
        return subscription

    def dispose(self) -> None:
        """Stop following the sources and drop a pending redraw; what is shown stays."""
        with self._lock:
            self._disposed = True
            self._pending = False
        self._sources.dispose()
        timer = self._timer
        if timer is not None:
            timer.dispose()


def _follow_rolling(rolling: RollingFrame,
                    display: LiveDisplay[RollingFrame]) -> LiveDisplay[RollingFrame]:
    """Draw ``rolling`` now and after each item it takes."""
    display.update(rolling)
    display.follow(rolling.updates)
    return display


def live_table(rolling: RollingFrame, *, tail: int | None = None, interval: float = 0.25,
               output: Output | None = None,
               scheduler: abc.SchedulerBase | None = None) -> LiveDisplay[RollingFrame]:
    """Show ``rolling.frame`` (its last ``tail`` rows when given) in the cell and redraw it in
    place as rows arrive, at most once per ``interval`` seconds (see :class:`LiveDisplay`
    for the threads). Returns the display; dispose it to stop updating."""
    def render(r: RollingFrame) -> Any:
        frame = r.frame
        return frame.tail(tail) if tail is not None else frame

    return _follow_rolling(rolling, LiveDisplay(render, interval=interval, output=output,
                                                scheduler=scheduler))


def live_chart(rolling: RollingFrame,
               plot: Callable[[DataFrame, Axes], None] | None = None, *,
               interval: float = 0.5, figsize: tuple[float, float] = (8.0, 3.5),
               output: Output | None = None,
               scheduler: abc.SchedulerBase | None = None) -> LiveDisplay[RollingFrame]:
    """A matplotlib chart of ``rolling.frame``, redrawn in place as rows arrive, at most once
    per ``interval`` seconds. ``plot(frame, ax)`` draws on cleared axes once there are rows (default:
    ``frame.plot(ax=ax)`` of the numeric columns). Drawing runs on the display's scheduler
    (the kernel's thread in a notebook). Needs matplotlib (the Agg or inline backend)."""
    _require("matplotlib")
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)  # not pyplot's: nothing shows it twice or keeps it alive
    ax = figure.add_subplot()

    def render(r: RollingFrame) -> Figure:
        frame = r.frame
        ax.clear()
        if frame.empty:
            return figure
        if plot is not None:
            plot(frame, ax)
        else:
            numeric = frame.select_dtypes("number")
            if not numeric.empty:
                numeric.plot(ax=ax)
        return figure

    return _follow_rolling(rolling, LiveDisplay(render, interval=interval, output=output,
                                                scheduler=scheduler))


@dataclass(frozen=True)
class Status:
    """One status line of a client: its state, its channels and their states, and the
    figures of the latest :class:`~rxpusher.Health` snapshot. ``str()`` (and the notebook's
    display) is the line itself."""

    state: str
    channels: tuple[tuple[str, bool], ...]
    """``(name, subscribed)`` of each channel subscribed or subscribing."""
    events_per_second: float
    frames: int
    reconnects: int
    connected_for: float | None
    last_frame_age: float | None

    @classmethod
    def of(cls, health: Health, channels: Iterable[Any]) -> Status:
        """The status from a health snapshot and ``pusher.all_channels()``."""
        return cls(
            state=str(health.state),
            channels=tuple(sorted((str(c.name), bool(c.subscribed)) for c in channels)),
            events_per_second=health.frames_per_second,
            frames=health.frames,
            reconnects=health.reconnects,
            connected_for=health.connected_for,
            last_frame_age=health.last_frame_age,
        )

    def __str__(self) -> str:
        names = ", ".join(name if subscribed else f"{name} (pending)"
                          for name, subscribed in self.channels) or "none"
        parts = [self.state, f"{len(self.channels)} channel{'' if len(self.channels) == 1 else 's'}: {names}",
                 f"{self.events_per_second:.1f} events/s", f"{self.frames} frames"]
        if self.connected_for is not None:
            parts.append(f"up {self.connected_for:.0f} s")
        parts.append(f"{self.reconnects} reconnects")
        if self.last_frame_age is not None:
            parts.append(f"last frame {self.last_frame_age:.1f} s ago")
        return " | ".join(parts)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def status_line(pusher: Pusher, *, interval: float = 1.0, output: Output | None = None,
                scheduler: abc.SchedulerBase | None = None) -> LiveDisplay[Status]:
    """A line showing ``pusher``'s state, channels and events/s, redrawn in place every
    ``interval`` seconds from ``pusher.health(interval)`` (which subscribes no channel).
    Completes with the client. Returns the display; dispose it to stop."""
    display: LiveDisplay[Status] = LiveDisplay(
        lambda status: status, interval=0.0, output=output, scheduler=scheduler,
        placeholder=f"{pusher.connection_state} (waiting for the first health snapshot)")
    def status(health: Health) -> Status:
        return Status.of(health, pusher.all_channels())

    display.follow(pusher.health(interval).pipe(ops.map(status)))
    return display


async def wait_until(condition: Callable[[], object], timeout: float = 5.0,
                     poll: float = 0.01) -> None:
    """Wait on the running loop until ``condition()`` is true, re-checking every ``poll``
    seconds; ``TimeoutError`` after ``timeout``. The notebook's loop stays free meanwhile
    (live displays keep redrawing), unlike ``time.sleep``."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(poll)

