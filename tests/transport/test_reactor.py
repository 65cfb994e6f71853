"""The shared I/O thread (``rxpusher._internal.reactor``): many sockets on one thread,
partial frames, a socket closing among others, the thread's lifetime, and the liveness of
clients whose observers share the thread with a slow one."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import rxpusher
from helpers.raw_ws_server import RawWebSocketServer, text_frame
from rxpusher._internal.pool import Pool
from rxpusher._internal.reactor import Reactor, shared_reactor
from rxpusher.server import LocalServer
from rxpusher._transport import WebSocketTransport

from .test_transport_socket import Listener

pytestmark = pytest.mark.integration


def library_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


# ---- the reactor alone, over socket pairs ------------------------------------------------------

class Reader:
    """A handler that collects what its socket sends until EOF."""

    def __init__(self, sock: socket.socket, fail_on: bytes | None = None) -> None:
        self.sock = sock
        self.data = b""
        self.threads: set[str] = set()
        self.detached = threading.Event()
        self.fail_on = fail_on

    def on_readable(self) -> bool:
        self.threads.add(threading.current_thread().name)
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return True
        if self.fail_on is not None and self.fail_on in chunk:
            raise RuntimeError("handler fault")
        self.data += chunk
        return bool(chunk)

    def on_detached(self) -> None:
        self.sock.close()
        self.detached.set()


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for ours, theirs in made:
        ours.close()
        theirs.close()


def _pair(pairs: list[tuple[socket.socket, socket.socket]]) -> tuple[socket.socket, socket.socket]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    pairs.append((ours, theirs))
    return ours, theirs


def test_one_thread_reads_many_sockets_and_ends_with_the_last(pairs) -> None:
    reactor = Reactor("rxpusher-test-io")
    readers = []
    for _ in range(200):
        ours, theirs = _pair(pairs)
        reader = Reader(ours)
        reactor.register(ours, reader)
        readers.append((reader, theirs))
    assert len(library_threads("rxpusher-test-io")) == 1
    for i, (_, theirs) in enumerate(readers):
        theirs.sendall(f"hello {i} ".encode() * 50)
    for i, (reader, theirs) in enumerate(readers):
        theirs.shutdown(socket.SHUT_WR)  # EOF: the handler detaches itself
        assert reader.detached.wait(5)
        assert reader.data == f"hello {i} ".encode() * 50
        assert reader.threads == {"rxpusher-test-io"}
    thread = reactor.thread
    reactor.join_idle(5)
    assert thread is not None and not thread.is_alive() and reactor.connections == 0
    # and it starts again on demand
    ours, theirs = _pair(pairs)
    reader = Reader(ours)
    reactor.register(ours, reader)
    theirs.sendall(b"again")
    theirs.shutdown(socket.SHUT_WR)
    assert reader.detached.wait(5) and reader.data == b"again"
    assert reactor.thread is not thread


def test_detach_from_another_thread_and_a_failing_handler(pairs) -> None:
    reactor = Reactor("rxpusher-test-io")
    quiet, quiet_peer = _pair(pairs)
    faulty, faulty_peer = _pair(pairs)
    busy, busy_peer = _pair(pairs)
    readers = [Reader(quiet), Reader(faulty, fail_on=b"boom"), Reader(busy)]
    registrations = [reactor.register(s, r) for s, r in zip((quiet, faulty, busy), readers)]
    faulty_peer.sendall(b"boom")
    assert readers[1].detached.wait(5)  # detached, the others untouched
    reactor.detach(registrations[0])
    assert readers[0].detached.wait(5)
    reactor.detach(registrations[0])  # twice: nothing more
    busy_peer.sendall(b"still served")
    busy_peer.shutdown(socket.SHUT_WR)
    assert readers[2].detached.wait(5) and readers[2].data == b"still served"
    reactor.join_idle(5)
    assert not library_threads("rxpusher-test-io")


def test_connector_threads_end_when_no_job_waits() -> None:
    pool = Pool(3, "rxpusher-test-connect")
    release = threading.Event()
    done: list[int] = []
    for i in range(10):
        pool.submit(lambda i=i: (release.wait(5), done.append(i)))
    assert len(library_threads("rxpusher-test-connect")) == 3
    release.set()
    _wait(lambda: len(done) == 10)
    pool.join_idle(5)
    assert sorted(done) == list(range(10))
    assert not library_threads("rxpusher-test-connect")


def test_connector_join_never_waits_for_another_clients_handshake() -> None:
    import time

    pool = Pool(2, "rxpusher-test-connect")
    started, release = threading.Event(), threading.Event()
    done = pool.submit(lambda: (started.set(), release.wait(30)))  # a silent host
    assert started.wait(5)
    begin = time.monotonic()
    pool.join_idle(20)
    assert time.monotonic() - begin < 5  # returned at once: the job is someone else's
    release.set()
    assert done.wait(5)
    pool.join_idle(5)
    assert not library_threads("rxpusher-test-connect")


# ---- transports on the shared I/O thread --------------------------------------------------------

def test_many_connections_share_one_reader_thread_and_frames_split_anywhere() -> None:
    with RawWebSocketServer() as server:
        connections = []
        for _ in range(40):
            transport = WebSocketTransport()
            listener = Listener()
            transport.open(server.url, listener)
            connections.append((transport, listener, server.accept()))
        for transport, listener, peer in connections:
            listener.wait(lambda log: ("open",) in log)
        assert len(library_threads("rxpusher-reader")) == 1
        for n, (_, _, peer) in enumerate(connections):
            data = b"".join(text_frame(f"{n}:{i}:" + "x" * (i * 131 % 70_000)) for i in range(8))
            for cut in range(0, len(data), 7_001):  # frames and headers across writes
                peer.write(data[cut : cut + 7_001])
        for n, (_, listener, _) in enumerate(connections):
            listener.wait(lambda log: len(listener.frames()) == 8)
            assert [f.split(":")[1] for f in listener.frames()] == [str(i) for i in range(8)]
            assert all(f.startswith(f"{n}:") for f in listener.frames())

        # one socket closing leaves the others working
        _, dropped, peer = connections[0]
        peer.close()
        dropped.wait(lambda log: dropped.closed() is not None)
        assert dropped.closed() == ("close", None, "connection lost")
        _, listener, peer = connections[1]
        peer.write(text_frame("after the drop"))
        listener.wait(lambda log: ("frame", "after the drop") in log)

        for transport, _, _ in connections:
            transport.close()
        for transport, _, _ in connections:
            transport.join(5)
            assert not transport.alive
        assert not library_threads("rxpusher-reader")
        assert not library_threads("rxpusher-connect")
        assert all(listener.closed() is None for _, listener, _ in connections[1:])


def _opened(server: RawWebSocketServer) -> tuple[WebSocketTransport, Listener, Any]:
    """A transport on the shared I/O thread, open to ``server``; its listener; the peer."""
    transport = WebSocketTransport()
    listener = Listener()
    transport.open(server.url, listener)
    peer = server.accept()
    listener.wait(lambda log: ("open",) in log)
    return transport, listener, peer


def test_sending_into_a_full_socket_buffer_never_blocks_and_the_writer_drains_it() -> None:
    from rxpusher._transport import OutboxFull

    message = "m" * 60_000
    with RawWebSocketServer() as server:
        transport, listener, peer = _opened(server)
        sent, slowest = 0, 0.0
        while True:  # the peer reads nothing: the kernel's buffers fill, then the outbox
            started = time.monotonic()
            try:
                transport.send(message)
            except OutboxFull:
                break
            finally:
                slowest = max(slowest, time.monotonic() - started)
            sent += 1
            assert sent < 10_000, "the outbox is not bounded"
        assert slowest < 0.5  # not one send waited for the socket
        ping = '{"event":"pusher:ping","data":{}}'
        transport.send(ping, bounded=False)  # the client's own frames are never refused
        assert library_threads("rxpusher-writer")  # what waits has a writer of its own
        assert transport.unsent_for() >= 0.0
        expected = sent * (8 + len(message)) + 6 + len(ping)  # lengths, mask keys, payloads
        received = b""
        while len(received) < expected:
            chunk = peer.sock.recv(1 << 20)
            assert chunk, "the client closed the socket"
            received += chunk
        assert len(received) == expected  # every frame accepted went out, none twice
        assert received[-(6 + len(ping)):][:2] == bytes([0x81, 0x80 | len(ping)])  # ping last
        _wait(lambda: transport.unsent_for() == 0.0 and not library_threads("rxpusher-writer"))
        transport.close()
        transport.join(5)


def test_a_storm_of_senders_through_a_backed_up_outbox_keeps_every_frame_whole_and_in_order(
        ) -> None:
    """Eight threads send at once into a socket that drains slowly: every frame arrives
    whole, once, each thread's in its order; a full outbox raises and never blocks."""
    from rxpusher._transport import OutboxFull

    threads, count, size = 8, 100, 3_000
    with RawWebSocketServer() as server:
        transport, listener, peer = _opened(server)
        transport._ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)  # noqa: SLF001
        peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        fulls: list[int] = []
        slowest: list[float] = []
        pace = threading.Event()

        def send_all(n: int) -> None:
            for i in range(count):
                text = f"{n}:{i}:" + "s" * size
                while True:
                    started = time.monotonic()
                    try:
                        transport.send(text)
                        break
                    except OutboxFull:
                        fulls.append(n)
                        pace.wait(0.01)
                    finally:
                        slowest.append(time.monotonic() - started)

        senders = [threading.Thread(target=send_all, args=(n,)) for n in range(threads)]
        for sender in senders:
            sender.start()
        _wait(lambda: fulls)  # the peer has read nothing yet: the outbox filled up
        seen: dict[int, list[int]] = {n: [] for n in range(threads)}
        for _ in range(threads * count):
            frame = peer.read_frame()
            assert frame is not None and frame[0] == 0x1
            n, i, body = frame[1].decode().split(":")
            assert body == "s" * size
            seen[int(n)].append(int(i))
        for sender in senders:
            sender.join(10)
        assert all(seen[n] == list(range(count)) for n in range(threads))
        assert max(slowest) < 0.5
        transport.close()
        transport.join(5)
        assert not library_threads("rxpusher-writer")


