"""pytest plugin: a ``pusher_server`` fixture, a :class:`LocalServer` per test.

Enable it with ``pytest_plugins = ["rxpusher.server.pytest_plugin"]`` in a ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .local import LocalServer


@pytest.fixture
def pusher_server() -> Iterator[LocalServer]:
    """A running local Pusher server on a free port, stopped after the test."""
    with LocalServer() as server:
        yield server
