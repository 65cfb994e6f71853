"""Fault injection: forced closes, silence, refused connections, restarts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pusher
import pytest
import websocket
from helpers.raw_pusher_client import RawClient

from rxpusher.server import LocalServer


def close_code(client: RawClient) -> int:
    """Read up to the close frame and return its code."""
    while True:
        opcode, payload = client.ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(payload[:2], "big")


def test_close_one_connection_with_a_code(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    victim, bystander = connect(), connect()
    assert pusher_server.close_connections(4100, "over quota", socket_id=victim.socket_id) == 1
    assert close_code(victim) == 4100
    assert bystander.sync() == []


def test_close_all_connections(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    clients = [connect(), connect()]
    assert pusher_server.close_connections(4201) == 2
    assert [close_code(client) for client in clients] == [4201, 4201]
    pusher_server.wait_for(lambda: not pusher_server.socket_ids())


def test_closing_an_unknown_socket_does_nothing(pusher_server: LocalServer) -> None:
    assert pusher_server.close_connections(4000, socket_id="1.2") == 0


def test_stop_answering_swallows_pings_of_open_connections_only(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    silenced = connect()
    assert pusher_server.stop_answering() == 1
    silenced.ws.settimeout(0.3)
    silenced.send("pusher:ping")
    with pytest.raises(websocket.WebSocketTimeoutException):
        silenced.next()
    fresh = connect()
    assert fresh.sync() == []
    silenced.ws.shutdown()


def test_silenced_connection_still_counts_until_the_client_leaves(
        pusher_server: LocalServer, connect: Callable[..., RawClient],
        sdk: pusher.Pusher) -> None:
    silenced = connect()
    silenced.subscribe("muted")
    pusher_server.stop_answering(silenced.socket_id)
    assert sdk.channel_info("muted")["subscription_count"] == 1
    silenced.ws.shutdown()
    pusher_server.wait_for(lambda: not pusher_server.socket_ids())


def test_refuse_connections_for_a_while(pusher_server: LocalServer) -> None:
    pusher_server.refuse_connections(60)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        RawClient(pusher_server.ws_url)
    assert refused.value.status_code == 503
    pusher_server.refuse_connections(0)
    RawClient(pusher_server.ws_url).close()


def test_restart_on_the_same_port_drops_connections(
        pusher_server: LocalServer, connect: Callable[..., RawClient]) -> None:
    port = pusher_server.port
    old = connect()
    old.subscribe("before")
    pusher_server.restart()
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        old.next()
    assert pusher_server.port == port
    assert pusher_server.channels() == {}
    new = connect()
    assert new.subscribe("after")["event"] == "pusher_internal:subscription_succeeded"


def test_restart_with_downtime_refuses_tcp_meanwhile(pusher_server: LocalServer) -> None:
    witness = RawClient(pusher_server.ws_url)
    restarted = threading.Thread(target=pusher_server.restart, args=(0.3,))
    restarted.start()
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        witness.next()  # dropped after the listener was closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((pusher_server.host, pusher_server.port), timeout=1)
    restarted.join()
    witness.close()
    RawClient(pusher_server.ws_url).close()


def test_stop_closes_connections_with_4200(make_server: Callable[..., LocalServer]) -> None:
    others = [t for t in threading.enumerate() if t.name == "rxpusher-local-server"]
    server = make_server()
    client = RawClient(server.ws_url)
    stopping = threading.Thread(target=server.stop)
    stopping.start()
    assert client.next() == {"event": "pusher:error", "data": {
        "code": 4200, "message": "Server closed. Please reconnect shortly."}}
    assert close_code(client) == 4200
    client.close()
    stopping.join()
    assert not [thread for thread in threading.enumerate()
                if thread.name == "rxpusher-local-server" and thread not in others]