def test_a_transport_closed_before_its_handshake_starts() -> None:
    with RawWebSocketServer() as server:
        transport = WebSocketTransport()
        listener = Listener()
        transport.open(server.url, listener)
        transport.close()
        transport.join(5)
        assert not transport.alive
        assert listener.closed() is None
        assert shared_reactor().connections == 0


# ---- clients: a slow observer of one delays the others but never makes them reconnect ---------

@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


def _client(server: LocalServer, **options: Any) -> rxpusher.Pusher:
    return rxpusher.Pusher(server.key, **server.client_options(),
                           activity_timeout=0.2, pong_timeout=0.3, **options)


def test_a_slow_observer_of_one_client_never_makes_the_others_reconnect(local_server) -> None:
    server = local_server
    slow = _client(server)
    others = [_client(server) for _ in range(3)]
    clients = [slow, *others]
    try:
        states: list[list[str]] = [[] for _ in clients]
        for client, seen in zip(clients, states):
            client.wait_connected(5)
            client.state.subscribe(seen.append)
        entered, returned = threading.Event(), threading.Event()
        got: list[list[Any]] = [[] for _ in others]

        def block(data: Any) -> None:
            entered.set()
            threading.Event().wait(1.5)  # the slow observer: five pong timeouts
            returned.set()

        slow.channel("slow").events("e").subscribe(block)
        for client, seen in zip(others, got):
            client.channel("fast").events("e").subscribe(seen.append)
        server.wait_for(lambda: server.channels().get("fast") == 3 and "slow" in server.channels())
        server.trigger("slow", "e", 1)
        assert entered.wait(5)
        server.trigger("fast", "e", 2)  # waits for the shared thread: delayed, not lost
        assert returned.wait(5)
        for seen in got:
            _wait(lambda seen=seen: seen == [2])
        for client, seen in zip(clients, states):
            assert seen == ["connected"], seen  # never left it
            assert client.socket_id is not None
    finally:
        for client in clients:
            client.close()
    assert not library_threads("rxpusher-reader")


def test_dedicated_readers_are_not_delayed_by_a_slow_observer(local_server) -> None:
    server = local_server
    slow = _client(server, io="dedicated")
    other = _client(server, io="dedicated")
    try:
        slow.wait_connected(5)
        other.wait_connected(5)
        entered, release = threading.Event(), threading.Event()
        got = threading.Event()
        slow.channel("slow").events("e").subscribe(lambda d: (entered.set(), release.wait(5)))
        other.channel("fast").events("e").subscribe(lambda d: got.set())
        server.wait_for(lambda: "fast" in server.channels() and "slow" in server.channels())
        server.trigger("slow", "e", 1)
        assert entered.wait(5)
        server.trigger("fast", "e", 2)
        try:
            assert got.wait(5)  # delivered while the other client's observer still blocks
            assert not release.is_set()
        finally:
            release.set()
    finally:
        slow.close()
        other.close()
    assert not library_threads("rxpusher-reader")


def _wait(predicate: Any, timeout: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError("condition not met in time")
