"""The bounded hand-off of ``scheduler=``: every observer is called on the scheduler, in
order, and falls at most ``scheduler_maxsize`` items behind, with the aio overflow policies."""

from __future__ import annotations

import pytest
from reactivex.testing import TestScheduler

from rxpusher import BufferOverflowError

from .support import record


def feed(server, count: int) -> None:
    for i in range(count):
        server.push("e", i, channel="c")


def test_items_wait_for_the_scheduler_in_order(make_pusher, server) -> None:
    deliver = TestScheduler()
    p = make_pusher(scheduler=deliver)
    server.handshake()
    got = record(p.channel("c").events("e"))
    server.succeed("c")
    feed(server, 5)
    assert got.items == []
    deliver.advance_by(0.001)
    assert got.items == [0, 1, 2, 3, 4]


def test_overflow_error_ends_that_observer_and_releases_it(make_pusher, server) -> None:
    deliver = TestScheduler()
    p = make_pusher(scheduler=deliver, scheduler_maxsize=100)
    server.handshake()
    errors = record(p.errors)
    got = record(p.channel("c").events("e"))
    server.succeed("c")
    feed(server, 1000)
    deliver.advance_by(0.001)
    assert got.items == list(range(100))
    assert isinstance(got.error, BufferOverflowError) and got.error.maxsize == 100
    deliver.advance_by(0.001)
    assert any(isinstance(e, BufferOverflowError) for e in errors.items)
    assert server.sent("pusher:unsubscribe")[-1]["data"] == {"channel": "c"}


@pytest.mark.parametrize(("policy", "expected"), [
    ("drop_oldest", list(range(900, 1000))),
    ("drop_newest", list(range(100))),
])
def test_drop_policies_keep_the_queue_bounded(make_pusher, server, policy, expected) -> None:
    deliver = TestScheduler()
    p = make_pusher(scheduler=deliver, scheduler_maxsize=100, scheduler_overflow=policy)
    server.handshake()
    got = record(p.channel("c").events("e"))
    server.succeed("c")
    feed(server, 1000)
    deliver.advance_by(0.001)
    assert got.items == expected and not got.done


def test_bad_overflow_policy_is_a_value_error() -> None:
    import rxpusher

    with pytest.raises(ValueError, match="scheduler_overflow"):
        rxpusher.Pusher("k", scheduler=TestScheduler(), scheduler_overflow="block",  # type: ignore[arg-type]
                        auto_connect=False)
