"""Client events paced to ``client_event_rate``, bounded by ``client_event_queue``, slowed by
4301, in virtual time."""

from __future__ import annotations

import threading

import pytest

from rxpusher import BufferOverflowError, PusherError, RateLimitError, ServerError

from .support import record


@pytest.fixture
def chat(make_pusher, server):
    def make(**options):
        client = make_pusher(secret="s", **options)
        server.handshake()
        client.subscribe("private-chat")
        server.succeed("private-chat")
        return client

    return make


def _sent(server) -> list[int]:
    return [f["data"]["i"] for f in server.sent("client-n")]


def _trigger(client, numbers) -> None:
    for i in numbers:
        client.channel("private-chat").trigger("client-n", {"i": i})


def test_a_burst_is_sent_in_order_ten_per_second(chat, server, sched) -> None:
    client = chat()
    _trigger(client, range(35))
    assert _sent(server) == list(range(10))
    sched.advance_by(1.0)
    assert len(_sent(server)) == 10  # not before a full second (and a little margin)
    sched.advance_by(0.06)
    assert _sent(server) == list(range(20))
    sched.advance_by(1.06)
    assert _sent(server) == list(range(30))
    sched.advance_by(1.06)
    assert _sent(server) == list(range(35))


def test_without_a_rate_every_event_goes_out_at_once(chat, server) -> None:
    client = chat(client_event_rate=None)
    _trigger(client, range(100))
    assert _sent(server) == list(range(100))


def test_past_the_queue_bound_trigger_raises_buffer_overflow_and_queues_nothing(
        chat, server, sched) -> None:
    client = chat(client_event_queue=5)
    channel = client.channel("private-chat")
    for i in range(15):
        channel.trigger("client-n", {"i": i})
    with pytest.raises(BufferOverflowError) as caught:
        channel.trigger("client-n", {"i": 15})
    assert caught.value.maxsize == 5
    sched.advance_by(10)
    assert _sent(server) == list(range(15))


def test_trigger_while_not_connected_raises_and_queues_nothing(chat, server, sched) -> None:
    client = chat()
    client.disconnect()
    with pytest.raises(PusherError):
        client.channel("private-chat").trigger("client-n", {"i": 0})
    client.connect()
    sched.advance_by(0.01)
    server.handshake()
    server.succeed("private-chat")
    sched.advance_by(5)
    assert _sent(server) == []


def test_events_waiting_when_the_connection_drops_are_reported_not_sent_later(
        chat, server, sched) -> None:
    client = chat()
    errors = record(client.errors)
    _trigger(client, range(15))
    server.current.drop(1006)
    sched.advance_by(1.5)
    server.handshake(socket_id="2.2")
    server.succeed("private-chat")
    sched.advance_by(5)
    assert _sent(server) == list(range(10))
    [error] = [e for e in errors.items if "not sent" in str(e)]
    assert isinstance(error, PusherError) and "5 client events" in str(error)


def test_a_4301_is_a_rate_limit_error_that_halves_the_pace_and_keeps_the_connection(
        chat, server, sched) -> None:
    client = chat()
    errors = record(client.errors)
    states = record(client.state)
    server.push("pusher:error", {"code": 4301, "message": "client event rejected"})
    [error] = errors.items
    assert isinstance(error, RateLimitError) and isinstance(error, ServerError)
    assert error.code == 4301
    assert client.connection_state == "connected" and states.items == ["connected"]
    assert server.current.closed_with is None and server.attempts == 1
    _trigger(client, range(10))
    assert _sent(server) == list(range(5))
    sched.advance_by(1.06)
    assert _sent(server) == list(range(10))
    sched.advance_by(10)  # the slowdown is over: ten a second again
    _trigger(client, range(10, 20))
    assert _sent(server) == list(range(20))


def test_a_thread_storm_of_triggers_sends_each_event_once_in_each_threads_order(
        chat, server, sched) -> None:
    client = chat(client_event_queue=10_000)
    channel = client.channel("private-chat")
    barrier = threading.Barrier(8)

    def burst(thread: int) -> None:
        barrier.wait()
        for n in range(50):
            channel.trigger("client-n", {"i": thread * 1000 + n})

    threads = [threading.Thread(target=burst, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    sched.advance_by(60)
    sent = _sent(server)
    assert sorted(sent) == sorted(t * 1000 + n for t in range(8) for n in range(50))
    for t in range(8):
        assert [i for i in sent if i // 1000 == t] == [t * 1000 + n for n in range(50)]
