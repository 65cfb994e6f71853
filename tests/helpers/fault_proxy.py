"""A fault-injecting TCP proxy on loopback, between clients and one upstream port.

``FaultProxy(upstream_port)`` listens on a free loopback port (``port``) and relays every
connection to ``127.0.0.1:upstream_port``, one thread per direction. Each direction
(``"up"``: client to server, ``"down"``: server to client) has a mode, switched at any
time for the live connections and the next ones:

- ``"pass"``: relay as is;
- ``"silent"``: relay nothing and read nothing (a dead path: the sender's buffers fill);
- ``"throttle"``: relay at most ``rate`` bytes per second, in slices of 1/20 s;
- ``"stall"`` (``down`` only): relay up to the middle of the next WebSocket frame that
  starts, then go silent for good on that connection (``stalled_at`` records when).

``flap()`` resets (RST) every live connection; ``refuse(True)`` resets each new one at once.
``accepted_at`` records when each connection was accepted (``time.monotonic``).

It never connects anywhere but ``127.0.0.1``.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from typing import Any

HOST = "127.0.0.1"
_SLICE = 0.05
DIRECTIONS = ("up", "down")
MODES = ("pass", "silent", "throttle", "stall")


class _FrameCutter:
    """Finds the middle of the next WebSocket frame in a server's byte stream (after the
    HTTP upgrade answer)."""

    def __init__(self) -> None:
        self.upgraded = False
        self._head = b""  # the end of the upgrade answer, or a partial frame header
        self._left = 0  # payload bytes of the current frame still to come

    def cut(self, data: bytes, armed: bool) -> int | None:
        """Where to cut ``data`` (the bytes to relay before going silent) when ``armed``:
        inside the payload of the next frame that starts; None: relay all of it."""
        pos = 0
        if not self.upgraded:
            buf = self._head + data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._head = buf[-3:]
                return None
            self.upgraded = True
            pos = end + 4 - len(self._head)
            self._head = b""
        while pos < len(data):
            if self._left:
                step = min(self._left, len(data) - pos)
                self._left -= step
                pos += step
                continue
            self._head += data[pos:pos + 1]  # headers byte by byte, payloads in bulk
            pos += 1
            size = _header_size(self._head)
            if size is None or len(self._head) < size:
                continue
            length = self._head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._head[2:4])[0]
            elif length == 127:
                length = struct.unpack("!Q", self._head[2:10])[0]
            self._head = b""
            if armed and length >= 2:
                return min(pos + length // 2, len(data))  # the frame's end never passes
            self._left = length
        return None


def _header_size(head: bytes) -> int | None:
    if len(head) < 2:
        return None
    length = head[1] & 0x7F
    return 2 + (2 if length == 126 else 8 if length == 127 else 0)


class _Link:
    """One relayed connection: the client's socket and the upstream one."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()
        self.stalled = False
        self.threads = [
            threading.Thread(target=self._pump, args=("up", client, upstream),
                             name="fault-proxy-up", daemon=True),
            threading.Thread(target=self._pump, args=("down", upstream, client),
                             name="fault-proxy-down", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _pump(self, direction: str, source: socket.socket, target: socket.socket) -> None:
        cutter = _FrameCutter()
        try:
            while not self.closed.is_set():
                mode, rate = self.proxy.mode(direction)
                if mode == "silent" or (direction == "down" and self.stalled):
                    self.closed.wait(_SLICE)
                    continue
                readable, _, _ = select.select([source], [], [], _SLICE)
                if not readable:
                    continue
                size = max(1, int(rate * _SLICE)) if mode == "throttle" else 65536
                data = source.recv(size)
                if not data:
                    break
                if direction == "down":
                    cut = cutter.cut(data, mode == "stall")
                    if cut is not None:
                        target.sendall(data[:cut])
                        self.stalled = True
                        self.proxy.stalled_at.append(time.monotonic())
                        continue
                target.sendall(data)
                if mode == "throttle":
                    self.closed.wait(_SLICE)
        except OSError:
            pass
        finally:
            self.close(reset=False)

    def close(self, reset: bool) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.upstream):
            try:
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class FaultProxy:
    """See the module docstring."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._modes: dict[str, tuple[str, float]] = {d: ("pass", 0.0) for d in DIRECTIONS}
        self._links: list[_Link] = []
        self._refuse = False
        self.accepted_at: list[float] = []
        self.stalled_at: list[float] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self._listener.listen(256)
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fault-proxy-accept",
                                        daemon=True)
        self._thread.start()

    def client_options(self, server: Any, **overrides: Any) -> dict[str, Any]:
        """``server.client_options()`` with the proxy's port instead of the server's."""
        return server.client_options(ws_port=self.port, **overrides)

    def mode(self, direction: str) -> tuple[str, float]:
        with self._lock:
            return self._modes[direction]

    def set(self, direction: str, mode: str, rate: float = 0.0) -> None:
        """Switch ``direction`` (``"up"``, ``"down"`` or ``"both"``) to ``mode``."""
        assert mode in MODES and (mode != "stall" or direction == "down"), mode
        assert mode != "throttle" or rate > 0
        with self._lock:
            for name in DIRECTIONS if direction == "both" else (direction,):
                self._modes[name] = (mode, rate)

    def refuse(self, refusing: bool) -> None:
        """Reset each new connection at once (a path that drops every attempt)."""
        self._refuse = refusing

    def flap(self) -> int:
        """Reset every live connection; how many there were."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close(reset=True)
        return len(links)

    @property
    def connections(self) -> int:
        with self._lock:
            self._links = [link for link in self._links if not link.closed.is_set()]
            return len(self._links)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted_at.append(time.monotonic())
            if self._refuse:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            try:
                upstream = socket.create_connection((HOST, self.upstream_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._links.append(_Link(self, client, upstream))

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self.flap()
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
