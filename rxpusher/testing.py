"""A testing kit: drive a :class:`~rxpusher.Pusher` with scripted frames, no network.

>>> from reactivex.testing import TestScheduler
>>> server = ScriptedServer()
>>> pusher = Pusher("key", transport=server.transport, timer_scheduler=TestScheduler())  # doctest: +SKIP
>>> server.handshake()                        # the client is now connected  # doctest: +SKIP
>>> server.push("my-event", {"x": 1}, channel="my-channel")                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from reactivex import Observable, abc

from ._states import AttemptCause
from ._protocol import encode_frame
from ._transport import TransportListener

__all__ = ["Recorder", "ScriptedServer", "ScriptedTransport", "record", "wait_until"]

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0


class Recorder(abc.ObserverBase[T], Generic[T]):
    """A thread-safe observer that records every notification, checks the Rx contract and
    waits for conditions with a deadline.

    ``violations`` lists every breach of the contract it saw: two notifications at once
    (from two threads), or anything after ``on_completed``/``on_error``.

    >>> recorder = record(pusher.channel("c").events("e"))   # doctest: +SKIP
    >>> recorder.wait_count(3)                               # doctest: +SKIP
    """

    def __init__(self, name: str = "recorder") -> None:
        self.name = name
        self._cond = threading.Condition()
        self._inside = 0
        self.items: list[T] = []
        self.errors: list[BaseException] = []
        self.completed = False
        self.violations: list[str] = []
        self.subscription: abc.DisposableBase | None = None

    # ---- the observer --------------------------------------------------------------------

    def _enter(self, what: str) -> None:
        with self._cond:
            self._inside += 1
            if self._inside > 1:
                self.violations.append(f"{what} overlapped another notification")
            if self.completed or self.errors:
                self.violations.append(f"{what} after the terminal notification")

    def _leave(self) -> None:
        with self._cond:
            self._inside -= 1
            self._cond.notify_all()

    def on_next(self, value: T) -> None:
        self._enter("on_next")
        with self._cond:
            self.items.append(value)
        self._leave()

    def on_error(self, error: Exception) -> None:
        self._enter("on_error")
        with self._cond:
            self.errors.append(error)
        self._leave()

    def on_completed(self) -> None:
        self._enter("on_completed")
        with self._cond:
            self.completed = True
        self._leave()

    def subscribe_to(self, observable: Observable[T]) -> abc.DisposableBase:
        """Subscribe to ``observable``; the disposable is also kept in ``subscription``."""
        self.subscription = observable.subscribe(self.on_next, self.on_error, self.on_completed)
        return self.subscription

    def dispose(self) -> None:
        """Dispose the subscription made by :meth:`subscribe_to`."""
        assert self.subscription is not None, "not subscribed"
        self.subscription.dispose()

    # ---- inspection ----------------------------------------------------------------------

    @property
    def error(self) -> BaseException | None:
        """The error received, or None (asserts there was at most one)."""
        assert len(self.errors) <= 1, f"more than one error: {self.errors}"
        return self.errors[0] if self.errors else None

    @property
    def done(self) -> bool:
        """True after ``on_completed`` or ``on_error``."""
        return self.completed or bool(self.errors)

    terminated = done

    def snapshot(self) -> list[T]:
        """A copy of the items so far."""
        with self._cond:
            return list(self.items)

    def wait(self, predicate: Callable[[Recorder[T]], Any], timeout: float = DEFAULT_TIMEOUT,
             what: str = "condition") -> None:
        """Wait until ``predicate(self)`` holds; ``AssertionError`` after ``timeout`` s."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; {self.name}: "
                    f"items={self.items!r} errors={self.errors!r} completed={self.completed}"
                )

    def wait_count(self, n: int, timeout: float = DEFAULT_TIMEOUT) -> list[T]:
        """Wait for at least ``n`` items; a copy of the items."""
        self.wait(lambda r: len(r.items) >= n, timeout, f"{n} item(s)")
        return self.snapshot()

    def wait_item(self, predicate: Callable[[T], bool], timeout: float = DEFAULT_TIMEOUT,
                  what: str = "") -> T:
        """Wait for an item matching ``predicate``; that item."""
        found: list[T] = []

        def check(r: Recorder[T]) -> bool:
            found[:] = [item for item in r.items if predicate(item)][:1]
            return bool(found)

        self.wait(check, timeout, what or "a matching item")
        return found[0]

    def wait_value(self, value: T, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until ``value`` is among the items."""
        self.wait(lambda r: value in r.items, timeout, f"value {value!r}")

    def wait_error(self, timeout: float = DEFAULT_TIMEOUT) -> BaseException:
        """Wait for ``on_error``; the error."""
        self.wait(lambda r: bool(r.errors), timeout, "an error")
        return self.errors[0]

    def wait_completed(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait for ``on_completed``."""
        self.wait(lambda r: r.completed, timeout, "completion")

    def wait_done(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait for ``on_completed`` or ``on_error``."""
        self.wait(lambda r: r.done, timeout, "completion or error")


def wait_until(predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT,
               interval: float = 0.005, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); ``AssertionError``
    after ``timeout`` seconds. For conditions no observer is told about."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def record(observable: Observable[T], name: str = "recorder") -> Recorder[T]:
    """Subscribe a new :class:`Recorder` to ``observable`` and return it."""
    recorder: Recorder[T] = Recorder(name)
    recorder.subscribe_to(observable)
    return recorder


class ScriptedTransport:
    """One scripted connection attempt: records what the client sends, replays what the
    test says the server sends, on the test's own thread."""

    def __init__(self, server: ScriptedServer) -> None:
        self._server = server
        self.url: str | None = None
        self.listener: TransportListener | None = None
        self.sent: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self.alive = True
        self.interactive = True
        self.stalled_for = 0.0  # what unsent_for() says

    def open(self, url: str, listener: TransportListener) -> None:
        """Record the URL and the listener; nothing happens until the test says so."""
        self.url = url
        self.listener = listener

    def send(self, text: str, bounded: bool = True) -> None:
        """Record a frame the client sent (decoded into ``sent``)."""
        if self.closed_with is not None:
            raise ConnectionError("scripted socket is closed")
        self.sent.append(json.loads(text))

    def close(self, code: int = 1000) -> None:
        """The client closed this socket with ``code`` (kept in ``closed_with``)."""
        self.closed_with = code
        self.alive = False

    def join(self, timeout: float | None = None) -> None:
        """Nothing to wait for: a scripted transport has no thread."""

    def has_pending_input(self) -> bool:
        """Nothing waits: the test delivers every frame itself."""
        return False

    def unsent_for(self) -> float:
        """Seconds the frames sent have waited without going out: ``stalled_for``, which a
        test sets to play a path from client to server that went dead (0.0 by default)."""
        return self.stalled_for

    def begin_playback(self) -> None:
        """Nothing to start: the test delivers every frame itself."""

    def _listener(self) -> TransportListener:
        assert self.listener is not None, "the client has not opened this transport"
        return self.listener

    def receive(self, text: str) -> None:
        """The server sends the raw text frame ``text``."""
        self._listener().on_frame(text)

    def receive_many(self, texts: list[str]) -> None:
        """The server's frames ``texts`` arrive together (read by one ``recv``)."""
        on_frames = getattr(self._listener(), "on_frames", None)
        if on_frames is None:
            for text in texts:
                self._listener().on_frame(text)
        else:
            on_frames(list(texts))

    def drop(self, code: int | None = None, reason: str = "",
             cause: AttemptCause | None = None) -> None:
        """The server closes the socket with ``code`` (None: it just vanishes); ``cause``
        says why an attempt failed before it opened (``"refused"``, ``"dns"``, ...)."""
        self.alive = False
        self._listener().on_close(code, reason, None if cause is None else AttemptCause(cause))


class ScriptedServer:
    """Hands out :class:`ScriptedTransport` objects and scripts the current one.

    Pass ``server.transport`` as the ``transport`` option of ``Pusher``.
    """

    def __init__(self) -> None:
        self.transports: list[ScriptedTransport] = []

    def transport(self) -> ScriptedTransport:
        """Transport factory for the ``transport`` option."""
        transport = ScriptedTransport(self)
        self.transports.append(transport)
        return transport

    @property
    def current(self) -> ScriptedTransport:
        """The newest transport the client opened."""
        assert self.transports, "the client has not connected yet"
        return self.transports[-1]

    @property
    def attempts(self) -> int:
        """How many connection attempts the client made."""
        return len(self.transports)

    def sent(self, event: str | None = None) -> list[dict[str, Any]]:
        """Every frame the client sent on any transport, optionally only ``event`` ones."""
        frames = [frame for t in self.transports for frame in t.sent]
        return frames if event is None else [f for f in frames if f.get("event") == event]

    def handshake(self, socket_id: str = "1234.5678", activity_timeout: float | None = 120) -> None:
        """Send ``pusher:connection_established`` on the current transport."""
        data: dict[str, Any] = {"socket_id": socket_id}
        if activity_timeout is not None:
            data["activity_timeout"] = activity_timeout
        self.current.receive(encode_frame("pusher:connection_established", json.dumps(data)))

    def push(self, event: str, data: Any = None, channel: str | None = None,
             user_id: str | None = None, encode: bool = True) -> None:
        """Send an event; ``data`` is JSON-encoded into a string as Pusher does unless
        ``encode`` is False."""
        message: dict[str, Any] = {"event": event, "data": json.dumps(data) if encode else data}
        if channel is not None:
            message["channel"] = channel
        if user_id is not None:
            message["user_id"] = user_id
        self.current.receive(json.dumps(message))

    def succeed(self, channel: str, data: Any = None) -> None:
        """Confirm a subscription (``pusher_internal:subscription_succeeded``)."""
        self.push("pusher_internal:subscription_succeeded", data or {}, channel=channel)
