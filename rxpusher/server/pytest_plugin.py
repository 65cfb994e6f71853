"""pytest plugin: a ``pusher_server`` fixture, a :class:`LocalServer` per test.

Enable it with ``-p rxpusher.server.pytest_plugin`` or ``pytest_plugins`` in a top-level
``conftest.py``. The server (and ``websockets``) is imported only when the fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .local import LocalServer


@pytest.fixture
def pusher_server() -> Iterator[LocalServer]:
    """A running local Pusher server on a free port, stopped after the test."""
    from .local import LocalServer

    with LocalServer() as server:
        yield server
