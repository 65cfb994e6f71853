"""pytest plugin: a ``pusher_server`` fixture, a :class:`LocalServer` per test.

Installed with rxpusher (entry point ``pytest11``), so pytest loads it in every environment
where rxpusher is installed, with or without the ``server`` extra: loading it imports nothing
beyond pytest. The server (and ``websockets``) is imported only when a test uses the
fixture; without the extra, that test fails with a one-line hint to install it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .local import LocalServer

MISSING_EXTRA = ("the pusher_server fixture needs rxpusher's server extra: "
                 "pip install 'rxpusher[server]' ({error})")


@pytest.fixture
def pusher_server() -> Iterator[LocalServer]:
    """A running local Pusher server on a free port, stopped after the test."""
    try:
        from .local import LocalServer
    except ImportError as error:
        pytest.fail(MISSING_EXTRA.format(error=error), pytrace=False)

    with LocalServer() as server:
        yield server
