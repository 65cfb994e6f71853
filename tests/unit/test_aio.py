"""rxpusher.aio: the asyncio bridge (ordering, overflow, cancellation, errors, wake-ups)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
import reactivex
from reactivex.subject import Subject

import rxpusher
from rxpusher.aio import (
    BufferOverflowError,
    EmptySequenceError,
    ObservableIterator,
    first,
    iterate,
)
from rxpusher.testing import ScriptedServer

T = TypeVar("T")
TIMEOUT = 5.0


def run(coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(TIMEOUT):
            return await coroutine()

    return asyncio.run(bounded())


async def collect(iterator: ObservableIterator[T]) -> list[T]:
    return [item async for item in iterator]


def count_wakeups(loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch ``loop.call_soon_threadsafe`` to count its calls (returned list has one int)."""
    calls = [0]
    original = loop.call_soon_threadsafe

    def counting(callback: Callable[..., object], *args: Any, **kwargs: Any) -> asyncio.Handle:
        calls[0] += 1
        return original(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
    return calls


def unsubscribes(server: ScriptedServer, channel: str) -> int:
    return sum(1 for f in server.sent("pusher:unsubscribe") if f["data"]["channel"] == channel)


# ---- ordering and completion ---------------------------------------------------------------


def test_items_arrive_in_order_then_completion_ends_the_loop() -> None:
    async def main() -> list[int]:
        return await collect(iterate(reactivex.from_iterable(range(100))))

    assert run(main) == list(range(100))


def test_items_from_another_thread_arrive_in_order_on_the_loop() -> None:
    subject: Subject[int] = Subject()
    threads: set[int] = set()

    def produce() -> None:
        for i in range(20_000):
            subject.on_next(i)
        subject.on_completed()

    async def main() -> list[int]:
        got = []
        producer = threading.Thread(target=produce)
        async with iterate(subject, maxsize=None) as items:
            producer.start()
            async for item in items:
                threads.add(threading.get_ident())
                got.append(item)
        producer.join()
        return got

    assert run(main) == list(range(20_000))
    assert threads == {threading.get_ident()}  # asyncio.run runs the loop on this thread


def test_subscribes_at_once_so_nothing_emitted_after_iterate_is_missed() -> None:
    subject: Subject[str] = Subject()

    async def main() -> list[str]:
        items = iterate(subject)
        subject.on_next("early")
        subject.on_completed()
        return await collect(items)

    assert run(main) == ["early"]


# ---- errors -----------------------------------------------------------------------------------


def test_on_error_is_raised_in_the_loop_after_the_items_before_it() -> None:
    subject: Subject[int] = Subject()
    boom = ValueError("boom")

    async def main() -> tuple[list[int], BaseException | None, ObservableIterator[int]]:
        got: list[int] = []
        items = iterate(subject)
        subject.on_next(1)
        subject.on_next(2)
        subject.on_error(boom)
        try:
            async for item in items:
                got.append(item)
        except ValueError as exc:
            return got, exc, items
        return got, None, items

    got, error, items = run(main)
    assert got == [1, 2]
    assert error is boom
    assert items.closed


def test_subscription_error_of_a_channel_is_raised_in_the_loop(
    make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer
) -> None:
    pusher = make_pusher()
    server.handshake()

    async def main() -> rxpusher.SubscriptionError:
        items = iterate(pusher.channel("orders").events("created"))
        server.push("pusher:subscription_error", {"error": "nope", "status": 403}, channel="orders")
        with pytest.raises(rxpusher.SubscriptionError) as caught:
            await collect(items)
        return caught.value

    error = run(main)
    assert (error.channel, error.status) == ("orders", 403)


# ---- overflow -----------------------------------------------------------------------------


def test_overflow_error_raises_after_the_buffered_items_and_releases_the_source() -> None:
    subject: Subject[int] = Subject()

    async def main() -> tuple[list[int], BufferOverflowError]:
        got: list[int] = []
        items = iterate(subject, maxsize=3, overflow="error")
        for i in range(5):
            subject.on_next(i)
        assert not subject.observers  # released at the overflow, before the consumer ran
        with pytest.raises(BufferOverflowError) as caught:
            async for item in items:
                got.append(item)
        return got, caught.value

    got, error = run(main)
    assert got == [0, 1, 2]
    assert error.maxsize == 3
    assert isinstance(error, rxpusher.PusherError)


def test_overflow_drop_oldest_keeps_the_newest_items() -> None:
    subject: Subject[int] = Subject()

    async def main() -> tuple[list[int], int]:
        items = iterate(subject, maxsize=3, overflow="drop_oldest")
        for i in range(10):
            subject.on_next(i)
        subject.on_completed()
        return await collect(items), items.dropped

    assert run(main) == ([7, 8, 9], 7)


def test_overflow_drop_newest_keeps_the_oldest_items() -> None:
    subject: Subject[int] = Subject()

    async def main() -> tuple[list[int], int]:
        items = iterate(subject, maxsize=3, overflow="drop_newest")
        for i in range(10):
            subject.on_next(i)
        subject.on_completed()
        return await collect(items), items.dropped

    assert run(main) == ([0, 1, 2], 7)


def test_the_buffer_frees_up_as_the_consumer_drains_it() -> None:
    subject: Subject[int] = Subject()

    async def main() -> list[int]:
        items = iterate(subject, maxsize=2, overflow="error")
        got = []
        for i in range(0, 10, 2):
            subject.on_next(i)
            subject.on_next(i + 1)
            got += [await anext(items), await anext(items)]
        return got

    assert run(main) == list(range(10))


@pytest.mark.parametrize("options", [{"maxsize": 0}, {"maxsize": -1}, {"overflow": "block"}])
def test_bad_options_are_value_errors(options: dict[str, Any]) -> None:
    async def main() -> None:
        iterate(reactivex.empty(), **options)

    with pytest.raises(ValueError):
        run(main)


def test_iterate_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        iterate(reactivex.empty())


# ---- one wake-up per burst ------------------------------------------------------------------


def test_one_wakeup_per_burst_not_per_item(monkeypatch: pytest.MonkeyPatch) -> None:
    subject: Subject[int] = Subject()

    async def main() -> tuple[list[int], int]:
        calls = count_wakeups(asyncio.get_running_loop(), monkeypatch)
        items = iterate(subject, maxsize=None)
        got: list[int] = []

        async def consume() -> None:
            async for item in items:
                got.append(item)

        consumer = asyncio.ensure_future(consume())
        per_burst = []
        for burst in range(3):
            await asyncio.sleep(0)
            assert items._bridge.waiter is not None  # the consumer is parked
            before = calls[0]
            for i in range(1000):  # a burst: the consumer does not run in between
                subject.on_next(burst * 1000 + i)
            while len(got) < (burst + 1) * 1000:
                await asyncio.sleep(0)
            per_burst.append(calls[0] - before)
        subject.on_completed()
        await consumer
        assert got == list(range(3000))
        return per_burst, items.wakeups

    per_burst, wakeups = run(main)
    assert per_burst == [1, 1, 1]
    assert wakeups == 4  # three bursts and the completion


def test_a_consumer_that_keeps_up_needs_no_wakeup(monkeypatch: pytest.MonkeyPatch) -> None:
    subject: Subject[int] = Subject()

    async def main() -> int:
        calls = count_wakeups(asyncio.get_running_loop(), monkeypatch)
        items = iterate(subject)
        for i in range(100):
            subject.on_next(i)
            subject.on_next(-i)
            assert [await anext(items), await anext(items)] == [i, -i]
        return calls[0]

    assert run(main) == 1  # only the very first item: the buffer was never found empty


def test_one_wakeup_for_a_burst_from_the_reader_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    subject: Subject[int] = Subject()

    async def main() -> tuple[int, list[int]]:
        calls = count_wakeups(asyncio.get_running_loop(), monkeypatch)
        items = iterate(subject, maxsize=None)
        consumer = asyncio.ensure_future(collect(items))
        await asyncio.sleep(0)  # the consumer parks on the empty buffer
        assert items._bridge.waiter is not None
        burst_done = threading.Event()

        def produce() -> None:
            for i in range(5000):
                subject.on_next(i)
            subject.on_completed()
            burst_done.set()

        threading.Thread(target=produce).start()
        burst_done.wait(TIMEOUT)  # blocks the loop: the whole burst lands before it wakes
        got = await consumer
        return calls[0], got

    wakeups, got = run(main)
    assert got == list(range(5000))
    assert wakeups == 1


# ---- disposal: break, cancel, aclose ----------------------------------------------------------


def test_break_disposes_the_subscription() -> None:
    subject: Subject[int] = Subject()

    async def main() -> None:
        async for item in iterate(subject):
            if item == 1:
                break
        assert not subject.observers

    async def driver() -> None:
        task = asyncio.ensure_future(main())
        await asyncio.sleep(0)
        subject.on_next(0)
        subject.on_next(1)
        subject.on_next(2)
        await task

    run(driver)


def test_break_releases_the_channel_subscription(
    make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer
) -> None:
    pusher = make_pusher()
    server.handshake()

    def reader() -> None:  # the scripted server replies on its own thread, like a socket
        server.succeed("prices")
        for i in range(10):
            server.push("tick", {"i": i}, channel="prices")

    async def main() -> list[int]:
        got = []
        async for data in iterate(pusher.channel("prices").events("tick")):
            if not got:
                assert server.sent("pusher:subscribe")[-1]["data"] == {"channel": "prices"}
            got.append(data["i"])
            if data["i"] == 2:
                break
        return got

    async def driver() -> list[int]:
        task = asyncio.ensure_future(main())
        await asyncio.sleep(0)
        thread = threading.Thread(target=reader)
        thread.start()
        got = await task
        thread.join()
        return got

    assert run(driver) == [0, 1, 2]
    assert unsubscribes(server, "prices") == 1
    assert not pusher.channel("prices").subscribed


def test_cancelling_the_consumer_releases_the_channel_subscription(
    make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer
) -> None:
    pusher = make_pusher()
    server.handshake()

    async def main() -> None:
        async def consume() -> None:
            async for _ in iterate(pusher.channel("prices").events("tick")):
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0)
        server.succeed("prices")
        assert pusher.channel("prices").subscribed
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main)
    assert unsubscribes(server, "prices") == 1


