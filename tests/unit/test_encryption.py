"""Encrypted channels with scripted frames: keys, decryption, the rotation retry."""

from __future__ import annotations

import base64
import json
import os

import pytest

import rxpusher
from rxpusher import _encryption as encryption
from rxpusher._auth import sign

from .support import SOCKET_ID, record

MASTER = base64.b64encode(bytes(range(32))).decode()
CHANNEL = "private-encrypted-vault"


def channel_key(channel: str = CHANNEL, master: str = MASTER) -> bytes:
    return encryption.derive_shared_secret(channel, base64.b64decode(master))


def push_sealed(server, data, key: bytes, event: str = "secret", channel: str = CHANNEL) -> None:
    server.push(event, encryption.encrypt(key, data), channel=channel)


def test_key_derived_locally_decrypts_sdk_style_payloads(make_pusher, server) -> None:
    pusher = make_pusher(secret="s3cret", encryption_master_key=MASTER)
    server.handshake(socket_id=SOCKET_ID)
    got = record(pusher.channel(CHANNEL).events("secret"))
    (subscribe,) = server.sent("pusher:subscribe")
    assert subscribe["data"]["auth"] == "key:" + sign("s3cret", f"{SOCKET_ID}:{CHANNEL}")
    server.succeed(CHANNEL)
    push_sealed(server, {"gold": 42}, channel_key())
    push_sealed(server, "plain text", channel_key())
    assert got.items == [{"gold": 42}, "plain text"]


def test_key_from_authorizer_shared_secret(make_pusher, server) -> None:
    key = os.urandom(32)
    pusher = make_pusher(
        authorizer=lambda ch, sid: {"auth": "key:sig", "shared_secret": base64.b64encode(key).decode()}
    )
    server.handshake(socket_id=SOCKET_ID)
    got = record(pusher.channel(CHANNEL).events("secret"))
    from .support import wait_for

    wait_for(lambda: server.sent("pusher:subscribe"))
    server.succeed(CHANNEL)
    push_sealed(server, [1, 2], key)
    assert got.items == [[1, 2]]


def test_missing_shared_secret_fails_the_subscription(make_pusher, server) -> None:
    from .support import wait_for

    pusher = make_pusher(authorizer=lambda ch, sid: {"auth": "key:sig"})
    server.handshake(socket_id=SOCKET_ID)
    got = record(pusher.channel(CHANNEL).events("secret"))
    wait_for(lambda: got.errors)
    assert isinstance(got.error, rxpusher.SubscriptionError)
    assert "shared_secret" in got.error.message
    assert server.sent("pusher:subscribe") == []


def test_secret_without_master_key_fails_with_a_clear_error(make_pusher, server) -> None:
    pusher = make_pusher(secret="s3cret")
    server.handshake(socket_id=SOCKET_ID)
    got = record(pusher.channel(CHANNEL).events("secret"))
    assert isinstance(got.error, rxpusher.SubscriptionError)
    assert "encryption_master_key" in got.error.message


def test_rotated_key_is_fetched_once_and_held_events_are_delivered_in_order(make_pusher, server) -> None:
    old, new = os.urandom(32), os.urandom(32)
    keys = [old, new]
    calls: list[str] = []

    def authorizer(channel: str, socket_id: str) -> dict:
        calls.append(socket_id)
        return {"auth": "key:sig", "shared_secret": base64.b64encode(keys[min(len(calls), 2) - 1]).decode()}

    from .support import wait_for

    pusher = make_pusher(authorizer=authorizer)
    errors = record(pusher.errors)
    server.handshake(socket_id=SOCKET_ID)
    got = record(pusher.channel(CHANNEL).events("secret"))
    wait_for(lambda: server.sent("pusher:subscribe"))
    server.succeed(CHANNEL)
    push_sealed(server, "one", old)
    push_sealed(server, "two", new)      # the server rotated: needs the new key
    push_sealed(server, "three", new)    # arrives while re-authorizing, or after
    wait_for(lambda: len(got.items) == 3)
    assert got.items == ["one", "two", "three"]
    assert len(calls) == 2               # one re-authorization, not one per event
    assert errors.items == []


