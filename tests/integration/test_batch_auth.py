"""Batch authorization end to end: 100 private channels, one auth request per (re)connection."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from soketi_harness import HOST, wait_for, wait_state

pytestmark = pytest.mark.integration


class BatchAuthServer:
    """An endpoint in the pusher-js-auth format: ``channel_name[i]`` in, ``{channel: auth}`` out,
    signed by the official SDK; records every request's channel names."""

    def __init__(self, sdk) -> None:
        self.batches: list[tuple[str, list[str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                socket_id = form["socket_id"][0]
                names = [form[f"channel_name[{i}]"][0] for i in range(len(form) - 1)]
                outer.batches.append((socket_id, names))
                body = json.dumps({n: sdk.authenticate(channel=n, socket_id=socket_id)
                                   for n in names}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self._httpd.server_address[1]}/pusher/auth"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


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