def test_a_timeout_around_the_loop_releases_the_channel(
    make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer
) -> None:
    pusher = make_pusher()
    server.handshake()

    async def main() -> None:
        items = iterate(pusher.channel("prices").events("tick"))
        server.succeed("prices")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                async for _ in items:
                    pass
        assert items.closed

    run(main)
    assert unsubscribes(server, "prices") == 1


def test_async_with_and_aclose_release_the_channel(
    make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer
) -> None:
    pusher = make_pusher()
    server.handshake()

    async def main() -> None:
        async with iterate(pusher.channel("a").events("x")) as items:
            server.succeed("a")
            server.push("x", 1, channel="a")
            assert await anext(items) == 1
        assert unsubscribes(server, "a") == 1
        other = iterate(pusher.channel("b").events("x"))
        server.succeed("b")
        await other.aclose()
        await other.aclose()
        assert unsubscribes(server, "b") == 1
        with pytest.raises(StopAsyncIteration):
            await anext(other)

    run(main)


def test_items_after_close_are_ignored() -> None:
    subject: Subject[int] = Subject()

    async def main() -> int:
        items = iterate(subject)
        subject.on_next(1)
        items.dispose()
        subject.on_next(2)
        return len(items)

    assert run(main) == 0


# ---- first ------------------------------------------------------------------------------------


