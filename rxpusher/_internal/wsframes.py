"""A WebSocket frame parser for the client side of RFC 6455, with no socket of its own.

:class:`FrameParser` is fed the bytes of each ``recv`` and returns the messages they
complete, so that one system call yields many frames. It keeps at most one partial frame
between calls (in a ``bytearray`` that only grows by appending), and reassembles fragmented
messages by collecting their chunks and joining them once, so every byte is copied a bounded
number of times whatever the split.

What it returns, in order of arrival, one item per frame received:

- ``str``: a complete text message, strictly decoded as UTF-8;
- ``bytes``: a complete binary message;
- :data:`FRAGMENT`: a non-final fragment of a data message (nothing to deliver yet);
- :class:`Ping` / :class:`Pong`: control frames with their payload;
- :class:`Close`: the server's close frame, parsed into code and reason;
- :class:`Failure`: the stream broke the protocol; the connection must be failed with
  ``code`` (1002 protocol error, 1007 invalid UTF-8, 1009 message too big). It is always the
  last item: the parser ignores everything fed after it.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "Close",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "FRAGMENT",
    "Failure",
    "FrameParser",
    "Item",
    "Ping",
    "Pong",
    "parse_close_payload",
]

DEFAULT_MAX_MESSAGE_SIZE: Final = 10 * 1024 * 1024
"""10 MiB: three orders of magnitude above Pusher's 10 KB event limit, so only a broken or
hostile server reaches it."""

PROTOCOL_ERROR: Final = 1002
INVALID_DATA: Final = 1007
MESSAGE_TOO_BIG: Final = 1009
NO_STATUS: Final = 1005

_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_FIN = 0x80
_MASK = 0x80
_RSV = 0x70


class Ping(NamedTuple):
    """A ping control frame; the client answers with a pong carrying ``payload``."""

    payload: bytes


class Pong(NamedTuple):
    """A pong control frame."""

    payload: bytes


class Close(NamedTuple):
    """The server's close frame: ``code`` is None when it carried no status code."""

    code: int | None
    reason: str


class Failure(NamedTuple):
    """A protocol violation: fail the connection with close ``code``; ``reason`` says why."""

    code: int
    reason: str


