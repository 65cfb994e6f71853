"""Server-side WebSockets on asyncio streams, framed by the Sans-I/O layer of ``websockets``.

The server reads the HTTP request head itself (the HTTP API needs request bodies, which the
asyncio server of ``websockets`` refuses), then hands WebSocket upgrades to
``websockets.server.ServerProtocol`` for the handshake, framing, pings and closing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

CLOSE_TIMEOUT = 2.0
_READ_SIZE = 65536


class WebSocketStream:
    """One open WebSocket: text messages in, text messages out, close, mute."""

    def __init__(self, protocol: ServerProtocol, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self._protocol = protocol
        self._reader = reader
        self._writer = writer
        self._muted = False
        self._fragments: list[bytes] = []
        self._close_timer: asyncio.TimerHandle | None = None

    @property
    def muted(self) -> bool:
        """True once :meth:`mute` was called."""
        return self._muted

    def mute(self) -> None:
        """Send nothing more, not even pongs or close frames, while still reading."""
        self._muted = True

    def send_text(self, text: str) -> None:
        """Send a text message if the connection is open (dropped when muted)."""
        if self._protocol.state is OPEN:
            self._protocol.send_text(text.encode())
            self._flush()

    def close(self, code: int, reason: str = "") -> None:
        """Start the closing handshake; abort the TCP connection if the peer does not answer."""
        if self._protocol.state is not OPEN:
            return
        self._protocol.send_close(code, reason)
        self._flush()
        self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.abort)

    def abort(self) -> None:
        """Drop the TCP connection at once, without a closing handshake."""
        self._writer.transport.abort()

    async def messages(self) -> AsyncGenerator[str, None]:
        """Text of each message received, until the connection is closed."""
        try:
            while True:
                try:
                    data = await self._reader.read(_READ_SIZE)
                except ConnectionError:
                    data = b""
                if data:
                    self._protocol.receive_data(data)
                else:
                    self._protocol.receive_eof()
                self._flush()
                for event in self._protocol.events_received():
                    text = self._assemble(event)
                    if text is not None:
                        yield text
                if not data:
                    return
        finally:
            if self._close_timer is not None:
                self._close_timer.cancel()
            self._writer.close()

    def _assemble(self, event: object) -> str | None:
        if not isinstance(event, Frame):
            return None
        if event.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._fragments = [bytes(event.data)]
        elif event.opcode is Opcode.CONT:
            self._fragments.append(bytes(event.data))
        else:
            return None
        if not event.fin:
            return None
        payload, self._fragments = b"".join(self._fragments), []
        return payload.decode("utf-8", errors="replace")

    def _flush(self) -> None:
        _write(self._protocol, self._writer, self._muted)


def accept(head: bytes, reader: asyncio.StreamReader,
           writer: asyncio.StreamWriter) -> WebSocketStream | None:
    """Complete the handshake of the upgrade request ``head``; None if it is invalid."""
    protocol = ServerProtocol()
    protocol.receive_data(head)
    requests = [event for event in protocol.events_received() if isinstance(event, Request)]
    if not requests:
        _write(protocol, writer, muted=False)
        return None
    response = protocol.accept(requests[0])
    protocol.send_response(response)
    _write(protocol, writer, muted=False)
    if response.status_code != 101:
        return None
    return WebSocketStream(protocol, reader, writer)


def reject(head: bytes, writer: asyncio.StreamWriter, status: int, text: str) -> None:
    """Answer the upgrade request ``head`` with a plain HTTP error."""
    protocol = ServerProtocol()
    protocol.receive_data(head)
    protocol.send_response(protocol.reject(status, text))
    _write(protocol, writer, muted=False)


def _write(protocol: ServerProtocol, writer: asyncio.StreamWriter, muted: bool) -> None:
    for chunk in protocol.data_to_send():
        if muted or writer.is_closing():
            continue
        if chunk:
            writer.write(chunk)
        else:
            writer.close()