def test_first_returns_the_first_item_and_releases_the_channel(
    make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer
) -> None:
    pusher = make_pusher()
    server.handshake()

    async def main() -> Any:
        def reply() -> None:
            server.succeed("prices")
            server.push("tick", {"price": 1}, channel="prices")
            server.push("tick", {"price": 2}, channel="prices")

        asyncio.get_running_loop().call_soon(threading.Thread(target=reply).start)
        return await first(pusher.channel("prices").events("tick"), timeout=TIMEOUT)

    assert run(main) == {"price": 1}
    assert unsubscribes(server, "prices") == 1


def test_first_of_a_replaying_stream(
    make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer
) -> None:
    pusher = make_pusher()
    server.handshake()

    async def main() -> str:
        return await first(pusher.state)

    assert run(main) == "connected"


def test_first_timeout_empty_default_and_error() -> None:
    async def main() -> None:
        never: Subject[int] = Subject()
        with pytest.raises(TimeoutError):
            await first(never, timeout=0.01)
        assert not never.observers
        with pytest.raises(EmptySequenceError):
            await first(reactivex.empty())
        assert await first(reactivex.empty(), default=None) is None
        assert await first(never, timeout=0.01, default=None) is None  # no TimeoutError
        assert not never.observers
        with pytest.raises(KeyError):
            await first(reactivex.throw(KeyError("k")))

    run(main)


def test_the_old_name_aiter_still_works_and_warns_that_it_is_deprecated() -> None:
    import rxpusher.aio

    async def main() -> list[int]:
        with pytest.warns(DeprecationWarning, match=r"rxpusher\.aio\.iterate"):
            items = rxpusher.aio.aiter(reactivex.from_iterable([1, 2]))
        return [item async for item in items]

    assert asyncio.run(main()) == [1, 2]
    # the alias stays out of ``import *``, so it can no longer shadow the builtin
    assert "aiter" not in rxpusher.aio.__all__ and "iterate" in rxpusher.aio.__all__
