"""The transport seam: a WebSocket that reports what happens to a listener.

:class:`WebSocketTransport` runs one reader thread: websocket-client opens the socket and
sends; rxpusher's own frame parser reads it (websocket-client's reconnect loop would hide
close codes, and its reader parses one frame per several Python calls). Unit tests
replace it with :class:`rxpusher.testing.ScriptedTransport`.
"""

from __future__ import annotations

import logging
import operator
import select
import socket
import ssl
import struct
import threading
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import websocket

from ._protocol import redacted
from ._internal.wsframes import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Close,
    Failure,
    FrameParser,
    Item,
    Ping,
)

if TYPE_CHECKING:
    from ._options import Options

log = logging.getLogger("rxpusher")

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "Transport",
    "TransportListener",
    "WebSocketTransport",
    "proxy_options",
]

RECV_SIZE = 256 * 1024
"""Bytes asked of each ``recv``: a burst of small frames costs one system call per thousands."""


class TransportListener(Protocol):
    """What a transport reports, from its reader thread."""

    def on_open(self) -> None:
        """The WebSocket handshake completed."""

    def on_frame(self, text: str) -> None:
        """A text frame arrived (this is also its activity)."""

    def on_activity(self) -> None:
        """A frame other than a text frame arrived: ping, pong, close, fragment, binary."""

    def on_frames(self, texts: list[str]) -> None:
        """Text frames read together, in order: the same as ``on_frame`` for each, in one
        go (the transport may call either)."""

    def on_close(self, code: int | None, reason: str) -> None:
        """The socket closed or could not open; ``code`` is None without a close frame."""