def test_payload_that_fails_after_rotation_is_dropped_and_reported(make_pusher, server) -> None:
    pusher = make_pusher(secret="s3cret", encryption_master_key=MASTER)
    errors = record(pusher.errors)
    server.handshake(socket_id=SOCKET_ID)
    got = record(pusher.channel(CHANNEL).events("secret"))
    server.succeed(CHANNEL)
    push_sealed(server, "forged", os.urandom(32))
    push_sealed(server, "fine", channel_key())
    assert got.items == ["fine"]
    assert not got.terminated
    decryption = [e for e in errors.items if isinstance(e, encryption.DecryptionError)]
    assert len(decryption) == 1 and decryption[0].channel == CHANNEL
    assert isinstance(decryption[0], rxpusher.PusherError)
    # one re-authorization was tried: a second pusher:subscribe is not sent for it
    assert len(server.sent("pusher:subscribe")) == 1


def test_trigger_on_encrypted_channel_raises(make_pusher, server) -> None:
    pusher = make_pusher(secret="s3cret", encryption_master_key=MASTER)
    server.handshake()
    with pytest.raises(ValueError, match="encrypted"):
        pusher.channel(CHANNEL).trigger("client-x", {})


def test_bad_master_key_is_a_value_error_before_io(server) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        rxpusher.Pusher("key", encryption_master_key=base64.b64encode(b"short").decode(),
                        transport=server.transport, auto_connect=False)
    assert server.attempts == 0


def test_protocol_events_on_encrypted_channels_are_not_decrypted(make_pusher, server) -> None:
    pusher = make_pusher(secret="s3cret", encryption_master_key=MASTER)
    server.handshake()
    succeeded = record(pusher.channel(CHANNEL).events("pusher:subscription_succeeded"))
    server.succeed(CHANNEL)
    assert succeeded.items == [{}]
    assert json.loads(json.dumps(succeeded.items)) == [{}]


def test_events_released_by_a_rotation_come_before_an_event_that_arrives_meanwhile(
        make_pusher, server) -> None:
    """The measured defect of issue 15: the renewed key comes back while the reader is
    delivering event 3 (a frames observer lets the authorizer return, then waits until the
    held events 1 and 2 were released); event 3 used to overtake them ([3, 1, 2])."""
    import threading

    from rxpusher.testing import wait_until

    key_a, key_b = os.urandom(32), os.urandom(32)
    second_call, release, returned = threading.Event(), threading.Event(), threading.Event()
    calls: list[str] = []

    def authorizer(channel: str, socket_id: str) -> dict:
        calls.append(socket_id)
        key = key_a
        if len(calls) == 2:
            second_call.set()
            release.wait(10)
            key = key_b
        return {"auth": "key:sig", "shared_secret": base64.b64encode(key).decode()}

    pusher = make_pusher(authorizer=authorizer)
    server.handshake(socket_id=SOCKET_ID)
    got = record(pusher.channel(CHANNEL).events("secret"))
    wait_until(lambda: server.sent("pusher:subscribe"))
    server.succeed(CHANNEL)
    channels = pusher._session._core.subscriptions.channels  # noqa: SLF001 - the race window

    def on_frame(text: str) -> None:
        if '"secret"' in text and len(calls) == 2 and not release.is_set():
            if not second_call.is_set():
                return
            if channels[CHANNEL].rotation is not None and len(channels[CHANNEL].rotation) == 2:
                release.set()
                wait_until(lambda: channels[CHANNEL].rotation is None)  # 1 and 2 released

    pusher.frames.subscribe(on_frame)
    push_sealed(server, 1, key_b)        # does not open with A: the key is renewed
    second_call.wait(5)
    push_sealed(server, 2, key_b)        # held
    push_sealed(server, 3, key_b)        # the frames observer lets the new key in first
    wait_until(lambda: len(got.items) == 3)
    assert got.items == [1, 2, 3]
