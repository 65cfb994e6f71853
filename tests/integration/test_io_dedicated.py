"""A smoke run of integration tests with ``io="dedicated"`` (a reader thread per
connection); the rest of the suite runs with the default shared I/O thread, and the whole of
it runs in this mode with ``RXPUSHER_TEST_IO=dedicated``."""

from __future__ import annotations

import pytest

from helpers.io_harness import force_io
# Collected here again, in dedicated mode. The cycles test counts every thread of the
# process: it runs first, before the tests whose auth endpoint threads end in their own time.
from test_resources import test_connect_close_cycles_do_not_leak_threads  # noqa: F401, I001
from test_client_events import (  # noqa: F401
    test_client_event_reaches_the_other_client_not_the_sender,
    test_client_events_by_name_and_in_order,
)
from test_presence import test_two_clients_see_each_other_join_and_leave  # noqa: F401
from test_resources import (  # noqa: F401
    test_close_ends_every_library_thread,
    test_close_inside_an_observer_on_the_reader_thread,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def io_mode(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every client of this module reads its connection on a thread of its own."""
    force_io(monkeypatch, "dedicated")
    return "dedicated"


def test_clients_here_have_dedicated_readers(make_pusher) -> None:
    pusher = make_pusher(auto_connect=False)
    assert pusher._session._transport_factory()._io == "dedicated"  # noqa: SLF001
