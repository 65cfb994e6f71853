"""Waiting without hand-written helpers: ``wait_connected``/``wait_subscribed`` and their
awaitable forms in ``rxpusher.aio``, with the failures they raise."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rxpusher import ClosedError, ConnectionRefused, SubscriptionError, aio


def later(action) -> threading.Timer:
    timer = threading.Timer(0.05, action)
    timer.start()
    return timer


def test_wait_connected_returns_once_the_handshake_arrives(make_pusher, server) -> None:
    p = make_pusher()
    later(server.handshake)
    p.wait_connected(timeout=5)
    assert p.connection_state == "connected"
    p.wait_connected(timeout=0)  # already connected: at once


def test_wait_connected_raises_the_refusal(make_pusher, server) -> None:
    p = make_pusher()
    later(lambda: server.current.drop(4001, "app does not exist"))
    with pytest.raises(ConnectionRefused) as info:
        p.wait_connected(timeout=5)
    assert info.value.code == 4001


def test_wait_connected_times_out_and_does_not_connect(make_pusher, server) -> None:
    p = make_pusher(auto_connect=False)
    with pytest.raises(TimeoutError):
        p.wait_connected(timeout=0.05)
    assert server.attempts == 0


def test_waiting_raises_closed_error_when_the_client_closes(make_pusher, server) -> None:
    p = make_pusher()
    later(p.close)
    with pytest.raises(ClosedError):
        p.wait_connected()
    with pytest.raises(ClosedError):
        p.wait_connected(timeout=1)
    with pytest.raises(ClosedError):
        p.channel("c")
    with pytest.raises(ClosedError):
        p.connect()
    with pytest.raises(ClosedError):
        p.subscribe("c")
    with pytest.raises(ClosedError):
        p.reconnect()


def test_wait_subscribed_returns_when_the_server_confirms(pusher, server) -> None:
    channel = pusher.subscribe("c")
    later(lambda: server.succeed("c"))
    channel.wait_subscribed(timeout=5)
    assert channel.subscribed


def test_wait_subscribed_raises_the_subscription_error(pusher, server) -> None:
    channel = pusher.subscribe("private-c")  # no authorization configured
    with pytest.raises(SubscriptionError) as info:
        channel.wait_subscribed(timeout=5)
    assert info.value.channel == "private-c"


def test_wait_subscribed_does_not_subscribe(pusher, server) -> None:
    with pytest.raises(TimeoutError):
        pusher.channel("c").wait_subscribed(timeout=0.05)
    assert server.sent("pusher:subscribe") == []


def test_aio_wait_connected_and_wait_subscribed(make_pusher, server) -> None:
    p = make_pusher()

    async def main() -> None:
        later(server.handshake)
        await aio.wait_connected(p, timeout=5)
        channel = p.subscribe("c")
        later(lambda: server.succeed("c"))
        await aio.wait_subscribed(channel, timeout=5)
        with pytest.raises(SubscriptionError):
            await aio.wait_subscribed(p.subscribe("private-x"), timeout=5)
        with pytest.raises(TimeoutError):
            await aio.wait_subscribed(p.channel("other"), timeout=0.05)

    asyncio.run(main())


def test_async_with_closes_the_client(make_pusher, server) -> None:
    async def main() -> None:
        async with make_pusher() as p:
            server.handshake()
        with pytest.raises(ClosedError):
            p.connect()

    asyncio.run(main())


def test_run_forever_returns_when_a_callback_closes_the_client(make_pusher, server) -> None:
    p = make_pusher()
    p.events("stop").subscribe(lambda _: p.close())
    later(lambda: (server.handshake(), server.push("stop", {}, channel="c")))
    p.run_forever()
    with pytest.raises(ClosedError):
        p.connect()


def test_wait_subscribed_on_a_handle_of_a_closed_client_raises_closed_error(pusher) -> None:
    channel = pusher.channel("c")
    pusher.close()
    with pytest.raises(ClosedError):
        channel.wait_subscribed(timeout=1)
    with pytest.raises(ClosedError):
        pusher.wait_connected()
