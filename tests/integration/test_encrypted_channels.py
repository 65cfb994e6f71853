"""End-to-end encrypted channels against soketi and the local server, with events encrypted by
the official SDK."""

from __future__ import annotations

import base64
import json
import os

import pusher as pusher_sdk
import pytest

from helpers.soketi_harness import AuthRequest, AuthServer, Collector, wait_subscribed

pytestmark = pytest.mark.integration

MASTER = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def encrypting_sdk(soketi):
    """The official SDK with an encryption master key: it encrypts what it triggers."""
    return pusher_sdk.Pusher(
        app_id=soketi.app_id, key=soketi.key, secret=soketi.secret, host=soketi.host,
        port=soketi.port, ssl=False, timeout=5, encryption_master_key_base64=MASTER,
    )


class EncryptedAuthServer(AuthServer):
    """Signs with the SDK and hands out its ``shared_secret`` (base64 text on the wire)."""

    def _answer(self, req: AuthRequest) -> tuple[int, str]:
        result = self.sdk.authenticate(
            channel=req.params["channel_name"], socket_id=req.params["socket_id"]
        )
        return 200, json.dumps(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in result.items()}
        )


def test_events_arrive_decrypted_with_the_key_from_an_sdk_signed_endpoint(
    make_pusher, encrypting_sdk, unique
):
    endpoint = EncryptedAuthServer(encrypting_sdk)
    try:
        name = unique("private-encrypted-vault")
        client = make_pusher(auth_endpoint=endpoint.url)
        got = Collector("decrypted")
        got.subscribe_to(client.channel(name).events("gold"))
        wait_subscribed(client.channel(name))
        encrypting_sdk.trigger(name, "gold", {"bars": 12})
        encrypting_sdk.trigger(name, "gold", "text")
        assert got.wait_count(2) == [{"bars": 12}, "text"]
        assert endpoint.requests[0].params["channel_name"] == name
    finally:
        endpoint.close()


def test_events_arrive_decrypted_with_a_locally_derived_key(make_pusher, soketi, encrypting_sdk, unique):
    name = unique("private-encrypted-local")
    client = make_pusher(secret=soketi.secret, encryption_master_key=MASTER)
    got = Collector("decrypted")
    got.subscribe_to(client.channel(name).events("gold"))
    errors = Collector("errors")
    errors.subscribe_to(client.errors)
    wait_subscribed(client.channel(name))
    encrypting_sdk.trigger(name, "gold", {"bars": 1})
    assert got.wait_count(1) == [{"bars": 1}]
    assert errors.snapshot() == []


def test_event_sealed_with_another_key_is_dropped_and_the_stream_lives_on(
    make_pusher, soketi, encrypting_sdk, unique
):
    from rxpusher._encryption import DecryptionError

    name = unique("private-encrypted-mixed")
    client = make_pusher(secret=soketi.secret, encryption_master_key=MASTER)
    got, errors = Collector("decrypted"), Collector("errors")
    got.subscribe_to(client.channel(name).events("gold"))
    errors.subscribe_to(client.errors)
    wait_subscribed(client.channel(name))
    other = pusher_sdk.Pusher(
        app_id=soketi.app_id, key=soketi.key, secret=soketi.secret, host=soketi.host,
        port=soketi.port, ssl=False, encryption_master_key_base64=base64.b64encode(os.urandom(32)).decode(),
    )
    other.trigger(name, "gold", "forged")
    encrypting_sdk.trigger(name, "gold", "genuine")
    assert got.wait_count(1) == ["genuine"]
    error = errors.wait_item(lambda e: isinstance(e, DecryptionError))
    assert error.channel == name
    assert got.error is None
