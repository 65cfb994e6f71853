"""asyncio bridge: consume any Observable (rxpusher's or your own) from a coroutine.

>>> from rxpusher.aio import first, iterate
>>> async def main(pusher):                                     # doctest: +SKIP
...     async for price in iterate(pusher.channel("prices").events("tick"), maxsize=1000):
...         print(price)
...         if price["last"]:
...             break               # disposes the subscription: pusher:unsubscribe goes out
...     state = await first(pusher.state.pipe(ops.filter(lambda s: s == "connected")))

How it works: rxpusher delivers items on the connection's reader thread. :func:`iterate`
subscribes with an observer that appends each item to a bounded buffer (a ``deque``) and
wakes the event loop with ``loop.call_soon_threadsafe`` **once per burst**: only the first
item after the consumer found the buffer empty schedules a wake-up; the items that follow
it before the consumer runs are picked up by the same wake-up. A burst of 10 000 frames
therefore costs one cross-thread hop, not 10 000.

The buffer is bounded (``maxsize``). Blocking the producer when it is full is not offered:
the producer is the reader thread of the connection, and blocking it would stall every
other channel, the liveness pings and (if the loop is waiting on that connection) risk a
deadlock. Pick what happens on overflow instead: ``"error"`` (the default: the iterator
raises :class:`BufferOverflowError` after the buffered items, and the subscription is
released), ``"drop_oldest"`` (keep the newest ``maxsize`` items: right for prices, states,
dashboards) or ``"drop_newest"`` (keep the oldest; the incoming item is dropped).
Dropped items are counted in :attr:`ObservableIterator.dropped`.

Disposal: leaving an ``async for`` with ``break``, ``return`` or an exception, a cancelled
task (``asyncio.timeout``, ``task.cancel()``), ``await it.aclose()`` and ``async with``
all dispose the Rx subscription, which for a channel stream releases the channel (the last
observer sends ``pusher:unsubscribe``). ``break`` relies on the iterator being released:
``async for x in iterate(obs)`` is; when you keep the iterator in a variable, use
``async with iterate(obs) as it:`` (or :func:`contextlib.aclosing`) for a deterministic release.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar, get_args, overload

from reactivex import Observable
from reactivex.disposable import SingleAssignmentDisposable

from ._internal.handoff import DEFAULT_MAXSIZE, OVERFLOW_POLICIES, Overflow
from ._exceptions import BufferOverflowError, EmptySequenceError

if TYPE_CHECKING:
    from ._channels import Channel
    from ._client import Pusher

__all__ = [
    "DEFAULT_MAXSIZE",
    "BufferOverflowError",
    "EmptySequenceError",
    "ObservableIterator",
    "Overflow",
    "first",
    "iterate",
    "wait_connected",
    "wait_subscribed",
]

T = TypeVar("T")
D = TypeVar("D")

_MISSING: Final = object()


class _Bridge(Generic[T]):
    """The state shared by the observer (producer thread) and the iterator (the loop).

    Kept apart from :class:`ObservableIterator` so that the subscription (source ->
    observer -> bridge) does not keep the iterator alive: dropping the iterator (``break``
    out of ``async for``) disposes the subscription from ``ObservableIterator.__del__``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int | None,
                 overflow: Overflow) -> None:
        self.loop = loop
        self.maxsize = maxsize
        self.overflow: Overflow = overflow
        self.lock = threading.Lock()
        self.buffer: deque[T] = deque()
        self.terminal: BaseException | None = None  # StopAsyncIteration or the error
        self.done = False          # no more items will be accepted
        self.closed = False        # finished: exhausted, failed, closed or cancelled
        self.signalled = False     # a wake-up is scheduled, or the consumer will look anyway
        self.waiter: asyncio.Future[None] | None = None
        self.dropped = 0
        self.wakeups = 0
        self.subscription = SingleAssignmentDisposable()

    # ---- the producer side (any thread) ------------------------------------------------

    def on_next(self, item: T) -> None:
        overflowed = False
        with self.lock:
            if self.done:
                return
            buffer = self.buffer
            if self.maxsize is not None and len(buffer) >= self.maxsize:
                if self.overflow == "drop_oldest":
                    buffer.popleft()
                    buffer.append(item)
                    self.dropped += 1
                elif self.overflow == "drop_newest":
                    self.dropped += 1
                else:
                    self.done = True
                    self.terminal = BufferOverflowError(self.maxsize)
                    overflowed = True
            else:
                buffer.append(item)
            wake = self._claim_wakeup()
        if overflowed:
            self.subscription.dispose()
        if wake:
            self._wake_soon()

    def on_error(self, error: Exception) -> None:
        self._finish(error)

    def on_completed(self) -> None:
        self._finish(StopAsyncIteration())

    def _finish(self, terminal: BaseException) -> None:
        with self.lock:
            if self.done:
                return
            self.done = True
            self.terminal = terminal
            wake = self._claim_wakeup()
        if wake:
            self._wake_soon()

    def _claim_wakeup(self) -> bool:
        """With the lock held: True when this caller must schedule the wake-up. Only the
        first item after the consumer found the buffer empty gets True."""
        if self.signalled:
            return False
        self.signalled = True
        self.wakeups += 1
        return True

    def _wake_soon(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed: nobody is left to wake
            self.dispose()

    def _wake(self) -> None:
        """On the loop: release a consumer parked in ``next``."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- the consumer side (the loop) --------------------------------------------------

    async def next(self) -> T:
        while True:
            with self.lock:
                if self.buffer:
                    return self.buffer.popleft()
                if self.closed:
                    raise StopAsyncIteration
                if self.done:
                    terminal = self.terminal
                    self.closed = True
                    self.terminal = None
                    assert terminal is not None
                    raise terminal
                # Empty: the next item (or the end) must wake us up.
                self.signalled = False
                waiter = self.waiter = self.loop.create_future()
            try:
                await waiter
            except BaseException:  # cancelled: the iteration is over, as for an async generator
                self.dispose()
                raise
            finally:
                self.waiter = None

    def dispose(self) -> None:
        with self.lock:
            self.done = True
            self.closed = True
            self.buffer.clear()
            self.terminal = None
        self.subscription.dispose()


class ObservableIterator(Generic[T]):
    """An async iterator over the items of an Observable; create it with :func:`iterate`.

    It is also an async context manager (``async with iterate(obs) as it: ...``) that
    disposes the subscription on exit. Items may arrive from any thread.
    """

    def __init__(
        self,
        observable: Observable[T],
        *,
        maxsize: int | None = DEFAULT_MAXSIZE,
        overflow: Overflow = "error",
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(
                f"overflow must be one of {sorted(OVERFLOW_POLICIES)}, got {overflow!r}"
            )
        if maxsize is not None and (
            isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1
        ):
            raise ValueError(f"maxsize must be a positive int or None, got {maxsize!r}")
        bridge: _Bridge[T] = _Bridge(loop or asyncio.get_running_loop(), maxsize, overflow)
        self._bridge = bridge
        bridge.subscription.disposable = observable.subscribe(
            bridge.on_next, bridge.on_error, bridge.on_completed
        )

    def __aiter__(self) -> ObservableIterator[T]:
        return self

    async def __anext__(self) -> T:
        """The next item; waits on the loop for it. Raises the observable's error, or
        :class:`BufferOverflowError`, after the items emitted before it."""
        return await self._bridge.next()

    async def aclose(self) -> None:
        """Dispose the subscription and drop the buffered items. Idempotent."""
        self._bridge.dispose()

    def dispose(self) -> None:
        """Synchronous :meth:`aclose`, callable from any thread."""
        self._bridge.dispose()

    @property
    def closed(self) -> bool:
        """True once the iterator is finished (exhausted, failed, closed or cancelled)."""
        return self._bridge.closed

    @property
    def dropped(self) -> int:
        """Items dropped so far by the ``drop_oldest`` / ``drop_newest`` policies."""
        return self._bridge.dropped

    @property
    def wakeups(self) -> int:
        """Wake-ups scheduled on the loop with ``call_soon_threadsafe`` (one per burst)."""
        return self._bridge.wakeups

    def __len__(self) -> int:
        """The number of items buffered and not consumed yet."""
        return len(self._bridge.buffer)

    async def __aenter__(self) -> ObservableIterator[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bridge.dispose()

    def __del__(self) -> None:
        # ``break`` out of ``async for x in iterate(obs)`` drops the last reference: release.
        bridge = getattr(self, "_bridge", None)
        if bridge is not None:
            bridge.dispose()


def iterate(
    observable: Observable[T],
    *,
    maxsize: int | None = DEFAULT_MAXSIZE,
    overflow: Overflow = "error",
) -> ObservableIterator[T]:
    """Iterate over ``observable`` from a coroutine: ``async for x in iterate(obs): ...``.

    Must be called with a running event loop (inside a coroutine); it subscribes at once,
    so no item emitted after this call is missed. Items are delivered on that loop, in
    order, with one ``call_soon_threadsafe`` wake-up per burst. Completion ends the
    iteration; an ``on_error`` is raised in the loop (after the items before it).

    :param maxsize: bound of the buffer between the producer thread and the consumer
        (``None``: unbounded, only for sources you know are finite or slow).
    :param overflow: ``"error"`` (raise :class:`BufferOverflowError`, release the
        subscription), ``"drop_oldest"`` or ``"drop_newest"``.
    :raises ValueError: for a bad ``maxsize`` or ``overflow``.
    :raises RuntimeError: when no event loop is running.
    """
    return ObservableIterator(observable, maxsize=maxsize, overflow=overflow)


def aiter(
    observable: Observable[T],
    *,
    maxsize: int | None = DEFAULT_MAXSIZE,
    overflow: Overflow = "error",
) -> ObservableIterator[T]:
    """Deprecated alias of :func:`iterate` (it shadowed the builtin ``aiter``); it will be
    removed in the next release.

    :deprecated: use :func:`iterate`; this one warns with :class:`DeprecationWarning`.
    """
    warnings.warn("rxpusher.aio.aiter is deprecated (it shadows the builtin aiter): "
                  "use rxpusher.aio.iterate", DeprecationWarning, stacklevel=2)
    return iterate(observable, maxsize=maxsize, overflow=overflow)


@overload
async def first(observable: Observable[T], *, timeout: float | None = None) -> T: ...


@overload
async def first(observable: Observable[T], *, timeout: float | None = None,
                default: D) -> T | D: ...


async def first(observable: Observable[T], *, timeout: float | None = None,
                default: Any = _MISSING) -> Any:
    """The first item of ``observable``, awaited on the running loop; the subscription is
    disposed as soon as it arrives (a channel stream is released again).

    :param timeout: seconds to wait, ``None`` for ever; :class:`TimeoutError` after it
        unless ``default`` is given.
    :param default: returned when the observable completes empty or ``timeout`` passes;
        without it those are an :class:`EmptySequenceError` and a ``TimeoutError``.
    :raises Exception: the observable's error, as is.
    """
    async with ObservableIterator(observable, maxsize=1, overflow="drop_newest") as it:
        try:
            async with asyncio.timeout(timeout):
                return await it.__anext__()
        except StopAsyncIteration:
            if default is not _MISSING:
                return default
            raise EmptySequenceError("the observable completed without any item") from None
        except TimeoutError:
            if default is not _MISSING:
                return default
            raise


async def wait_connected(pusher: Pusher, *, timeout: float | None = None) -> None:
    """Wait on the running loop until ``pusher`` is connected (at once if it is); the
    awaitable form of ``Pusher.wait_connected``, with the same errors. Does not connect."""
    await _wait_for_state(pusher.state, lambda: pusher.wait_connected(0), timeout)


async def wait_subscribed(channel: Channel, *, timeout: float | None = None) -> None:
    """Wait on the running loop until ``channel`` is subscribed; the awaitable form of
    ``Channel.wait_subscribed``, with the same errors. Does not subscribe."""
    await _wait_for_state(channel.state, lambda: channel.wait_subscribed(0), timeout)


async def _wait_for_state(states: Observable[Any], check: Any, timeout: float | None) -> None:
    """Resolve when ``check()`` returns (re-checked at each state change), fail with what it
    raises other than ``TimeoutError`` (not there yet)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def on_state(_: Any = None) -> None:
        try:
            check()
        except TimeoutError:
            return
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting coroutine
            loop.call_soon_threadsafe(settle, error)
            return
        loop.call_soon_threadsafe(settle, None)

    subscription = states.subscribe(on_state, on_completed=on_state)
    try:
        async with asyncio.timeout(timeout):
            await done
    except TimeoutError:
        raise TimeoutError(f"not reached within {timeout} s") from None
    finally:
        subscription.dispose()
