"""Replay of a recording made with ``Pusher.record``: a transport that plays the frames.

The recorded frames go through the normal client, so every pipeline written for the live
feed runs unchanged on the file. With a ``TestScheduler`` as ``clock`` an hour of feed plays
in milliseconds of real time, exactly on its recorded virtual times.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reactivex import abc
from reactivex.disposable import SerialDisposable
from reactivex.scheduler import VirtualTimeScheduler

from ._transport import TransportListener

if TYPE_CHECKING:
    from ._client import Pusher

__all__ = ["load_recording", "replay"]

Frames = list[tuple[float, str]]

MAX_LINE = 64 * 1024 * 1024


def load_recording(path: str | os.PathLike[str]) -> Frames:
    """The ``(t, frame)`` pairs of a recording, in file order. Raises ``ValueError`` naming
    the line for anything that is not a recorded frame, ``OSError`` when it cannot be read."""
    frames: Frames = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE:
                raise ValueError(f"{os.fspath(path)}:{number}: line longer than {MAX_LINE} characters")
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{os.fspath(path)}:{number}: not JSON ({exc})") from None
            t = entry.get("t") if isinstance(entry, dict) else None
            frame = entry.get("frame") if isinstance(entry, dict) else None
            if (not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t)
                    or t < 0 or not isinstance(frame, str)):
                raise ValueError(
                    f'{os.fspath(path)}:{number}: expected {{"t": seconds, "frame": text}}'
                )
            frames.append((float(t), frame))
    return frames


class ReplayTransport:
    """Plays recorded frames to the client at their times divided by ``speed`` (None: as
    fast as possible), on ``clock`` when given, else on a thread of its own. Sends nothing;
    reports a normal close after the last frame."""

    interactive = False
    """A recording reaches no server (see :class:`~rxpusher._transport.Transport`)."""

    def __init__(self, frames: Frames, speed: float | None, clock: abc.SchedulerBase | None,
                 held: bool = False) -> None:
        self._frames = frames
        self._speed = speed
        self._clock = clock
        self._stopped = threading.Event()
        self._go = threading.Event()  # ``held``: the thread plays once something observes
        if not held:
            self._go.set()
        self._next = SerialDisposable()
        self._thread: threading.Thread | None = None
        self.alive = True

    def _at(self, t: float) -> float:
        return 0.0 if self._speed is None else t / self._speed

    def open(self, url: str, listener: TransportListener) -> None:
        clock = self._clock
        if clock is None:
            self._thread = threading.Thread(target=self._play, args=(listener,),
                                            name="rxpusher-replay", daemon=True)
            self._thread.start()
            return
        if isinstance(clock, VirtualTimeScheduler) and isinstance(clock.clock, (int, float)):
            origin = float(clock.clock)
            schedule: Callable[[float, Any], abc.DisposableBase] = \
                lambda at, action: clock.schedule_absolute(origin + at, action)
        else:
            started = time.monotonic()
            schedule = lambda at, action: clock.schedule_relative(  # noqa: E731
                max(0.0, at - (time.monotonic() - started)), action)
        self._schedule_step(listener, 0, schedule)

    def _schedule_step(self, listener: TransportListener, index: int,
                       schedule: Callable[[float, Any], abc.DisposableBase]) -> None:
        if index >= len(self._frames):
            self._finish(listener)
            return
        at = self._at(self._frames[index][0])

        def step(scheduler: abc.SchedulerBase, state: Any = None) -> None:
            if self._stopped.is_set():
                return
            listener.on_frame(self._frames[index][1])
            if not self._stopped.is_set():
                self._schedule_step(listener, index + 1, schedule)

        self._next.disposable = schedule(at, step)

    def begin_playback(self) -> None:
        """Something observes the client (or waits on it): a held playback starts now."""
        self._go.set()

    def _play(self, listener: TransportListener) -> None:
        self._go.wait()
        if self._stopped.is_set():
            self.alive = False
            return
        started = time.monotonic()
        for t, frame in self._frames:
            delay = started + self._at(t) - time.monotonic()
            if (delay > 0 and self._stopped.wait(delay)) or self._stopped.is_set():
                break
            listener.on_frame(frame)
        else:
            self._finish(listener)
        self.alive = False

    def _finish(self, listener: TransportListener) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            self.alive = False
            listener.on_close(1000, "end of recording")

    def send(self, text: str, bounded: bool = True) -> None:
        """Nothing is sent during a replay."""

    def has_pending_input(self) -> bool:
        """Frames wait in the recording, not in a socket."""
        return False

    def unsent_for(self) -> float:
        """Nothing is sent during a replay: nothing waits."""
        return 0.0

    def close(self, code: int = 1000) -> None:
        self._stopped.set()
        self._go.set()
        self._next.dispose()
        self.alive = self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def replay(path: str | os.PathLike[str], *, speed: float | None = 1.0,
           clock: abc.SchedulerBase | None = None, **options: Any) -> Pusher:
    """A :class:`~rxpusher.Pusher` whose connection plays the recording at ``path``.

    Times count from ``connect()`` (made at once unless ``auto_connect=False``): each frame
    arrives at its recorded ``t`` divided by ``speed`` (``None``: as fast as possible).
    ``clock`` times the frames and the client's timers (a ``TestScheduler`` for virtual time:
    frames are delivered on the thread that advances it). Nothing is sent and nothing is
    authorized; a channel counts as subscribed when its ``subscription_succeeded`` is
    played. Without ``clock``, the first play (``auto_connect``) starts when something first
    observes the client (a channel's or the global ``events``, a binding, ``frames``,
    ``messages``) or waits on it (``wait_*``, ``run_forever``), so an observer attached
    right after ``replay(...)`` returns sees every frame at any speed; with
    ``auto_connect=False``, ``connect()`` plays at once. After the last frame the state becomes ``disconnected``; ``connect()`` plays the
    recording again. Other options are those of ``Pusher``; ``key`` defaults to "replay".
    """
    from ._client import Pusher

    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float))
                              or not math.isfinite(speed) or speed <= 0):
        raise ValueError(f"speed must be a positive number or None, got {speed!r}")
    frames = load_recording(path)
    key = options.pop("key", "replay")
    options.setdefault("host", "replay.invalid")
    auto_connect = options.pop("auto_connect", True)
    held = [auto_connect and clock is None]

    def transport() -> ReplayTransport:
        # the automatic first play waits for an observer, so that one subscribed on the
        # next line misses nothing, whatever the speed; connect() plays at once
        playback = ReplayTransport(frames, speed, clock, held=held[0])
        held[0] = False
        return playback

    pusher = Pusher(key, transport=transport, timer_scheduler=clock, auto_connect=False, **options)
    if auto_connect:
        pusher.connect()
    return pusher
