"""A connection's bounded outbox: frames written without blocking, the rest by a writer of
its own.

:meth:`Outbox.put` tries to write a frame at once without blocking, from the calling thread
(the caller of ``trigger()``, the timer thread, the shared I/O thread): on a healthy socket
that is the whole send. What the socket's buffer cannot take waits in the outbox, and a
writer thread of this connection alone (``rxpusher-writer``, started then, ended once the
outbox is empty) writes it as the socket drains. So no thread that serves several clients
ever waits on one client's socket, and a send never blocks.

The outbox is bounded (:data:`OUTBOX_LIMIT` bytes of frames waiting): a frame that would pass
the bound raises :class:`OutboxFull` (``trigger()`` then raises), except the frames put with
``bounded=False``: the client's own protocol frames (subscriptions, pings) and WebSocket
control frames (pongs, close), which are small and must not be dropped. :meth:`Outbox.unsent_for` says for how long bytes have
waited without a single one going out: the client counts a send that cannot progress within
its liveness window as a dead connection.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["OUTBOX_LIMIT", "Outbox", "OutboxFull", "wait_for"]

OUTBOX_LIMIT = 1024 * 1024
"""Bytes of frames that may wait for the socket: a hundred client events of Pusher's 10 KB
limit, on top of what the kernel's buffer holds."""

_WRITER_WAKE = 0.25
"""Seconds between two tries of the writer when the socket does not say it is writable
(the kernel signals room only once a third of its buffer is free; a slow link frees less)."""

_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError)


class OutboxFull(Exception):
    """The outbox holds :data:`OUTBOX_LIMIT` bytes already: the connection does not drain."""


def wait_for(sock: socket.socket, write: bool, timeout: float | None) -> bool:
    """True when ``sock`` is readable (writable with ``write``) within ``timeout`` seconds
    (None: no limit); ``poll`` where there is one (any descriptor number), else ``select``."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLOUT if write else select.POLLIN)
        return bool(poller.poll(None if timeout is None else timeout * 1000))
    readable, writable, _ = select.select([] if write else [sock], [sock] if write else [], [],
                                          timeout)
    return bool(readable or writable)


class Outbox:
    """The frames of one non-blocking socket on their way out, in order (see the module)."""

    def __init__(self, sock: socket.socket, limit: int = OUTBOX_LIMIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sock = sock
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()  # held for a non-blocking write at most
        self._queue: deque[bytes | memoryview] = deque()
        self._size = 0
        self._since = 0.0  # when the waiting bytes last saw one byte go out
        self._writing = False  # a writer thread works for this outbox
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False

    @property
    def waiting(self) -> int:
        """Bytes put and not yet written to the socket."""
        return self._size

    def put(self, data: bytes, bounded: bool = True) -> None:
        """Send ``data`` (one whole frame) after what waits already, without blocking.
        ``OutboxFull`` when ``bounded`` and the bound would be passed; ``ConnectionError``
        once the outbox is closed or the socket failed."""
        with self._lock:
            if self._error is not None:
                raise ConnectionError(f"the socket failed: {self._error}")
            if self._closed:
                raise ConnectionError("the socket is closed")
            if not self._queue:
                sent = self._write(data)
                if sent == len(data):
                    return
                self._since = self._clock()
                self._queue.append(memoryview(data)[sent:])
                self._size = len(data) - sent
            else:
                if bounded and self._size + len(data) > self._limit:
                    raise OutboxFull(f"{self._size} bytes wait to be sent already: the "
                                     "connection does not drain")
                self._queue.append(data)
                self._size += len(data)
            if not self._writing:
                self._writing = True
                self._thread = threading.Thread(target=self._drain, name="rxpusher-writer",
                                                daemon=True)
                self._thread.start()

    def unsent_for(self) -> float:
        """Seconds bytes have waited without a single one going out (0.0: nothing waits)."""
        with self._lock:
            return self._clock() - self._since if self._queue else 0.0

    def close(self) -> None:
        """Drop what waits; nothing is written after this returns (the socket may be closed
        then)."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._size = 0

    def join(self, timeout: float | None = None) -> None:
        """Wait for the writer thread, if any, to end (never for the calling thread)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _write(self, data: bytes | memoryview) -> int:
        """One non-blocking write (lock held): bytes written, 0 when the buffer is full;
        records and raises a socket failure."""
        try:
            return self._sock.send(data)
        except _WOULD_BLOCK:
            return 0
        except (OSError, ValueError) as exc:
            self._error = exc
            self._queue.clear()
            self._size = 0
            raise ConnectionError(f"the socket failed: {exc}") from exc

    def _drain(self) -> None:
        """The writer thread: write what waits as the socket takes it, then end."""
        queue = self._queue
        while True:
            with self._lock:
                if self._closed or self._error is not None or not queue:
                    self._writing = False
                    return
                head = queue[0]
                try:
                    sent = self._write(head)
                except ConnectionError:
                    self._writing = False
                    return
                if sent:
                    self._since = self._clock()
                    self._size -= sent
                    if sent == len(head):
                        queue.popleft()
                    else:
                        queue[0] = memoryview(head)[sent:]
                    continue
            try:
                wait_for(self._sock, True, _WRITER_WAKE)
            except (OSError, ValueError):  # closed meanwhile: the next write says so
                pass
