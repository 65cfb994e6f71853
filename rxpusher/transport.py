"""The transport seam: a WebSocket that reports what happens to a listener.

:class:`WebSocketTransport` runs one reader thread on websocket-client's
low-level API (its own reconnect loop would hide close codes). Unit tests
replace it with :class:`rxpusher.testing.ScriptedTransport`.
"""

from __future__ import annotations

import logging
import ssl
import struct
import threading
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import websocket

if TYPE_CHECKING:
    from .options import Options

log = logging.getLogger("rxpusher")


class TransportListener(Protocol):
    """What a transport reports, from its reader thread."""

    def on_open(self) -> None:
        """The WebSocket handshake completed."""

    def on_frame(self, text: str) -> None:
        """A text frame arrived."""

    def on_activity(self) -> None:
        """A control frame (ping, pong) arrived."""

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
    """A websocket-client socket read by one daemon thread."""

    def __init__(
        self,
        connect_timeout: float = 10.0,
        sslopt: dict[str, Any] | None = None,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._connect_options = connect_options or {}
        self._ws = websocket.WebSocket(
            enable_multithread=True,
            skip_utf8_validation=True,  # json.loads validates the text anyway
            sslopt=sslopt or {"cert_reqs": ssl.CERT_REQUIRED},
        )
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_options(cls, options: Options) -> WebSocketTransport:
        """A transport with the client's timeout, TLS and proxy options."""
        sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED}
        if options.ssl_context is not None:
            sslopt = {"context": options.ssl_context}
        elif options.ca_bundle:
            sslopt["ca_certs"] = options.ca_bundle
        return cls(options.connect_timeout, sslopt, proxy_options(options.proxy))

    @property
    def alive(self) -> bool:
        """True while the reader thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def open(self, url: str, listener: TransportListener) -> None:
        self._thread = threading.Thread(
            target=self._read, args=(url, listener), name="rxpusher-reader", daemon=True
        )
        self._thread.start()

    def send(self, text: str) -> None:
        log.debug("send %s", text)
        self._ws.send(text)

    def close(self, code: int = 1000) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            if self._ws.connected:
                self._ws.send_close(code)
        except Exception:  # noqa: BLE001 - best effort on a socket that may be gone
            pass
        self._ws.abort()  # type: ignore[no-untyped-call]

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _read(self, url: str, listener: TransportListener) -> None:
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
            _read_ahead(ws)
            if self._closed.is_set():
                return
            listener.on_open()
            text_opcode = websocket.ABNF.OPCODE_TEXT
            close_opcode = websocket.ABNF.OPCODE_CLOSE
            while True:
                opcode, frame = ws.recv_data_frame(True)
                if opcode == text_opcode:
                    listener.on_frame(frame.data.decode("utf-8", "replace"))
                elif opcode == close_opcode:
                    code, reason = _parse_close(frame.data)
                    return
                else:
                    listener.on_activity()
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


def _read_ahead(ws: websocket.WebSocket, size: int = 4096) -> None:
    """Let websocket-client read up to ``size`` bytes per system call instead of exactly
    the bytes of the next header or payload: it keeps what it over-reads for the next
    frame, so a burst of small frames costs one ``recv`` per few frames, not two each."""
    recv = ws._recv  # noqa: SLF001 - the raw socket read behind websocket-client's buffer

    def read_ahead(_wanted: int) -> bytes:
        return recv(size)  # type: ignore[no-any-return,no-untyped-call]

    ws.frame_buffer.recv = read_ahead


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


def _parse_close(payload: bytes) -> tuple[int | None, str]:
    if len(payload) < 2:
        return None, ""
    (code,) = struct.unpack("!H", payload[:2])
    return code, payload[2:].decode("utf-8", "replace")
