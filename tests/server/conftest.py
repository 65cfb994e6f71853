"""Fixtures of the rxpusher.server tests: servers, the official SDK, raw clients."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pusher
import pytest
from helpers.raw_pusher_client import RawClient

from rxpusher.server import LocalServer
from rxpusher.server.pytest_plugin import pusher_server  # noqa: F401  (the plugin's fixture)

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def make_server() -> Iterator[Callable[..., LocalServer]]:
    """Factory of started servers with custom settings, all stopped at teardown."""
    servers: list[LocalServer] = []

    def make(**settings: Any) -> LocalServer:
        server = LocalServer(**settings).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def sdk(pusher_server: LocalServer) -> pusher.Pusher:  # noqa: F811
    """The official server SDK pointing at ``pusher_server`` (with an encryption master key)."""
    return pusher.Pusher(**pusher_server.sdk_options(),
                         encryption_master_key_base64=MASTER_KEY)


@pytest.fixture
def connect(pusher_server: LocalServer) -> Iterator[Callable[..., RawClient]]:  # noqa: F811
    """Factory of raw clients of ``pusher_server`` (or of ``url``), closed at teardown."""
    clients: list[RawClient] = []

    def make(url: str | None = None) -> RawClient:
        client = RawClient(url or pusher_server.ws_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