class Transport(Protocol):
    """One connection attempt. ``open`` returns at once; the listener hears the rest."""

    def open(self, url: str, listener: TransportListener) -> None:
        """Start connecting to ``url``."""

    def send(self, text: str) -> None:
        """Send one text frame; raises ``OSError``-like errors when the socket is gone."""

    def close(self, code: int = 1000) -> None:
        """Close the socket; the listener hears nothing more after this returns."""

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reader thread, if any, to end."""


class WebSocketTransport:
    """A websocket-client socket read by one daemon thread.

    websocket-client performs the opening handshake (TLS, proxies included) and every send;
    after the handshake the reader thread reads the socket itself, many frames per ``recv``,
    through :class:`rxpusher._internal.wsframes.FrameParser`. It answers pings, reports every
    frame as activity before delivering it, and fails the connection on a protocol violation:
    close 1002 (masked or malformed frames), 1007 (a text frame that is not valid UTF-8: text
    is never delivered altered) or 1009 (a frame or message above ``max_message_size``
    bytes), reported to the listener as ``on_close`` with that code and the reason.
    """

    def __init__(
        self,
        connect_timeout: float = 10.0,
        sslopt: dict[str, Any] | None = None,
        connect_options: dict[str, Any] | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._connect_options = connect_options or {}
        self._ws = websocket.WebSocket(
            enable_multithread=True,
            skip_utf8_validation=True,  # only close reasons go through its reader
            sslopt=sslopt or {"cert_reqs": ssl.CERT_REQUIRED},
        )
        self._parser = FrameParser(max_message_size)
        self._batch: Iterator[Item] = iter(())  # the items of the last recv being delivered
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_options(cls, options: Options) -> WebSocketTransport:
        """A transport with the client's timeout, TLS, proxy and message size options."""
        sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED}
        if options.ssl_context is not None:
            sslopt = {"context": options.ssl_context}
        elif options.ca_bundle:
            sslopt["ca_certs"] = options.ca_bundle
        max_message_size = options.max_message_size
        return cls(
            options.connect_timeout, sslopt, proxy_options(options.proxy), max_message_size
        )

    @property
    def alive(self) -> bool:
        """True while the reader thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def has_pending_input(self) -> bool:
        """True when received input waits to be handled: frames of the last ``recv`` not yet
        delivered, a partial frame in the parser, bytes decrypted and buffered by TLS, or the
        socket readable right now. Cheap (one ``select`` with a zero timeout at most);
        callable from any thread."""
        if operator.length_hint(self._batch) or self._parser.buffered:
            return True
        sock = self._ws.sock
        if sock is None:
            return False
        try:
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return True
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):  # closed meanwhile
            return False
        return bool(readable)

    def open(self, url: str, listener: TransportListener) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(url, listener), name="rxpusher-reader", daemon=True
        )
        self._thread.start()

    def send(self, text: str) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("send %s", redacted(text))
        self._ws.send(text)

    def close(self, code: int = 1000) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        # Drop the frames of the last recv not yet delivered (the reader iterates the same
        # iterator), so that the listener hears nothing more even when this runs inside it.
        deque(self._batch, maxlen=0)
        try:
            if self._ws.connected:
                self._ws.send_close(code)
        except Exception:  # noqa: BLE001 - best effort on a socket that may be gone
            pass
        sock = self._ws.sock
        if sock is not None:
            # Wakes the reader at once, without waiting for the server's closing handshake
            # (websocket-client's abort() does nothing once send_close() ran).
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, url: str, listener: TransportListener) -> None:
        ws = self._ws
        code: int | None = None
        reason = ""
        try:
            try:
                ws.connect(  # type: ignore[no-untyped-call]
                    url, timeout=self._connect_timeout, **self._connect_options
                )
            except Exception as exc:  # noqa: BLE001 - any failure to connect is a failed attempt
                reason = f"{type(exc).__name__}: {exc}"
                return
            ws.settimeout(None)
            sock = ws.sock
            if self._closed.is_set() or sock is None:
                return
            listener.on_open()
            code, reason = self._read(sock, listener)
        except Exception as exc:  # noqa: BLE001 - the socket died: report it as a close
            if not reason:
                reason = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                ws.shutdown()  # type: ignore[no-untyped-call]
            except Exception:  # noqa: BLE001
                pass
            if not self._closed.is_set():
                self._closed.set()
                listener.on_close(code, reason)

    def _read(self, sock: socket.socket, listener: TransportListener) -> tuple[int | None, str]:
        """Read and dispatch frames until the server closes, the socket dies or the
        protocol is broken; return the close code and reason to report."""
        recv = sock.recv
        feed = self._parser.feed
        on_activity = listener.on_activity
        on_frame = listener.on_frame
        closed = self._closed.is_set
        while True:
            data = recv(RECV_SIZE)
            if not data:
                return None, "connection lost"
            if closed():
                return None, ""
            self._batch = batch = iter(feed(data))
            for item in batch:
                if item.__class__ is str:
                    on_frame(item)  # counts as activity too
                elif isinstance(item, Ping):
                    on_activity()
                    self._ws.pong(item.payload)
                elif isinstance(item, Close):
                    on_activity()
                    self._echo_close(item.code)
                    return item.code, item.reason
                elif isinstance(item, Failure):
                    log.warning("closing the connection (%d): %s", item.code, item.reason)
                    self._echo_close(item.code, item.reason)
                    return item.code, item.reason
                else:  # pongs, fragments and binary messages only count as activity
                    on_activity()

    def _echo_close(self, code: int | None, reason: str = "") -> None:
        """Send a close frame with ``code`` (none for a close without status), best effort."""
        payload = b"" if code is None else struct.pack("!H", code) + reason.encode()[:123]
        try:
            self._ws.send(payload, websocket.ABNF.OPCODE_CLOSE)
        except Exception:  # noqa: BLE001 - the socket may be gone already
            pass


def proxy_options(proxy: str | None) -> dict[str, Any]:
    """websocket-client's proxy arguments for ``http://``, ``socks4://``, ``socks5://`` and
    ``socks5h://`` URLs (with optional ``user:password@``)."""
    if not proxy:
        return {}
    parts = urlsplit(proxy)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "socks4", "socks4a", "socks5", "socks5h"):
        raise ValueError(f"unsupported proxy scheme {scheme!r}")
    result: dict[str, Any] = {
        "http_proxy_host": parts.hostname,
        "http_proxy_port": parts.port or (1080 if scheme.startswith("socks") else 8080),
        "proxy_type": "http" if scheme == "https" else scheme,
    }
    if parts.username:
        result["http_proxy_auth"] = (parts.username, parts.password or "")
    return result
