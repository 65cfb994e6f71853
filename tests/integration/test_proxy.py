"""The ``proxy`` option: the WebSocket and the auth calls both go through an HTTP proxy."""

from __future__ import annotations

import select
import socket
import threading
from urllib.parse import urlsplit

import pytest

from helpers.soketi_harness import HOST, Collector, wait_subscribed

pytestmark = pytest.mark.integration


class HttpProxy:
    """A minimal HTTP proxy on loopback: CONNECT tunnels and absolute-form requests,
    recording each target it was asked for."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            request_line, rest = head.split(b"\r\n", 1)
            method, target, version = request_line.decode().split(" ")
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                self.targets.append(f"CONNECT {target}")
                upstream = socket.create_connection((host, int(port)))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                leftover = head.split(b"\r\n\r\n", 1)[1]
            else:
                url = urlsplit(target)
                self.targets.append(f"{method} {target}")
                upstream = socket.create_connection((url.hostname, url.port or 80))
                path = url.path + (f"?{url.query}" if url.query else "")
                leftover = f"{method} {path} {version}\r\n".encode() + rest
            with upstream:
                upstream.sendall(leftover)
                self._relay(client, upstream)

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        sockets = [a, b]
        while not self._stop.is_set():
            readable, _, _ = select.select(sockets, [], [], 0.1)
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(5)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def proxy():
    server = HttpProxy()
    try:
        yield server
    finally:
        server.close()


def test_socket_and_auth_endpoint_go_through_the_proxy(make_pusher, soketi, auth_server, proxy, unique):
    name = unique("private-proxied")
    client = make_pusher(proxy=proxy.url, auth_endpoint=auth_server.url)
    got = Collector("proxied")
    got.subscribe_to(client.channel(name).events("e"))
    wait_subscribed(client.channel(name))
    soketi.sdk.trigger(name, "e", "through the proxy")
    assert got.wait_count(1) == ["through the proxy"]
    assert f"CONNECT {soketi.host}:{soketi.port}" in proxy.targets
    assert any(t.startswith(f"POST {auth_server.url}") for t in proxy.targets)
