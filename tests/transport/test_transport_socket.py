"""WebSocketTransport over real sockets (plain TCP and TLS), against a raw-socket server that
writes exactly the bytes each test gives it."""

from __future__ import annotations

import json
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from helpers.raw_ws_server import (
    HOST,
    Peer,
    RawWebSocketServer,
    close_payload,
    server_frame,
    text_frame,
)
from rxpusher._transport import DEFAULT_MAX_MESSAGE_SIZE, IO_MODES, WebSocketTransport

pytestmark = pytest.mark.integration

TEXT, CONT, CLOSE, PING, PONG = 0x1, 0x0, 0x8, 0x9, 0xA


class Listener:
    """Records what the transport reports, in order; tests wait on conditions over it."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self._changed = threading.Condition()
        self.block_frames = threading.Event()  # set: on_frame blocks until released
        self.release = threading.Event()

    def _add(self, entry: tuple[Any, ...]) -> None:
        with self._changed:
            self.log.append(entry)
            self._changed.notify_all()

    def on_open(self) -> None:
        self._add(("open",))

    def on_frame(self, text: str) -> None:
        self._add(("frame", text))
        if self.block_frames.is_set():
            self.release.wait(5)

    def on_activity(self) -> None:
        self._add(("activity",))

    def on_close(self, code: int | None, reason: str, cause: Any = None) -> None:
        self._add(("close", code, reason))

    def wait(self, predicate: Callable[[list[tuple[Any, ...]]], bool], timeout: float = 5) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.log), timeout):
                raise AssertionError(f"condition not met; log: {self.log}")

    def frames(self) -> list[str]:
        return [entry[1] for entry in self.log if entry[0] == "frame"]

    def closed(self) -> tuple[Any, ...] | None:
        return next((entry for entry in self.log if entry[0] == "close"), None)


@pytest.fixture
def server() -> Iterator[RawWebSocketServer]:
    with RawWebSocketServer() as raw:
        yield raw


@pytest.fixture(params=IO_MODES)
def io(request: pytest.FixtureRequest) -> str:
    """Every test runs with the shared I/O thread and with a dedicated reader."""
    return str(request.param)


@pytest.fixture
def connect(
    server: RawWebSocketServer, io: str
) -> Iterator[Callable[..., tuple[WebSocketTransport, Listener, Peer]]]:
    transports: list[WebSocketTransport] = []

    def make(**kwargs: Any) -> tuple[WebSocketTransport, Listener, Peer]:
        transport = WebSocketTransport(io=io, **kwargs)
        transports.append(transport)
        listener = Listener()
        transport.open(server.url, listener)
        peer = server.accept()
        listener.wait(lambda log: ("open",) in log)
        return transport, listener, peer

    yield make
    for transport in transports:
        transport.close()
        transport.join(5)
        assert not transport.alive
    if io == "shared":  # the I/O thread ends once its last connection is gone, however it ended
        from rxpusher._internal.reactor import shared_reactor
        from rxpusher.testing import wait_until

        reactor = shared_reactor()
        wait_until(lambda: reactor.connections == 0 and not (
            reactor.thread is not None and reactor.thread.is_alive()), timeout=2,
            what="the shared I/O thread to end")


def close_code(payload: bytes) -> int:
    return int(struct.unpack("!H", payload[:2])[0])


def test_frames_are_delivered_in_order_each_counting_as_activity(connect) -> None:
    _, listener, peer = connect()
    texts = [json.dumps({"event": "e", "data": str(i)}) for i in range(500)]
    peer.write(b"".join(text_frame(t) for t in texts))
    listener.wait(lambda log: len([e for e in log if e[0] == "frame"]) == 500)
    assert listener.frames() == texts
    body = listener.log[1:]
    assert body == [("frame", t) for t in texts]  # on_frame itself is the activity


def test_frames_split_across_writes_and_lengths(connect) -> None:
    _, listener, peer = connect()
    data = (text_frame("a" * 100) + text_frame("b" * 1000)
            + server_frame(TEXT, b"c" * 70_000, length_bytes=8))
    for i in range(0, len(data), 777):
        peer.write(data[i : i + 777])
    listener.wait(lambda log: len(listener.frames()) == 3)
    assert listener.frames() == ["a" * 100, "b" * 1000, "c" * 70_000]


def test_ping_is_answered_with_a_pong_and_counts_as_activity(connect) -> None:
    _, listener, peer = connect()
    peer.write(server_frame(PING, b"are you there"))
    assert peer.read_until(PONG) == b"are you there"
    assert listener.log[-1] == ("activity",)


def test_pong_and_fragments_count_as_activity(connect) -> None:
    _, listener, peer = connect()
    peer.write(server_frame(PONG, b"") + server_frame(TEXT, b"ab", fin=False)
               + server_frame(PING, b"") + server_frame(CONT, b"c"))
    listener.wait(lambda log: ("frame", "abc") in log)
    assert listener.log[1:] == [("activity",)] * 3 + [("frame", "abc")]


def test_close_frame_code_and_reason_reach_the_listener_and_are_echoed(connect) -> None:
    transport, listener, peer = connect()
    peer.write(server_frame(CLOSE, close_payload(4001, "app does not exist")))
    listener.wait(lambda log: listener.closed() is not None)
    assert listener.closed() == ("close", 4001, "app does not exist")
    assert close_code(peer.read_until(CLOSE)) == 4001
    transport.join(5)
    assert not transport.alive


def test_close_without_status_reports_none(connect) -> None:
    _, listener, peer = connect()
    peer.write(server_frame(CLOSE, b""))
    listener.wait(lambda log: listener.closed() is not None)
    assert listener.closed() == ("close", None, "")


def test_dropped_socket_reports_close_without_code(connect) -> None:
    _, listener, peer = connect()
    peer.close()
    listener.wait(lambda log: listener.closed() is not None)
    assert listener.closed()[1] is None  # type: ignore[index]


def test_invalid_utf8_fails_the_connection_with_1007(connect) -> None:
    _, listener, peer = connect()
    peer.write(text_frame("fine") + server_frame(TEXT, b"caf\xe9") + text_frame("never"))
    listener.wait(lambda log: listener.closed() is not None)
    assert listener.frames() == ["fine"]
    assert listener.closed() == ("close", 1007, "invalid UTF-8 in a text frame")
    assert close_code(peer.read_until(CLOSE)) == 1007


def test_oversize_frame_fails_the_connection_with_1009(connect) -> None:
    _, listener, peer = connect(max_message_size=1000)
    peer.write(text_frame("x" * 1000) + bytes([0x81, 127]) + (1 << 40).to_bytes(8, "big"))
    listener.wait(lambda log: listener.closed() is not None)
    assert listener.frames() == ["x" * 1000]
    assert listener.closed() == ("close", 1009, "frame larger than 1000 bytes")
    assert close_code(peer.read_until(CLOSE)) == 1009


def test_masked_frame_fails_the_connection_with_1002(connect) -> None:
    _, listener, peer = connect()
    peer.write(server_frame(TEXT, b"hi", mask=b"\x00\x01\x02\x03"))
    listener.wait(lambda log: listener.closed() is not None)
    assert listener.closed() == ("close", 1002, "masked frame from the server")
    assert close_code(peer.read_until(CLOSE)) == 1002


def test_listener_hears_nothing_after_close(connect) -> None:
    transport, listener, peer = connect()
    transport.close()
    transport.join(5)
    assert not transport.alive
    assert listener.closed() is None
    assert close_code(peer.read_until(CLOSE)) == 1000


def test_close_inside_the_listener_stops_delivery_of_frames_already_read(server, io) -> None:
    transport = WebSocketTransport(io=io)
    listener = Listener()
    original = listener.on_frame

    def close_on_first(text: str) -> None:
        original(text)
        transport.close()

    listener.on_frame = close_on_first  # type: ignore[method-assign]
    transport.open(server.url, listener)
    peer = server.accept()
    listener.wait(lambda log: ("open",) in log)
    peer.write(text_frame("one") + text_frame("two") + text_frame("three"))
    transport.join(5)
    assert not transport.alive
    assert listener.frames() == ["one"]
    assert listener.closed() is None


def test_has_pending_input_tells_a_busy_reader_from_a_silent_server(connect) -> None:
    transport, listener, peer = connect()
    assert not transport.has_pending_input()
    assert_pending_while_the_reader_is_busy(transport, listener, peer)


def assert_pending_while_the_reader_is_busy(
    transport: WebSocketTransport, listener: Listener, peer: Peer
) -> None:
    """While an observer blocks the reader, bytes the server sends count as pending input."""
    listener.block_frames.set()
    peer.write(text_frame("slow observer"))
    listener.wait(lambda log: ("frame", "slow observer") in log)
    peer.write(text_frame("waiting"))
    try:
        assert _eventually(transport.has_pending_input)
    finally:
        listener.release.set()
    listener.wait(lambda log: ("frame", "waiting") in log)
    listener.block_frames.clear()


def test_frames_read_but_not_yet_delivered_count_as_pending(connect) -> None:
    transport, listener, peer = connect()
    listener.block_frames.set()
    peer.write(text_frame("first") + text_frame("second"))  # one write: most likely one recv
    listener.wait(lambda log: ("frame", "first") in log)
    try:
        assert transport.has_pending_input()  # "second" is parsed, or still in the socket
    finally:
        listener.release.set()
    listener.wait(lambda log: ("frame", "second") in log)


def _eventually(predicate: Callable[[], bool]) -> bool:
    """``predicate`` turned true while bytes travel over loopback (bounded, no fixed sleep)."""
    event = threading.Event()
    for _ in range(500):
        if predicate():
            return True
        event.wait(0.01)
    return False


def test_bytes_of_an_unfinished_frame_are_activity_but_a_stalled_frame_is_not_pending(
        connect) -> None:
    """A path that goes silent in the middle of a frame: each byte that arrives is life
    (a slow link is alive), the frame that stopped growing is not (issue 16, item 7)."""
    transport, listener, peer = connect()
    frame = text_frame("x" * 10_000)
    for cut in range(0, 3_000, 1_000):  # a trickle: 3 of the frame's 10 KB
        before = len(listener.log)
        peer.write(frame[cut : cut + 1_000])
        listener.wait(lambda log: len(log) > before)
        assert listener.log[-1] == ("activity",)
    assert listener.frames() == []
    # the path is silent now: what the parser holds must not look like input waiting
    assert not transport.has_pending_input()
    peer.write(frame[3_000:])
    listener.wait(lambda log: ("frame", "x" * 10_000) in log)


def test_from_options_applies_the_clients_max_message_size() -> None:
    from rxpusher._options import Options

    default = WebSocketTransport.from_options(Options.from_kwargs("k", {}))
    assert default._parser._max == DEFAULT_MAX_MESSAGE_SIZE  # noqa: SLF001
    small = WebSocketTransport.from_options(Options.from_kwargs("k", {"max_message_size": 4096}))
    assert small._parser._max == 4096  # noqa: SLF001


# ---- TLS -----------------------------------------------------------------------------------

def test_tls_frames_pings_and_pending_bytes(certificate: tuple[Path, Path], io: str) -> None:
    cert, _ = certificate
    with RawWebSocketServer(tls=certificate) as server:
        transport = WebSocketTransport(sslopt={"cert_reqs": ssl.CERT_REQUIRED,
                                               "ca_certs": str(cert)}, io=io)
        listener = Listener()
        transport.open(server.url, listener)
        peer = server.accept()
        listener.wait(lambda log: ("open",) in log)
        texts = [f"tls frame {i} " + "z" * (i * 37 % 3000) for i in range(300)]
        data = b"".join(text_frame(t) for t in texts)
        for i in range(0, len(data), 5000):  # TLS records that split frames anywhere
            peer.write(data[i : i + 5000])
        peer.write(server_frame(PING, b"tls"))
        assert peer.read_until(PONG) == b"tls"
        listener.wait(lambda log: len(listener.frames()) == 300)
        assert listener.frames() == texts

        assert_pending_while_the_reader_is_busy(transport, listener, peer)

        peer.write(server_frame(TEXT, b"\xff"))
        listener.wait(lambda log: listener.closed() is not None)
        assert listener.closed() == ("close", 1007, "invalid UTF-8 in a text frame")
        transport.join(5)
        assert not transport.alive


def test_a_failed_handshake_is_classified_by_the_type_of_its_exception() -> None:
    import socket
    import ssl

    import websocket

    from rxpusher._transport import attempt_cause

    cases = {
        ConnectionRefusedError(111, "Connection refused"): "refused",
        socket.gaierror(-2, "Name or service not known"): "dns",
        ssl.SSLCertVerificationError("certificate verify failed"): "tls",
        TimeoutError("timed out"): "timeout",
        websocket.WebSocketTimeoutException("the timeout word is in the text"): "timeout",
        websocket.WebSocketBadStatusException("Handshake status %d %s", 404, "Not Found"): "handshake",
        ConnectionResetError(104, "the server said timeout, refused and tls"): "network",
    }
    assert {type(e).__name__: attempt_cause(e) for e in cases} == \
        {type(e).__name__: cause for e, cause in cases.items()}
