"""Fixtures of the unit tests: a :class:`Pusher` driven by scripted frames in virtual time.

- ``server``: a :class:`rxpusher.testing.ScriptedServer` (``handshake``, ``push``,
  ``succeed``, ``current.drop``, ``current.receive``, ``sent``, ``attempts``).
- ``sched``: a ``reactivex.testing.TestScheduler``: every timer of the client runs on it,
  so ``sched.advance_by(seconds)`` is the only way time passes.
- ``make_pusher(**options)``: a client on that server and scheduler, closed at teardown.
  Defaults: ``reconnect=Backoff(jitter=False)`` so reconnect delays are exact.
- ``pusher``: ``make_pusher()`` already connected (socket id ``"1234.5678"``).
Helpers (``record``, ``Recorder``, ``wait_for``) live in ``support.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from reactivex.testing import TestScheduler

import rxpusher
from rxpusher.testing import ScriptedServer

from .support import SOCKET_ID, AuthEndpoint


@pytest.fixture
def server() -> ScriptedServer:
    return ScriptedServer()


@pytest.fixture
def sched() -> TestScheduler:
    return TestScheduler()


@pytest.fixture
def make_pusher(server: ScriptedServer, sched: TestScheduler) -> Iterator[Callable[..., rxpusher.Pusher]]:
    clients: list[rxpusher.Pusher] = []

    def make(**options: Any) -> rxpusher.Pusher:
        options.setdefault("transport", server.transport)
        options.setdefault("timer_scheduler", sched)
        options.setdefault("reconnect", rxpusher.Backoff(jitter=False))
        client = rxpusher.Pusher(options.pop("key", "key"), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def pusher(make_pusher: Callable[..., rxpusher.Pusher], server: ScriptedServer) -> rxpusher.Pusher:
    client = make_pusher()
    server.handshake(socket_id=SOCKET_ID)
    return client


@pytest.fixture
def auth_endpoint() -> Iterator[AuthEndpoint]:
    endpoint = AuthEndpoint()
    yield endpoint
    endpoint.stop()
