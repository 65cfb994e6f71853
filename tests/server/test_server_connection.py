"""WebSocket endpoint: handshake, unknown keys, ping/pong, paths, malformed frames."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import websocket
from helpers.raw_pusher_client import RawClient

from rxpusher.server import LocalServer


def test_handshake_announces_socket_id_and_activity_timeout(
        connect: Callable[..., RawClient]) -> None:
    client = connect()
    assert re.fullmatch(r"\d+\.\d+", client.socket_id)
    assert client.handshake["activity_timeout"] == 120


def test_each_connection_gets_its_own_socket_id(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    first, second = connect(), connect()
    assert first.socket_id != second.socket_id
    assert pusher_server.socket_ids() == [first.socket_id, second.socket_id]


def test_activity_timeout_is_configurable(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(activity_timeout=7)
    client = RawClient(server.ws_url)
    assert client.handshake["activity_timeout"] == 7
    client.close()


def test_unknown_key_gets_error_4001_and_close_4001(pusher_server: LocalServer) -> None:
    ws = websocket.create_connection(
        f"ws://{pusher_server.host}:{pusher_server.port}/app/nope", timeout=5)
    frame = json.loads(ws.recv())
    assert frame == {"event": "pusher:error",
                     "data": {"code": 4001, "message": "App key nope does not exist."}}
    opcode, payload = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(payload[:2], "big") == 4001
    ws.shutdown()


def test_ping_is_answered_with_pong(connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.send("pusher:ping")
    assert client.next() == {"event": "pusher:pong", "data": {}}


def test_data_sent_as_json_string_is_understood(connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.send("pusher:subscribe", json.dumps({"channel": "as-string"}))
    assert client.expect("pusher_internal:subscription_succeeded", "as-string")


def test_a_path_prefix_before_app_is_accepted(pusher_server: LocalServer) -> None:
    client = RawClient(f"ws://{pusher_server.host}:{pusher_server.port}/prefix/app/"
                       f"{pusher_server.key}?protocol=7&client=py&version=1")
    client.close()


def test_other_paths_are_not_websocket_endpoints(pusher_server: LocalServer) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"ws://{pusher_server.host}:{pusher_server.port}/else",
                                    timeout=5)
    assert refused.value.status_code == 404


def test_malformed_and_unknown_frames_are_ignored(connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.ws.send("not json")
    client.ws.send("[1, 2]")
    client.ws.send(json.dumps({"no": "event"}))
    client.send("pusher:unknown")
    client.send("pusher:subscribe", {"channel": 42})
    assert client.sync() == [{"event": "pusher:error", "data": {
        "code": None, "message": "pusher:subscribe needs a channel name."}}]


def test_fragmented_messages_are_reassembled(connect: Callable[..., RawClient]) -> None:
    client = connect()
    text = json.dumps({"event": "pusher:subscribe", "data": {"channel": "pieces"}})
    client.ws.send_frame(websocket.ABNF.create_frame(text[:10], websocket.ABNF.OPCODE_TEXT, 0))
    client.ws.send_frame(websocket.ABNF.create_frame(text[10:], websocket.ABNF.OPCODE_CONT, 1))
    assert client.expect("pusher_internal:subscription_succeeded", "pieces")


def test_websocket_ping_frames_are_answered(connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.ws.ping("hello")
    opcode, payload = client.ws.recv_data(control_frame=True)
    assert (opcode, payload) == (websocket.ABNF.OPCODE_PONG, b"hello")


def test_closing_connection_is_forgotten(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    client = connect()
    client.subscribe("leaving")
    client.close()
    pusher_server.wait_for(lambda: not pusher_server.socket_ids())
    assert pusher_server.channels() == {}
