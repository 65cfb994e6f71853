"""Subscriptions in the core: reference counts, pins, authorizations in flight, the key
rotation of encrypted channels; inputs in, effects out."""

from __future__ import annotations

import base64
import os

import pytest

from rxpusher import DecryptionError, SubscriptionError, _encryption as encryption
from rxpusher._core import Timer
from rxpusher._core.effects import Authorize, AuthorizeBatch, End, Report, SetTimer
from rxpusher._protocol import Authorization
from rxpusher._states import ChannelState

from .coretools import SOCKET_ID, connected, delivered, make_core, of, receive, sent, sink

ENCRYPTED = "private-encrypted-vault"


def authorizer(channel: str, socket_id: str) -> dict:
    raise AssertionError("the core never calls a remote authorizer itself")


def test_the_first_observer_subscribes_and_the_last_one_unsubscribes() -> None:
    core = make_core()
    connected(core)
    a, b = sink("prices", "tick"), sink("prices", None)
    core.attach(a)
    assert sent(core.take()) == [{"event": "pusher:subscribe", "data": {"channel": "prices"}}]
    core.attach(b)
    assert sent(core.take()) == []
    core.detach(a)
    assert sent(core.take()) == []
    core.detach(b)
    assert sent(core.take()) == [{"event": "pusher:unsubscribe", "data": {"channel": "prices"}}]
    assert "prices" not in core.subscriptions.channels


def test_a_pin_keeps_the_channel_until_unpinned() -> None:
    core = make_core()
    connected(core)
    core.pin("prices")
    stream = sink("prices", "tick")
    core.attach(stream)
    core.detach(stream)
    assert [f["event"] for f in sent(core.take())] == ["pusher:subscribe"]
    core.attach(stream := sink("prices", "tick"))
    core.unpin("prices")
    effects = core.take()
    assert [f["event"] for f in sent(effects)] == ["pusher:unsubscribe"]
    assert End([stream], None) in effects


def test_a_remote_authorization_is_a_job_with_a_deadline() -> None:
    core = make_core(authorizer=authorizer, auth_timeout=5)
    connected(core)
    core.attach(sink("private-c", "e"))
    effects = core.take()
    (job,) = of(Authorize, effects)
    assert job == Authorize("private-c", SOCKET_ID, job.token)
    assert SetTimer(Timer.AUTH, 5.0, ("private-c", job.token)) in effects
    core.authorized("private-c", SOCKET_ID, job.token, Authorization("key:sig"))
    assert sent(core.take()) == [{"event": "pusher:subscribe",
                                  "data": {"channel": "private-c", "auth": "key:sig"}}]


def test_a_stale_authorization_is_ignored() -> None:
    core = make_core(authorizer=authorizer)
    connected(core)
    core.attach(sink("private-c", "e"))
    (job,) = of(Authorize, core.take())
    core.authorized("private-c", "other.socket", job.token, Authorization("key:sig"))
    core.authorized("private-c", SOCKET_ID, job.token + 1, Authorization("key:sig"))
    assert core.take() == []


def test_an_authorization_past_its_deadline_fails_the_subscription() -> None:
    core = make_core(authorizer=authorizer, auth_timeout=5)
    connected(core)
    stream = sink("private-c", "e")
    core.attach(stream)
    (job,) = of(Authorize, core.take())
    core.timer_fired(Timer.AUTH, ("private-c", job.token))
    effects = core.take()
    (report,) = of(Report, effects)
    assert isinstance(report.error, SubscriptionError) and report.error.status == 0
    assert delivered(effects)[0][0] == "pusher:subscription_error"
    assert End([stream], report.error) in effects
    core.authorized("private-c", SOCKET_ID, job.token, Authorization("key:sig"))
    assert core.take() == []  # the late answer is stale


def test_a_failed_channel_is_tried_again_by_its_next_observer() -> None:
    core = make_core()
    connected(core)
    core.attach(sink("private-c", "e"))
    assert core.subscriptions.channels["private-c"].state is ChannelState.FAILED
    core.take()
    core.attach(sink("private-c", "e"))
    assert [e.error.channel for e in of(Report, core.take())] == ["private-c"]


def test_a_reconnect_authorizes_every_channel_in_one_batch() -> None:
    def batch(socket_id: str, names: list[str]) -> dict:
        raise AssertionError("run by the shell")

    core = make_core(auth_batch=True, batch_authorizer=batch)
    core.pin("private-a")
    core.pin("private-b")
    connected(core)
    core.take()
    core.closed_by_peer(core.connection.attempt, 4200, "now", None)
    core.timer_fired(Timer.RETRY)
    core.take()
    effects = receive(core, "pusher:connection_established", {"socket_id": "2.2"})
    (job,) = of(AuthorizeBatch, effects)
    assert job.socket_id == "2.2" and job.channels == ("private-a", "private-b")


@pytest.fixture
def encrypted():
    core = make_core(authorizer=authorizer)
    connected(core)
    core.attach(sink(ENCRYPTED, "secret"))
    (job,) = of(Authorize, core.take())
    key_a = os.urandom(32)
    core.authorized(ENCRYPTED, SOCKET_ID, job.token,
                    Authorization("key:sig", None, key_a))
    receive(core, "pusher_internal:subscription_succeeded", {}, channel=ENCRYPTED)
    return core, key_a


def sealed(core, key: bytes, data) -> list:
    return receive(core, "secret", encryption.encrypt(key, data), channel=ENCRYPTED)


def test_an_event_that_opens_with_the_key_is_delivered(encrypted) -> None:
    core, key_a = encrypted
    assert delivered(sealed(core, key_a, {"gold": 1})) == [("secret", ENCRYPTED, {"gold": 1})]


def test_a_rotation_holds_the_events_until_the_new_key_and_keeps_their_order(encrypted) -> None:
    core, _ = encrypted
    key_b = os.urandom(32)
    (job,) = of(Authorize, sealed(core, key_b, 1))
    assert job.rotation and job.channel == ENCRYPTED
    assert sealed(core, key_b, 2) == []  # held
    core.rotated(ENCRYPTED, job.token, Authorization("key:sig", None, key_b))
    released = core.take()
    after = sealed(core, key_b, 3)  # arrived while the held ones were being delivered
    assert [d[2] for d in delivered(released) + delivered(after)] == [1, 2, 3]


def test_an_event_that_opens_with_no_key_is_dropped_and_reported(encrypted) -> None:
    core, _ = encrypted
    key_b, forged = os.urandom(32), os.urandom(32)
    (job,) = of(Authorize, sealed(core, forged, "x"))
    core.rotated(ENCRYPTED, job.token, Authorization("key:sig", None, key_b))
    (report,) = of(Report, core.take())
    assert isinstance(report.error, DecryptionError)
    (report,) = of(Report, sealed(core, forged, "y"))  # the key is fresh: no second renewal
    assert isinstance(report.error, DecryptionError)


def test_a_shared_secret_is_kept_from_the_authorization() -> None:
    core = make_core(authorizer=authorizer)
    connected(core)
    core.attach(sink(ENCRYPTED, "secret"))
    (job,) = of(Authorize, core.take())
    key = base64.b64decode(base64.b64encode(bytes(32)))
    core.authorized(ENCRYPTED, SOCKET_ID, job.token, Authorization("k:s", None, key))
    assert core.subscriptions.channels[ENCRYPTED].key == key
