"""The transport seam: a WebSocket that reports what happens to a listener.

:class:`WebSocketTransport`: websocket-client opens the socket; frames go out through the
connection's bounded :class:`~rxpusher._internal.outbox.Outbox`, never blocking; rxpusher's
own frame parser reads it, on the process's one I/O thread or on a reader thread of its own
(websocket-client's reconnect loop would hide close codes, and its reader parses one frame
per several Python calls). Unit tests replace it with
:class:`rxpusher.testing.ScriptedTransport`.
"""

from __future__ import annotations

import logging
import operator
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import websocket

from ._states import AttemptCause
from ._protocol import redacted
from ._internal.outbox import OUTBOX_LIMIT, Outbox, OutboxFull, wait_for
from ._internal.reactor import Registration, shared_connector, shared_reactor
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
    "IO_MODES",
    "OUTBOX_LIMIT",
    "OutboxFull",
    "Transport",
    "TransportListener",
    "WebSocketTransport",
    "attempt_cause",
    "proxy_options",
]

RECV_SIZE = 64 * 1024
"""Bytes asked of each ``recv``: a burst of small frames costs one system call per hundreds.
Below glibc's mmap threshold (128 KiB), so that a read for one small frame stays cheap."""


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

    def on_close(self, code: int | None, reason: str, cause: AttemptCause | None = None) -> None:
        """The socket closed or could not open; ``code`` is None without a close frame.
        ``cause`` says why an attempt failed before the WebSocket handshake completed."""


class Transport(Protocol):
    """One connection attempt: everything the session uses of a transport. ``open``
    returns at once; the listener hears the rest."""

    @property
    def interactive(self) -> bool:
        """True when what is sent reaches a server that answers (a WebSocket). False for a
        transport that plays what a server once sent (a recording): the client then sends
        it nothing that needs an answer (no authorization, no ping), takes what it plays as
        the server's word (a ``subscription_succeeded`` counts without a subscribe) and does
        not reconnect when it ends."""

    @property
    def alive(self) -> bool:
        """True while something (a thread, a timer) still works for this transport."""

    def has_pending_input(self) -> bool:
        """True when received input waits to be handled (liveness: a busy socket is alive).
        A partial frame that stopped growing is not input waiting: bytes count as activity
        when they arrive (``on_activity``), not while they wait for the rest."""

    def unsent_for(self) -> float:
        """Seconds frames have waited to go out without a single byte leaving (0.0: nothing
        waits). The client takes a send that cannot progress as a dead connection."""

    def begin_playback(self) -> None:
        """Something now observes (or waits on) the client. A transport that holds what it
        plays until then (a recording played without a clock) starts; a WebSocket does
        nothing."""

    def open(self, url: str, listener: TransportListener) -> None:
        """Start connecting to ``url``."""

    def send(self, text: str, bounded: bool = True) -> None:
        """Send one text frame without blocking; raises ``OSError``-like errors when the
        socket is gone, :class:`~rxpusher._internal.outbox.OutboxFull` when too much waits
        to be sent already (unless ``bounded`` is False: the client's own protocol frames,
        subscriptions and pings, small and never to be dropped)."""

    def close(self, code: int = 1000) -> None:
        """Close the socket; the listener hears nothing more after this returns."""

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reader thread, if any, to end."""


IO_MODES = ("shared", "dedicated")
"""How a client's connection is read: ``"shared"`` (one I/O thread for every connection of
the process) or ``"dedicated"`` (a reader thread of its own)."""

class _WebSocket(websocket.WebSocket):
    """websocket-client's socket; once connected, what it sends (pongs, close frames) goes
    through the connection's :class:`~rxpusher._internal.outbox.Outbox`, never blocking."""

    outbox: Outbox | None = None

    def _send(self, data: str | bytes) -> int:
        outbox = self.outbox
        if outbox is None:
            return int(super()._send(data))
        if isinstance(data, str):
            data = data.encode("utf-8")
        outbox.put(data, bounded=False)  # control frames: small, and they must go out
        return len(data)


