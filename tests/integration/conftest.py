"""Fixtures of the integration tests (the machinery lives in ``tests/helpers``:
``soketi_harness`` and ``local_harness``).

- ``server``: the session's server on free loopback ports, parametrized over
  ``SERVER_KINDS`` = soketi and the project's own ``rxpusher.server`` (test ids ``[soketi]`` /
  ``[local]``), both behind one interface (``ServerHarness``: ``kind``, ``host``, ``port``,
  ``app_id``, ``key``, ``secret``, ``client_options()``, ``sdk``, ``channels()``,
  ``channel_info()``, ``users()``, ``wait_occupied()``, ``wait_vacant()``, ``stop()``,
  ``start()``, ``restart()``). Every test that uses it (directly or through ``sdk``,
  ``make_pusher``, ``auth_server``) runs once against each server.
- ``soketi``: the historical name of ``server`` (same object, whichever kind it is).
- ``sdk``: the official ``pusher.Pusher`` HTTP client pointing at it.
- ``make_pusher``: factory of ``rxpusher.Pusher`` clients, all closed at teardown.
- ``auth_server``: a local channel-authorization endpoint signing with the SDK, recording
  every request; ``unreachable_endpoint``: a URL nobody listens on.
- ``unique``: channel names no other test uses.
- ``cluster``: three soketi nodes on Redis (``cluster_harness.SoketiCluster``), started once
  for the session; a test that kills a node calls ``cluster.start()`` first or leaves that
  to the next test that does.

A module whose tests restart their server defines its own ``server`` fixture (see
``test_reconnect.py``): ``make_pusher``, ``sdk`` and ``auth_server`` then follow it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest

from helpers.cluster_harness import SoketiCluster
from helpers.io_harness import force_io
from helpers.local_harness import SERVER_KINDS, make_server
from helpers.brokers import Broker, Nats, Redis
from helpers.soketi_harness import HOST, AuthServer, ServerHarness, Soketi, free_port

INTEGRATION_DIR = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "soketi_only: runs against soketi alone, for a reason given next to the mark",
    )
    config.addinivalue_line(
        "markers",
        "local_only: runs against the local rxpusher.server alone, for a reason given next "
        "to the mark",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/integration carries the ``integration`` marker."""
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _running(kind: str) -> Iterable[ServerHarness]:
    srv = make_server(kind)
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture(scope="session", params=list(SERVER_KINDS))
def server(request: pytest.FixtureRequest) -> Iterable[ServerHarness]:
    """The session's server of each kind (never restarted; the reconnect tests use their
    own)."""
    yield from _running(request.param)


@pytest.fixture(scope="module", params=list(SERVER_KINDS))
def restartable(request: pytest.FixtureRequest) -> Iterable[ServerHarness]:
    """A server of each kind for one module alone, which its tests may stop and restart."""
    yield from _running(request.param)


@pytest.fixture(scope="session")
def cluster() -> Iterable[SoketiCluster]:
    """Three soketi nodes on Redis, shared by the session (test_cluster, test_sequenced)."""
    nodes = SoketiCluster(size=3)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.cleanup()


@pytest.fixture
def soketi(server: ServerHarness) -> ServerHarness:
    """Historical name of ``server``: soketi or the local server, per the test's id."""
    return server


@pytest.fixture(scope="module")
def soketi_only() -> Iterable[Soketi]:
    """A soketi of the module's own, for the tests that run against soketi alone."""
    srv = Soketi()
    srv.start()
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture
def sdk(server: ServerHarness) -> Any:
    """Official ``pusher.Pusher`` HTTP client pointing at the session server."""
    return server.sdk


# --------------------------------------------------------------------------------------------
# rxpusher clients
# --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def io_mode(monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The ``io`` option forced on every client: ``RXPUSHER_TEST_IO=dedicated`` runs the
    suite with a reader thread per connection (unset: the default, the shared I/O thread).
    A module overrides this fixture to run in one mode."""
    mode = os.environ.get("RXPUSHER_TEST_IO")
    if mode:
        force_io(monkeypatch, mode)
    return mode


@pytest.fixture
def make_pusher(server: ServerHarness) -> Iterable[Callable[..., Any]]:
    """Factory ``make_pusher(key=None, server=None, **options)`` -> rxpusher.Pusher on the
    test's server (or on the one passed).

    Every client made here is closed at the end of the test, even when it fails.
    """
    import rxpusher

    made: list[Any] = []

    default = server

    def make(key: str | None = None, server: ServerHarness | None = None, **options: Any) -> Any:
        srv = server or default
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


# --------------------------------------------------------------------------------------------
# Brokers (the bridge tests)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def soketi_server() -> Iterator[Soketi]:
    """A soketi of this module's own (a module whose tests restart it overrides ``server``
    with it)."""
    server = Soketi()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Redis]:
    """A ``redis-server`` of this module's own (data kept across stop/start)."""
    broker = Redis()
    broker.start()
    yield broker
    broker.cleanup()


@pytest.fixture(scope="module")
def nats_server() -> Iterator[Nats]:
    """A ``nats-server -js`` of this module's own (store kept across stop/start)."""
    broker = Nats()
    broker.start()
    yield broker
    broker.cleanup()


@pytest.fixture(params=["redis", "nats"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Each broker in turn (test ids ``[redis]`` / ``[nats]``): its server of this module,
    running; sinks made with ``broker.sink()`` are closed at the end."""
    server = request.getfixturevalue(f"{request.param}_server")
    if server.proc is None:
        server.start()
    under_test = Broker(request.param, server)
    yield under_test
    under_test.close()
    if server.proc is None:
        server.start()
