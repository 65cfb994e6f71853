"""A raw-socket WebSocket server for tests: it accepts the upgrade, then writes exactly the
bytes a test gives it, so tests can send any frame, valid or not, split anywhere.

>>> with RawWebSocketServer() as server:               # doctest: +SKIP
...     transport.open(server.url, listener)
...     peer = server.accept()                          # the upgraded connection
...     peer.write(server_frame(0x1, b'{"event":"e"}'))
...     opcode, payload = peer.read_frame()             # what the client sent (unmasked)

``tls=(cert, key)`` serves ``wss://`` with that certificate. Frame builders:
:func:`server_frame` (any opcode, FIN, RSV bits, mask, forced length encoding) and
:func:`close_payload`.
"""

from __future__ import annotations

import base64
import hashlib
import queue
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def server_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length_bytes: int | None = None,
) -> bytes:
    """One frame's bytes. ``length_bytes`` forces the length encoding (0 = 7-bit, 2 = 16-bit,
    8 = 64-bit) instead of the shortest; ``mask`` masks the payload with that 4-byte key."""
    n = len(payload)
    if length_bytes is None:
        length_bytes = 0 if n < 126 else 2 if n < 65536 else 8
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if mask is not None else 0
    if length_bytes == 0:
        header = head + bytes([mask_bit | n])
    elif length_bytes == 2:
        header = head + bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        header = head + bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if mask is None:
        return header + payload
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def text_frame(text: str) -> bytes:
    """A final unmasked text frame holding ``text``."""
    return server_frame(0x1, text.encode())


def close_payload(code: int | None, reason: str = "") -> bytes:
    """The payload of a close frame (empty when ``code`` is None)."""
    if code is None:
        return b""
    return struct.pack("!H", code) + reason.encode()


class Peer:
    """The server end of one upgraded connection."""

    def __init__(self, sock: socket.socket, rest: bytes) -> None:
        self.sock = sock
        self._buffer = bytearray(rest)

    def write(self, data: bytes) -> None:
        """Send raw bytes to the client."""
        self.sock.sendall(data)

    def _need(self, size: int) -> bool:
        while len(self._buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self._buffer.extend(chunk)
        return True

    def read_frame(self) -> tuple[int, bytes] | None:
        """The client's next frame as (opcode, unmasked payload); None when it closed the
        socket. Blocks up to the socket timeout (5 s)."""
        if not self._need(2):
            return None
        opcode, length = self._buffer[0] & 0x0F, self._buffer[1] & 0x7F
        offset = 2
        if length == 126:
            if not self._need(4):
                return None
            length, offset = struct.unpack("!H", self._buffer[2:4])[0], 4
        elif length == 127:
            if not self._need(10):
                return None
            length, offset = struct.unpack("!Q", self._buffer[2:10])[0], 10
        if not self._need(offset + 4 + length):
            return None
        key = self._buffer[offset : offset + 4]
        body = self._buffer[offset + 4 : offset + 4 + length]
        del self._buffer[: offset + 4 + length]
        mask = (bytes(key) * (length // 4 + 1))[:length]
        return opcode, (int.from_bytes(body, "big") ^ int.from_bytes(mask, "big")).to_bytes(
            length, "big")

    def read_until(self, opcode: int) -> bytes:
        """The payload of the client's next frame with ``opcode``, skipping others."""
        while True:
            frame = self.read_frame()
            if frame is None:
                raise AssertionError(f"the client closed the socket before opcode {opcode:#x}")
            if frame[0] == opcode:
                return frame[1]

    def close(self) -> None:
        """Close the TCP connection (no close frame)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def accept_forever(listener: socket.socket, handle: Callable[[socket.socket], None]) -> threading.Thread:
    """Call ``handle`` with each connection ``listener`` accepts, on a daemon thread, until
    the listener is closed."""

    def loop() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            handle(sock)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


class RawWebSocketServer:
    """Listens on a free loopback port; :meth:`accept` returns the next upgraded :class:`Peer`."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._context: ssl.SSLContext | None = None
        if tls is not None:
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.load_cert_chain(str(tls[0]), str(tls[1]))
        self._peers: queue.Queue[Peer | BaseException] = queue.Queue()
        self._open: list[Peer] = []
        self._thread = accept_forever(self._listener, self._accept)

    @property
    def url(self) -> str:
        """The URL a client connects to (``ws://`` or ``wss://``)."""
        scheme = "wss" if self._context is not None else "ws"
        return f"{scheme}://{HOST}:{self.port}/app/key?protocol=7"

    def _accept(self, sock: socket.socket) -> None:
        try:
            self._peers.put(self._upgrade(sock))
        except (OSError, ValueError, StopIteration) as exc:
            sock.close()
            self._peers.put(exc)

    def _upgrade(self, sock: socket.socket) -> Peer:
        sock.settimeout(5)
        if self._context is not None:
            sock = self._context.wrap_socket(sock, server_side=True)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                raise ValueError("the client left during the upgrade")
            request += chunk
        head, _, rest = request.partition(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        return Peer(sock, rest)

    def accept(self, timeout: float = 5.0) -> Peer:
        """The next client whose upgrade succeeded."""
        item = self._peers.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise AssertionError(f"upgrade failed: {item!r}")
        self._open.append(item)
        return item

    def close(self) -> None:
        """Stop listening and close every accepted connection."""
        self._listener.close()
        for peer in self._open:
            peer.close()

    def __enter__(self) -> RawWebSocketServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SlowLorisServer:
    """Accepts connections and answers the upgrade one byte every ``interval`` seconds, for
    ever: a client must give up on its own deadline. ``connections`` counts the attempts."""

    def __init__(self, interval: float = 0.3) -> None:
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self._interval = interval
        self._stop = threading.Event()
        accept_forever(self._listener, self._accept)

    def _accept(self, sock: socket.socket) -> None:
        self.connections += 1
        threading.Thread(target=self._trickle, args=(sock,), daemon=True).start()

    def _trickle(self, sock: socket.socket) -> None:
        answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" * 1000
        with sock:
            try:
                sock.recv(4096)
                for byte in answer:
                    if self._stop.wait(self._interval):
                        return
                    sock.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        """Stop listening and trickling."""
        self._stop.set()
        self._listener.close()