class WebSocketTransport:
    """A websocket-client socket read by rxpusher's frame parser, written through an outbox.

    websocket-client performs the opening handshake (TLS, proxies included); after the
    handshake the socket is non-blocking: every frame goes out through the connection's
    bounded :class:`~rxpusher._internal.outbox.Outbox` (written at once when the socket
    takes it, else by the connection's own ``rxpusher-writer`` thread), so that no send ever
    blocks, and rxpusher reads the socket itself, many frames per ``recv``, through
    :class:`rxpusher._internal.wsframes.FrameParser`. It answers pings, reports every
    frame as activity before delivering it, and fails the connection on a protocol violation:
    close 1002 (masked or malformed frames), 1007 (a text frame that is not valid UTF-8: text
    is never delivered altered) or 1009 (a frame or message above ``max_message_size``
    bytes), reported to the listener as ``on_close`` with that code and the reason.

    ``io="shared"`` (the default): the handshake runs on a small pool of short-lived
    threads (``rxpusher-connect``, eight at most: ``connect_timeout`` counts from the moment
    one of them starts the handshake, so with eight handshakes to silent hosts under way the
    next one waits its turn), then the socket joins the process's one I/O thread
    (``rxpusher-reader``, see :mod:`rxpusher._internal.reactor`), which reads it without
    blocking and calls the listener. ``io="dedicated"``: one thread of its own
    (``rxpusher-reader``) connects, then reads the socket until it closes.
    """

    def __init__(
        self,
        connect_timeout: float = 10.0,
        sslopt: dict[str, Any] | None = None,
        connect_options: dict[str, Any] | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        io: str = "shared",
    ) -> None:
        if io not in IO_MODES:
            raise ValueError(f"io must be one of {IO_MODES}, got {io!r}")
        self._connect_timeout = connect_timeout
        self._connect_options = connect_options or {}
        self._io = io
        self._ws = _WebSocket(
            enable_multithread=True,
            skip_utf8_validation=True,  # only close reasons go through its reader
            sslopt=sslopt or {"cert_reqs": ssl.CERT_REQUIRED},
        )
        self._parser = FrameParser(max_message_size)
        self._outbox: Outbox | None = None  # from the end of the handshake
        self._batch: Iterator[Item] = iter(())  # the items of the last recv being delivered
        self._closed = threading.Event()
        self._undelivered = 0  # text frames read and not yet handed to the listener
        self._opened = False
        self._finished = threading.Event()  # nothing runs on behalf of this transport any more
        self._thread: threading.Thread | None = None  # the dedicated or connecting thread
        self._listener: TransportListener | None = None
        self._registration: Registration | None = None
        self._connected: threading.Event | None = None  # set when the handshake job is over
        self._report: tuple[int | None, str] = (None, "")  # the close to report when detached
        self._cause: AttemptCause | None = None  # why the handshake failed, if it did

    @classmethod
    def from_options(cls, options: Options) -> WebSocketTransport:
        """A transport with the client's timeout, TLS, proxy, message size and I/O options."""
        sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED}
        if options.ssl_context is not None:
            sslopt = {"context": options.ssl_context}
        elif options.ca_bundle:
            sslopt["ca_certs"] = options.ca_bundle
        max_message_size = options.max_message_size
        return cls(
            options.connect_timeout, sslopt, proxy_options(options.proxy), max_message_size,
            options.io,
        )

    interactive = True
    """A WebSocket reaches a server (see :class:`Transport`)."""

    def begin_playback(self) -> None:
        """Nothing to start: a WebSocket delivers as frames arrive (see :class:`Transport`)."""

    @property
    def alive(self) -> bool:
        """True from ``open`` until nothing runs on its behalf any more."""
        return self._opened and not self._finished.is_set()

    def has_pending_input(self) -> bool:
        """True when received input waits to be handled: frames of the last ``recv`` not yet
        delivered, bytes decrypted and buffered by TLS, or the socket readable right now
        (not a partial frame in the parser: its bytes were activity when they arrived).
        Cheap (one ``poll`` with a zero timeout at most); callable from any thread."""
        if self._undelivered or operator.length_hint(self._batch):
            return True
        sock = self._ws.sock
        if sock is None:
            return False
        try:
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return True
            return wait_for(sock, False, 0)
        except (OSError, ValueError):  # closed meanwhile
            return False

    def unsent_for(self) -> float:
        """Seconds the outbox's bytes have waited without one going out (0.0: none wait)."""
        outbox = self._outbox
        return 0.0 if outbox is None else outbox.unsent_for()

    def open(self, url: str, listener: TransportListener) -> None:
        self._opened = True
        self._listener = listener
        if self._io == "dedicated":
            self._thread = threading.Thread(
                target=self._run, args=(url, listener), name="rxpusher-reader", daemon=True
            )
            self._thread.start()
        else:
            self._connected = shared_connector().submit(
                lambda: self._connect_shared(url, listener)
            )

    def send(self, text: str, bounded: bool = True) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("send %s", redacted(text))
        outbox = self._outbox
        if outbox is None or self._closed.is_set():
            raise websocket.WebSocketConnectionClosedException("the socket is not open")
        frame = websocket.ABNF.create_frame(text, websocket.ABNF.OPCODE_TEXT)
        outbox.put(frame.format(), bounded)

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
        if self._outbox is not None:
            self._outbox.close()  # the close frame went out, or never will
        sock = self._ws.sock
        if sock is not None:
            # Wakes the reader at once, without waiting for the server's closing handshake
            # (websocket-client's abort() does nothing once send_close() ran).
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        registration = self._registration
        if registration is not None:
            shared_reactor().detach(registration)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the threads that work for this connection to let go of it (never for the
        calling thread, nor on the shared I/O thread, which serves other connections)."""
        current = threading.current_thread()
        outbox = self._outbox
        if outbox is not None:
            outbox.join(5.0 if timeout is None else timeout)
        if self._io == "dedicated":
            thread = self._thread
            if thread is not None and thread is not current:
                thread.join(timeout)
            return
        reactor = shared_reactor()
        if not self._opened or current is reactor.thread or current is self._thread:
            return
        limit = 10.0 if timeout is None else timeout
        deadline = time.monotonic() + limit
        self._finished.wait(limit)
        if self._connected is not None:
            self._connected.wait(max(0.0, deadline - time.monotonic()))
        reactor.join_idle(max(0.0, deadline - time.monotonic()))
        shared_connector().join_idle(max(0.0, deadline - time.monotonic()))

    # ---- shared I/O ---------------------------------------------------------------------

    def _connect_shared(self, url: str, listener: TransportListener) -> None:
        """The handshake, on a pool thread; then the socket joins the I/O thread."""
        self._thread = threading.current_thread()
        try:
            if self._closed.is_set():  # closed while waiting for a pool thread
                self._end()
                return
            sock = self._handshake(url)
            if sock is None or self._closed.is_set():
                self._end()
                return
            sock.setblocking(False)
            self._ws.outbox = self._outbox = Outbox(sock)
            listener.on_open()
            if self._closed.is_set():
                self._end()
                return
            self._registration = shared_reactor().register(sock, self)
            if self._closed.is_set():  # closed while registering: close() missed it
                shared_reactor().detach(self._registration)
        except Exception as exc:  # noqa: BLE001 - the socket died: report it as a close
            self._report = (None, self._report[1] or f"{type(exc).__name__}: {exc}")
            self._end()
        finally:
            self._thread = None

    def on_readable(self) -> bool:
        """Read what the socket holds without blocking and deliver it (on the I/O thread);
        False when the connection is over."""
        sock = self._ws.sock
        listener = self._listener
        if sock is None or listener is None or self._closed.is_set():
            return False
        try:
            while True:
                try:
                    data = sock.recv(RECV_SIZE)
                except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                        ssl.SSLWantWriteError):
                    return True
                if not data:
                    self._report = (None, "connection lost")
                    return False
                if self._closed.is_set():
                    return False
                outcome = self._deliver(data, listener)
                if outcome is not None:
                    self._report = outcome
                    return False
                if self._closed.is_set():
                    return False
                # decrypted bytes buffered by TLS never make the socket readable again
                if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                    return True
        except Exception as exc:  # noqa: BLE001 - the socket died: report it as a close
            self._report = (None, f"{type(exc).__name__}: {exc}")
            return False

    def on_detached(self) -> None:
        """The socket left the I/O thread: close it and report the close (if not closed by
        the client)."""
        self._end()

    def _end(self) -> None:
        """Close the socket and report the close unless the client closed it."""
        if self._outbox is not None:
            self._outbox.close()  # nothing is written to the socket once it is closed
        try:
            self._ws.shutdown()  # type: ignore[no-untyped-call]
        except Exception:  # noqa: BLE001
            pass
        listener = self._listener
        try:
            if not self._closed.is_set() and listener is not None:
                self._closed.set()
                listener.on_close(*self._report, self._cause)
        finally:
            self._finished.set()

    # ---- dedicated reader ----------------------------------------------------------------

    def _handshake(self, url: str) -> socket.socket | None:
        """websocket-client's opening handshake; None (the reason kept for the report) when
        it fails."""
        ws = self._ws
        try:
            ws.connect(  # type: ignore[no-untyped-call]
                url, timeout=self._connect_timeout, **self._connect_options
            )
        except Exception as exc:  # noqa: BLE001 - any failure to connect is a failed attempt
            self._report = (None, f"{type(exc).__name__}: {exc}")
            self._cause = attempt_cause(exc)
            return None
        sock: socket.socket | None = ws.sock
        return sock

    def _run(self, url: str, listener: TransportListener) -> None:
        try:
            sock = self._handshake(url)
            if sock is None or self._closed.is_set():
                return
            sock.setblocking(False)  # the reader waits in poll, the sends never block
            self._ws.outbox = self._outbox = Outbox(sock)
            listener.on_open()
            self._report = self._read(sock, listener)
        except Exception as exc:  # noqa: BLE001 - the socket died: report it as a close
            self._report = (None, self._report[1] or f"{type(exc).__name__}: {exc}")
        finally:
            self._end()

    def _read(self, sock: socket.socket, listener: TransportListener) -> tuple[int | None, str]:
        """Read and dispatch frames until the server closes, the socket dies or the
        protocol is broken; return the close code and reason to report."""
        recv = sock.recv
        closed = self._closed.is_set
        while True:
            try:
                data = recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                    ssl.SSLWantWriteError):
                if closed():
                    return None, ""
                wait_for(sock, False, None)  # close() shuts the socket down: this wakes
                continue
            if not data:
                return None, "connection lost"
            if closed():
                return None, ""
            outcome = self._deliver(data, listener)
            if outcome is not None:
                return outcome

    # ---- both ----------------------------------------------------------------------------

    def _deliver(self, data: bytes, listener: TransportListener) -> tuple[int | None, str] | None:
        """Parse ``data`` and report its frames; the close to report when the connection is
        over (a close frame or a protocol violation), else None."""
        on_activity = listener.on_activity
        items = self._parser.feed(data)
        if not items:  # bytes of a frame still incomplete: they are life, the frame is not
            on_activity()
            return None
        on_frames = getattr(listener, "on_frames", None)
        self._batch = batch = iter(items)
        texts: list[str] = []
        for item in batch:
            if item.__class__ is str:
                texts.append(item)  # delivered together, before anything that follows
                continue
            if texts:
                self._deliver_texts(texts, listener, on_frames)
                texts = []
            if isinstance(item, Ping):
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
        if texts:
            self._deliver_texts(texts, listener, on_frames)
        return None

    def _deliver_texts(self, texts: list[str], listener: TransportListener,
                       on_frames: Callable[[list[str]], None] | None) -> None:
        """Report text frames read together: in one ``on_frames`` call when the listener has
        it (one turn of the client's delivery lane for all of them), else one by one."""
        if on_frames is not None:
            self._undelivered = len(texts)
            on_frames(texts)  # the client drops what follows a close() made meanwhile
            self._undelivered = 0
            return
        closed = self._closed.is_set
        for index, text in enumerate(texts):
            if closed():
                break  # close() from the listener: nothing more is delivered
            self._undelivered = len(texts) - index - 1
            listener.on_frame(text)
        self._undelivered = 0

    def _echo_close(self, code: int | None, reason: str = "") -> None:
        """Send a close frame with ``code`` (none for a close without status), best effort."""
        payload = b"" if code is None else struct.pack("!H", code) + reason.encode()[:123]
        try:
            self._ws.send(payload, websocket.ABNF.OPCODE_CLOSE)
        except Exception:  # noqa: BLE001 - the socket may be gone already
            pass


def attempt_cause(exc: BaseException) -> AttemptCause:
    """Why an opening handshake failed, from the type of its exception."""
    if isinstance(exc, ConnectionRefusedError):
        return AttemptCause.REFUSED
    if isinstance(exc, (socket.gaierror, websocket.WebSocketAddressException)):
        return AttemptCause.DNS
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        return AttemptCause.TLS
    if isinstance(exc, (TimeoutError, websocket.WebSocketTimeoutException)):
        return AttemptCause.TIMEOUT
    if isinstance(exc, websocket.WebSocketException) and not isinstance(
            exc, (websocket.WebSocketProxyException, websocket.WebSocketConnectionClosedException)):
        return AttemptCause.HANDSHAKE  # a bad status, header or answer to the upgrade
    return AttemptCause.NETWORK


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
