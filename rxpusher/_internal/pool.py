"""Worker threads for blocking calls: WebSocket handshakes, authorizers and auth endpoints.

:class:`Pool` runs jobs on up to ``size`` threads named ``name``, started on demand; each
ends as soon as no job waits, so an idle process has none. The process shares one pool for
handshakes (:func:`rxpusher._internal.reactor.shared_connector`); each client has one for
its authorizations, which :meth:`Pool.close` stops when the client closes.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("rxpusher")

__all__ = ["Pool"]


class Pool:
    """Runs blocking jobs on up to ``size`` short-lived threads named ``name``."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: collections.deque[tuple[Callable[[], None], threading.Event]] = (
            collections.deque()
        )
        self._threads: set[threading.Thread] = set()  # in their loop
        self._busy: set[threading.Thread] = set()  # running a job
        self._ending: list[threading.Thread] = []  # left their loop
        self._closed = False

    def submit(self, job: Callable[[], None]) -> threading.Event:
        """Run ``job()`` on a pool thread, after the jobs submitted before it; the event is
        set once it has run (or was dropped by :meth:`close`) and its thread is free again."""
        done = threading.Event()
        with self._lock:
            if self._closed:
                done.set()
                return done
            self._jobs.append((job, done))
            self._changed.notify_all()  # for join_idle: a job waits
            if len(self._threads) - len(self._busy) < len(self._jobs) \
                    and len(self._threads) < self._size:
                thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._threads.add(thread)
                thread.start()
        return done

    def join_idle(self, timeout: float) -> None:
        """When no job waits or runs (on another thread), wait up to ``timeout`` for the
        pool's threads to end; never waits for a job (another client's handshake)."""
        current = threading.current_thread()
        deadline = time.monotonic() + timeout

        def idle() -> bool:
            return not (self._threads - {current})

        with self._lock:
            if not self._changed.wait_for(
                lambda: idle() or bool(self._jobs) or bool(self._busy - {current}), timeout
            ) or not idle():
                return
            ending = [t for t in self._ending if t is not current]
            self._ending = [t for t in self._ending if t.is_alive()]
        for thread in ending:
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float) -> None:
        """Drop the jobs that wait and accept no more; wait up to ``timeout`` seconds (one
        deadline) for the jobs under way and the threads to end, never for this thread."""
        current = threading.current_thread()
        with self._lock:
            self._closed = True
            dropped = list(self._jobs)
            self._jobs.clear()
            threads = [t for t in (*self._threads, *self._ending) if t is not current]
            self._changed.notify_all()
        for _, done in dropped:
            done.set()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        current = threading.current_thread()
        done: threading.Event | None = None
        while True:
            with self._lock:
                self._busy.discard(current)
                if done is not None:
                    done.set()
                if not self._jobs:
                    self._threads.discard(current)
                    self._ending.append(current)
                    self._changed.notify_all()
                    return
                job, done = self._jobs.popleft()
                self._busy.add(current)
                self._changed.notify_all()  # for join_idle: a job runs
            try:
                job()
            except Exception:  # noqa: BLE001 - a pool thread must never die silently
                log.exception("%s job failed", self._name)

    def after_fork(self) -> None:
        """In a forked child the threads are gone: start afresh."""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs = collections.deque()
        self._threads = set()
        self._busy = set()
        self._ending = []
