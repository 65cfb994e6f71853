"""The bounded outbox over a real socket pair: non-blocking puts, its writer thread, the
stall clock, the bound, and failures."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from rxpusher._internal.outbox import Outbox, OutboxFull
from rxpusher.testing import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    near, far = socket.socketpair()
    near.setblocking(False)
    near.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    yield near, far
    near.close()
    far.close()


def writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rxpusher-writer" and t.is_alive()]


def read_all(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk
        data += chunk
    return data


def test_what_the_socket_takes_goes_at_once_without_a_writer_thread(pair) -> None:
    near, far = pair
    outbox = Outbox(near)
    outbox.put(b"hello")
    assert read_all(far, 5) == b"hello"
    assert outbox.waiting == 0 and outbox.unsent_for() == 0.0
    assert not writers()


def test_the_rest_waits_in_order_and_the_writer_sends_it_as_the_peer_reads(pair) -> None:
    near, far = pair
    clock = Clock()
    outbox = Outbox(near, limit=10_000_000, clock=clock)
    chunks = [bytes([65 + i % 26]) * 50_000 for i in range(20)]  # 1 MB into a small buffer
    for chunk in chunks:
        outbox.put(chunk)
    assert outbox.waiting > 0 and writers()
    clock.now += 3.0
    assert outbox.unsent_for() == pytest.approx(3.0)  # nothing went out for 3 s
    assert read_all(far, sum(map(len, chunks))) == b"".join(chunks)
    wait_until(lambda: outbox.waiting == 0 and not writers(), 5, what="the writer to end")
    assert outbox.unsent_for() == 0.0


def test_a_full_outbox_refuses_bounded_frames_but_takes_unbounded_ones(pair) -> None:
    near, far = pair
    outbox = Outbox(near, limit=100_000)
    with pytest.raises(OutboxFull):
        for _ in range(1_000):
            outbox.put(b"x" * 10_000)
    waiting = outbox.waiting
    assert waiting <= 100_000 + 10_000
    outbox.put(b"ping", bounded=False)
    assert outbox.waiting == waiting + 4
    outbox.close()
    wait_until(lambda: not writers(), 5, what="the writer to end after close")


def test_a_closed_outbox_or_a_failed_socket_raises_connection_error(pair) -> None:
    near, far = pair
    outbox = Outbox(near)
    outbox.close()
    with pytest.raises(ConnectionError):
        outbox.put(b"late")
    failing = Outbox(near)
    far.close()
    with pytest.raises(ConnectionError):
        for _ in range(100):  # the peer is gone: a write fails (EPIPE / ECONNRESET)
            failing.put(b"y" * 10_000)
    with pytest.raises(ConnectionError):
        failing.put(b"again")
