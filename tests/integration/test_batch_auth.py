"""Batch authorization end to end: 100 private channels, one auth request per (re)connection."""

from __future__ import annotations

import json

import pytest

from helpers.soketi_harness import AuthRequest, AuthServer, wait_for, wait_state

pytestmark = pytest.mark.integration


class BatchAuthServer(AuthServer):
    """An endpoint in the pusher-js-auth format: ``channel_name[i]`` in, ``{channel: auth}``
    out, signed by the official SDK; ``batches`` records each request's socket and names."""

    def __init__(self, sdk) -> None:
        super().__init__(sdk)
        self.batches: list[tuple[str, list[str]]] = []

    def _answer(self, req: AuthRequest) -> tuple[int, str]:
        socket_id = req.params["socket_id"]
        names = [req.params[f"channel_name[{i}]"] for i in range(len(req.params) - 1)]
        self.batches.append((socket_id, names))
        return 200, json.dumps(
            {n: self.sdk.authenticate(channel=n, socket_id=socket_id) for n in names}
        )


@pytest.fixture
def batch_auth(sdk):
    endpoint = BatchAuthServer(sdk)
    try:
        yield endpoint
    finally:
        endpoint.close()


def test_a_hundred_private_channels_need_one_auth_request_per_connection(
    make_pusher, soketi, batch_auth, unique
):
    names = [unique(f"private-batch-{i}") for i in range(100)]
    client = make_pusher(auth_endpoint=batch_auth.url, auth_batch=True, auto_connect=False)
    channels = [client.subscribe(name) for name in names]
    client.connect()
    wait_for(lambda: all(c.subscribed for c in channels), 15)
    assert len(batch_auth.batches) == 1
    first_socket, first_names = batch_auth.batches[0]
    assert first_socket == client.socket_id and sorted(first_names) == sorted(names)

    client.reconnect()
    wait_state(client, "connected")
    wait_for(lambda: client.socket_id != first_socket and all(c.subscribed for c in channels), 15)
    assert len(batch_auth.batches) == 2
    assert batch_auth.batches[1][0] == client.socket_id
    assert sorted(batch_auth.batches[1][1]) == sorted(names)
    assert set(names) <= soketi.channels()