class _Fragment:
    """The type of :data:`FRAGMENT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FRAGMENT"


FRAGMENT: Final = _Fragment()
"""A non-final fragment of a data message arrived (activity, nothing to deliver)."""

Item = str | bytes | _Fragment | Ping | Pong | Close | Failure


def _valid_close_code(code: int) -> bool:
    """Whether a server may send ``code`` in a close frame (RFC 6455 section 7.4)."""
    if 1000 <= code <= 1014:
        return code not in (1004, 1005, 1006)
    return 3000 <= code <= 4999


def parse_close_payload(payload: bytes) -> Close | Failure:
    """A close frame's payload as :class:`Close`, or the :class:`Failure` it amounts to."""
    if not payload:
        return Close(None, "")
    if len(payload) == 1:
        return Failure(PROTOCOL_ERROR, "close frame with a 1-byte payload")
    code = (payload[0] << 8) | payload[1]
    if not _valid_close_code(code):
        return Failure(PROTOCOL_ERROR, f"close frame with invalid code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        return Failure(INVALID_DATA, "close frame reason is not valid UTF-8")
    return Close(code, reason)


class FrameParser:
    """Turns the bytes a server sends after the handshake into messages and control frames.

    ``max_message_size`` bounds the payload of one frame and of one reassembled message, in
    bytes: a frame announcing more, or a fragment that makes its message grow past it, is a
    :class:`Failure` with code 1009 before its payload is read.
    """

    __slots__ = ("_max", "_pending", "_chunks", "_chunks_size", "_chunks_opcode", "_failed")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if max_message_size < 1:
            raise ValueError(f"max_message_size must be positive, got {max_message_size}")
        self._max = max_message_size
        self._pending = bytearray()
        self._chunks: list[bytes] = []
        self._chunks_size = 0
        self._chunks_opcode = 0
        self._failed = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as part of an item."""
        return len(self._pending) + self._chunks_size

    @property
    def failed(self) -> bool:
        """True once a :class:`Failure` was returned; the parser then ignores its input."""
        return self._failed

    def feed(self, data: bytes) -> list[Item]:
        """Parse ``data`` (the next bytes from the socket); return the items it completes."""
        if self._failed:
            return []
        pending = self._pending
        buf: bytes | bytearray
        if pending:
            pending += data
            buf = pending
        else:
            buf = data
        items: list[Item] = []
        append = items.append
        size = len(buf)
        pos = 0
        limit = self._max
        fragmenting = self._chunks_opcode
        while True:
            if pos + 2 > size:
                break
            head = buf[pos]
            length = buf[pos + 1]
            # The common case first: a final unmasked text frame with a 7- or 16-bit length.
            if head == 0x81 and length <= 126 and not fragmenting:
                if length < 126:
                    start = pos + 2
                else:
                    start = pos + 4
                    if start > size:
                        break
                    length = (buf[pos + 2] << 8) | buf[pos + 3]
                if length > limit:
                    return self._fail(items, MESSAGE_TOO_BIG, f"frame larger than {limit} bytes")
                end = start + length
                if end > size:
                    break
                try:
                    append(buf[start:end].decode())
                except UnicodeDecodeError:
                    return self._fail(items, INVALID_DATA, "invalid UTF-8 in a text frame")
                pos = end
                continue
            if head & _RSV:
                return self._fail(items, PROTOCOL_ERROR, "reserved bits set in a frame header")
            if length & _MASK:
                return self._fail(items, PROTOCOL_ERROR, "masked frame from the server")
            start = pos + 2
            if length == 126:
                start += 2
                if start > size:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
            elif length == 127:
                start += 8
                if start > size:
                    break
                length = int.from_bytes(buf[pos + 2 : start], "big")
                if length >> 63:
                    return self._fail(items, PROTOCOL_ERROR, "64-bit frame length with MSB set")
            opcode = head & 0x0F
            final = head & _FIN
            if opcode >= 0x8:
                if opcode > _PONG:
                    return self._fail(items, PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
                if not final or length > 125:
                    return self._fail(
                        items, PROTOCOL_ERROR, "fragmented or oversized control frame"
                    )
            elif opcode > _BINARY:
                return self._fail(items, PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
            elif opcode == _CONTINUATION:
                if not fragmenting:
                    return self._fail(items, PROTOCOL_ERROR, "continuation frame without a message")
                if self._chunks_size + length > limit:
                    return self._fail(
                        items, MESSAGE_TOO_BIG, f"message larger than {limit} bytes"
                    )
            else:
                if fragmenting:
                    return self._fail(
                        items, PROTOCOL_ERROR, "new message before the last one was finished"
                    )
                if length > limit:
                    return self._fail(items, MESSAGE_TOO_BIG, f"frame larger than {limit} bytes")
            end = start + length
            if end > size:
                break
            payload = bytes(buf[start:end])
            pos = end
            if opcode == _TEXT or opcode == _BINARY:
                if not final:
                    self._chunks_opcode = fragmenting = opcode
                    self._chunks.append(payload)
                    self._chunks_size = length
                    append(FRAGMENT)
                    continue
                if opcode == _BINARY:
                    append(payload)
                    continue
                try:
                    append(payload.decode("utf-8"))
                except UnicodeDecodeError:
                    return self._fail(items, INVALID_DATA, "invalid UTF-8 in a text frame")
            elif opcode == _CONTINUATION:
                self._chunks.append(payload)
                self._chunks_size += length
                if not final:
                    append(FRAGMENT)
                    continue
                message = b"".join(self._chunks)
                message_opcode = self._chunks_opcode
                self._chunks = []
                self._chunks_size = 0
                self._chunks_opcode = fragmenting = 0
                if message_opcode == _BINARY:
                    append(message)
                    continue
                try:
                    append(message.decode("utf-8"))
                except UnicodeDecodeError:
                    return self._fail(items, INVALID_DATA, "invalid UTF-8 in a text message")
            elif opcode == _PING:
                append(Ping(payload))
            elif opcode == _PONG:
                append(Pong(payload))
            else:
                close = parse_close_payload(payload)
                if isinstance(close, Failure):
                    return self._fail(items, close.code, close.reason)
                append(close)
                self._failed = True  # nothing may follow a close frame
                self._pending = bytearray()
                return items
        if buf is data:
            if pos < size:
                self._pending = bytearray(memoryview(data)[pos:])
        elif pos:
            del pending[:pos]
        return items

    def _fail(self, items: list[Item], code: int, reason: str) -> list[Item]:
        items.append(Failure(code, reason))
        self._failed = True
        self._pending = bytearray()
        self._chunks = []
        self._chunks_size = 0
        return items
