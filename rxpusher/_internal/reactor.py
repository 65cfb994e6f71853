"""One I/O thread for many sockets: a ``selectors`` loop, and a small pool for handshakes.

:class:`Reactor` waits on every registered socket with one selector on one thread and
calls the socket's :class:`Handler` when it is readable; the handler reads it without
blocking and reports what it read, on that thread. The thread starts with the first
registration and ends when the last socket is detached, so a process with no open
connection has none; it starts again on demand.

Registration changes made from other threads are queued and applied by the I/O thread
(woken through a socket pair), so the selector is only ever touched by the thread that
waits on it, and a socket is unregistered before it is closed (its file descriptor can
then be reused safely).

The handshakes run on the process's :class:`~rxpusher._internal.pool.Pool` of up to eight
short-lived ``rxpusher-connect`` threads (:func:`shared_connector`), which end when no
handshake is waiting.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
from typing import Protocol

from .pool import Pool

log = logging.getLogger("rxpusher")

__all__ = ["Handler", "Reactor", "Registration", "shared_connector", "shared_reactor"]


class Handler(Protocol):
    """What the I/O thread calls for one registered socket."""

    def on_readable(self) -> bool:
        """The socket is readable: read it without blocking; False to detach it."""

    def on_detached(self) -> None:
        """The socket left the selector (it may be closed now); called once, last."""


class Registration:
    """A socket in a :class:`Reactor`; :meth:`Reactor.detach` takes it out."""

    __slots__ = ("sock", "handler", "state")

    def __init__(self, sock: socket.socket, handler: Handler) -> None:
        self.sock = sock
        self.handler = handler
        self.state = "pending"  # then "active", then "done"


class Reactor:
    """A selector and the one thread (named ``name``) that waits on it, while it has
    sockets."""

    def __init__(self, name: str = "rxpusher-reader") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._changes: list[tuple[Registration, bool]] = []  # (registration, add)
        self._count = 0  # registrations not done yet
        self._thread: threading.Thread | None = None
        self._running = False  # the thread accepts work (False once it decided to end)
        self._waker: socket.socket | None = None

    @property
    def thread(self) -> threading.Thread | None:
        """The I/O thread (the last one started; it may be ending)."""
        return self._thread

    @property
    def connections(self) -> int:
        """Sockets registered or waiting to be."""
        return self._count

    def register(self, sock: socket.socket, handler: Handler) -> Registration:
        """Watch ``sock`` (non-blocking) for reads; the handler is called on the I/O thread,
        once at once (input may wait in a buffer already) and then whenever it is readable."""
        registration = Registration(sock, handler)
        with self._lock:
            self._changes.append((registration, True))
            self._count += 1
            if not self._running:
                self._start()
            else:
                self._wake()
        return registration

    def detach(self, registration: Registration) -> None:
        """Take the socket out (from any thread); its handler's ``on_detached`` runs on the
        I/O thread, unless it is detached already."""
        with self._lock:
            if registration.state == "done" or not self._running:
                return
            self._changes.append((registration, False))
            self._wake()

    def join_idle(self, timeout: float) -> None:
        """When no socket is left, wait up to ``timeout`` for the I/O thread to end (never
        for the calling thread)."""
        with self._lock:
            thread = self._thread if self._count == 0 else None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _start(self) -> None:
        """Start a thread with a fresh selector and waker (lock held)."""
        selector = selectors.DefaultSelector()
        wake_in, self._waker = socket.socketpair()
        wake_in.setblocking(False)
        self._waker.setblocking(False)
        selector.register(wake_in, selectors.EVENT_READ, None)
        self._running = True
        self._thread = threading.Thread(target=self._run, args=(selector, wake_in),
                                        name=self._name, daemon=True)
        self._thread.start()

    def _wake(self) -> None:
        """Interrupt the thread's ``select`` (lock held)."""
        try:
            if self._waker is not None:
                self._waker.send(b"\0")
        except (BlockingIOError, InterruptedError):  # already full of wake-ups
            pass

    def _run(self, selector: selectors.BaseSelector, wake_in: socket.socket) -> None:
        waker = self._waker
        try:
            while True:
                detached: list[Registration] = []
                added: list[Registration] = []
                with self._lock:
                    changes, self._changes = self._changes, []
                    for registration, add in changes:
                        self._apply(selector, registration, add, detached)
                        if add and registration.state == "active":
                            added.append(registration)
                    ending = self._count == 0
                    if ending:
                        self._running = False
                        self._waker = None
                for registration in detached:
                    self._detached(registration)
                if ending:
                    return
                for registration in added:  # bytes may wait already (TLS buffers them)
                    if registration.state == "active":
                        self._ready(selector, registration)
                if added and self._count == 0:
                    continue  # those reads ended the last connection: end, don't select
                try:
                    ready = selector.select()
                except (OSError, ValueError) as exc:  # a socket closed behind our back
                    log.warning("I/O thread: select failed (%s); dropping closed sockets", exc)
                    self._drop_closed(selector)
                    continue
                for key, _ in ready:
                    registration = key.data
                    if registration is None:
                        _drain(wake_in)
                    elif registration.state == "active":
                        self._ready(selector, registration)
        finally:
            selector.close()
            wake_in.close()
            if waker is not None:
                waker.close()

    def _apply(self, selector: selectors.BaseSelector, registration: Registration, add: bool,
               detached: list[Registration]) -> None:
        """Register or unregister one socket (on the I/O thread, lock held)."""
        if add:
            try:
                selector.register(registration.sock, selectors.EVENT_READ, registration)
                registration.state = "active"
                return
            except (OSError, ValueError, KeyError) as exc:  # closed or bad meanwhile
                log.debug("cannot watch a socket: %s", exc)
        elif registration.state == "active":
            selector.unregister(registration.sock)
        elif registration.state == "done":
            return
        registration.state = "done"
        self._count -= 1
        detached.append(registration)

    def _drop_closed(self, selector: selectors.BaseSelector) -> None:
        """Detach every registered socket that was closed while registered."""
        for key in list(selector.get_map().values()):
            registration = key.data
            if registration is not None and registration.sock.fileno() < 0:
                self._finish(selector, registration)

    def _ready(self, selector: selectors.BaseSelector, registration: Registration) -> None:
        """Let the handler read; detach the socket when it is done with it."""
        try:
            keep = registration.handler.on_readable()
        except Exception:  # noqa: BLE001 - the I/O thread serves every other socket too
            log.exception("socket handler failed")
            keep = False
        if not keep and registration.state == "active":
            self._finish(selector, registration)

    def _finish(self, selector: selectors.BaseSelector, registration: Registration) -> None:
        """Take an active socket out of the selector and tell its handler (I/O thread)."""
        selector.unregister(registration.sock)
        with self._lock:
            registration.state = "done"
            self._count -= 1
        self._detached(registration)

    @staticmethod
    def _detached(registration: Registration) -> None:
        try:
            registration.handler.on_detached()
        except Exception:  # noqa: BLE001
            log.exception("socket handler failed")

    def _after_fork(self) -> None:
        """In a forked child the thread is gone: start afresh."""
        self._lock = threading.Lock()
        self._changes = []
        self._count = 0
        self._thread = None
        self._running = False
        self._waker = None


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except (BlockingIOError, InterruptedError):
        pass


_reactor = Reactor()
_connector = Pool(8, "rxpusher-connect")


def shared_reactor() -> Reactor:
    """The process's I/O thread."""
    return _reactor


def shared_connector() -> Pool:
    """The process's handshake pool."""
    return _connector


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reactor._after_fork)
    os.register_at_fork(after_in_child=_connector.after_fork)
