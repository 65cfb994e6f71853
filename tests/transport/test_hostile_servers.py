"""The client against misbehaving servers over real sockets: every failure is reported with
its type and cause, and the client keeps trying (or keeps its connection) as it should."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

import rxpusher
from helpers.raw_ws_server import RawWebSocketServer, SlowLorisServer, server_frame, text_frame
from rxpusher import ConnectAttemptError, ProtocolError
from rxpusher.testing import record, wait_until

FAST = dict(use_tls=False, reconnect=rxpusher.Backoff(initial=0.05, maximum=0.1))


def established(socket_id: str = "1.1") -> bytes:
    return text_frame(json.dumps({"event": "pusher:connection_established",
                                  "data": json.dumps({"socket_id": socket_id,
                                                      "activity_timeout": 120})}))


@pytest.fixture
def raw() -> Iterator[RawWebSocketServer]:
    with RawWebSocketServer() as server:
        yield server


@pytest.fixture
def clients() -> Iterator[list[rxpusher.Pusher]]:
    made: list[rxpusher.Pusher] = []
    yield made
    for client in made:
        client.close()


def connect(clients, port: int, **options) -> rxpusher.Pusher:
    client = rxpusher.Pusher("key", host="127.0.0.1", ws_port=port, **{**FAST, **options})
    clients.append(client)
    return client


def test_an_upgrade_without_a_pusher_handshake_is_abandoned_after_connect_timeout(raw, clients):
    client = connect(clients, raw.port, connect_timeout=0.5)
    errors = record(client.errors)
    raw.accept()  # upgraded, then silence
    error = errors.wait_item(lambda e: isinstance(e, ConnectAttemptError))
    assert error.cause == "timeout"
    second = raw.accept()  # the next attempt follows the backoff
    second.write(established())
    client.wait_connected(timeout=5)


def test_a_slow_loris_upgrade_cannot_hold_an_attempt_past_connect_timeout(clients):
    server = SlowLorisServer(interval=0.3)
    try:
        client = connect(clients, server.port, connect_timeout=1.0)
        errors = record(client.errors)
        error = errors.wait_item(lambda e: isinstance(e, ConnectAttemptError), timeout=10)
        assert error.cause == "timeout"
        wait_until(lambda: server.connections >= 2, what="a second attempt")
    finally:
        server.close()


def test_a_refused_port_is_reported_as_a_refused_attempt(clients):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = connect(clients, port)
    errors = record(client.errors)
    error = errors.wait_item(lambda e: isinstance(e, ConnectAttemptError))
    assert error.cause == "refused" and str(port) in error.url


def test_invalid_utf8_is_never_delivered_altered_and_the_client_reconnects(raw, clients):
    client = connect(clients, raw.port)
    errors = record(client.errors)
    got = record(client.events())
    peer = raw.accept()
    peer.write(established())
    client.wait_connected(timeout=5)
    peer.write(server_frame(0x1, b'{"event":"e","channel":"c","data":"\xff\xfe"}'))
    error = errors.wait_item(lambda e: isinstance(e, ProtocolError))
    assert "1007" in str(error)
    assert not any("\ufffd" in json.dumps(e.data) for e in got.snapshot())
    raw.accept().write(established("2.2"))
    wait_until(lambda: client.socket_id == "2.2", what="the new connection")


def test_a_message_above_max_message_size_closes_with_1009_and_is_reported(raw, clients):
    client = connect(clients, raw.port, max_message_size=1024)
    errors = record(client.errors)
    peer = raw.accept()
    peer.write(established())
    client.wait_connected(timeout=5)
    peer.write(text_frame(json.dumps({"event": "e", "channel": "c", "data": "x" * 4096})))
    error = errors.wait_item(lambda e: isinstance(e, ProtocolError))
    assert "1009" in str(error)
    raw.accept().write(established("2.2"))
    wait_until(lambda: client.socket_id == "2.2", what="the new connection")


def test_deeply_nested_json_is_a_protocol_error_and_the_connection_stays(raw, clients):
    client = connect(clients, raw.port)
    errors = record(client.errors)
    got = record(client.events("e"))
    peer = raw.accept()
    peer.write(established())
    client.wait_connected(timeout=5)
    peer.write(text_frame("[" * 3000))
    peer.write(text_frame(json.dumps({"event": "e", "channel": "c",
                                      "data": json.dumps({"deep": "[" * 3000})})))
    peer.write(text_frame(json.dumps({"event": "e", "channel": "c", "data": "1"})))
    got.wait_value(1)
    assert any(isinstance(e, ProtocolError) for e in errors.snapshot())
    assert client.socket_id == "1.1"  # the same connection


def test_a_certificate_that_does_not_verify_is_reported_as_a_tls_attempt(certificate, clients):
    with RawWebSocketServer(tls=certificate) as server:
        client = rxpusher.Pusher("key", host="127.0.0.1", wss_port=server.port, use_tls=True,
                                 reconnect=FAST["reconnect"])  # no CA given: must not verify
        clients.append(client)
        errors = record(client.errors)
        error = errors.wait_item(lambda e: isinstance(e, ConnectAttemptError))
        assert error.cause == "tls"


def test_close_4009_names_signin(raw, clients):
    from rxpusher import ServerRefusedError
    from helpers.raw_ws_server import close_payload

    client = connect(clients, raw.port)
    errors = record(client.errors)
    peer = raw.accept()
    peer.write(established())
    peer.write(server_frame(0x8, close_payload(4009, "connection not authorized within timeout")))
    error = errors.wait_item(lambda e: isinstance(e, ServerRefusedError))
    assert error.code == 4009 and "signin()" in str(error)
    assert client.connection_state == "disconnected"
