"""Fixtures of the soketi integration tests (the machinery lives in ``soketi_harness``).

- ``soketi``: the session's soketi on free loopback ports (``Soketi``: ``host``, ``port``,
  ``app_id``, ``key``, ``secret``, ``client_options()``, ``sdk``, ``channels()``, ``stop()``,
  ``start()``, ``restart()``).
- ``sdk``: the official ``pusher.Pusher`` HTTP client pointing at it.
- ``make_pusher``: factory of ``rxpusher.Pusher`` clients, all closed at teardown.
- ``auth_server``: a local channel-authorization endpoint signing with the SDK, recording
  every request; ``unreachable_endpoint``: a URL nobody listens on.
- ``unique``: channel names no other test uses.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

from soketi_harness import HOST, AuthServer, Soketi, free_port

INTEGRATION_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/integration carries the ``integration`` marker."""
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def soketi() -> Iterable[Soketi]:
    """The session's soketi (never restarted; the reconnect tests use their own)."""
    server = Soketi()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def sdk(soketi: Soketi) -> Any:
    """Official ``pusher.Pusher`` HTTP client pointing at the session soketi."""
    return soketi.sdk


# --------------------------------------------------------------------------------------------
# rxpusher clients
# --------------------------------------------------------------------------------------------


@pytest.fixture
def make_pusher(soketi: Soketi) -> Iterable[Callable[..., Any]]:
    """Factory ``make_pusher(key=None, server=None, **options)`` -> rxpusher.Pusher on soketi.

    Every client made here is closed at the end of the test, even when it fails.
    """
    import rxpusher

    made: list[Any] = []

    def make(key: str | None = None, server: Soketi | None = None, **options: Any) -> Any:
        srv = server or soketi
        client = rxpusher.Pusher(key or srv.key, **srv.client_options(**options))
        made.append(client)
        return client

    yield make
    for client in made:
        try:
            client.close()
        except Exception:  # pragma: no cover - reported by the test itself if relevant
            pass


# --------------------------------------------------------------------------------------------
# Auth endpoint
# --------------------------------------------------------------------------------------------


@pytest.fixture
def auth_server(sdk: Any) -> Iterable[AuthServer]:
    server = AuthServer(sdk)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def unreachable_endpoint() -> str:
    """URL of an auth endpoint nobody listens on (a port just bound and released)."""
    return f"http://{HOST}:{free_port()}/pusher/auth"


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("private-room")`` -> a channel name no other test uses."""
    counter = iter(range(1_000_000))
    token = f"{os.getpid()}-{time.monotonic_ns() % 10**9}"

    def make(prefix: str) -> str:
        return f"{prefix}-{token}-{next(counter)}"

    return make
