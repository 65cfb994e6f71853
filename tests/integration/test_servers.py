"""The test servers themselves: soketi and the local ``rxpusher.server`` behind one harness
end connections the same way, so that every other integration test means the same on both.

A raw WebSocket (no rxpusher) watches what a stop does to an open connection:

- ``stop(graceful=True)`` (soketi: SIGTERM): ``pusher:error`` 4200, then a close frame 4200;
- ``stop(graceful=False)`` (soketi: SIGKILL): the TCP connection drops, no close frame;

and ``start()`` serves again on the same port, with the HTTP API answering.
"""

from __future__ import annotations

import json
import threading

import pytest
import websocket

from helpers.soketi_harness import wait_for

pytestmark = pytest.mark.integration

OPCODE_TEXT, OPCODE_CLOSE = 0x1, 0x8


def _open(server) -> websocket.WebSocket:
    ws = websocket.create_connection(
        f"{server.ws_url}?protocol=7&client=harness&version=1", timeout=5
    )
    established = json.loads(ws.recv())
    assert established["event"] == "pusher:connection_established"
    assert json.loads(established["data"])["activity_timeout"] == 30
    return ws


def _frames_until_end(ws: websocket.WebSocket) -> list[tuple[int, object]]:
    """(opcode, text or close code) of every frame until the close frame or the drop;
    a drop is recorded as (None, "dropped")."""
    frames: list[tuple[int, object]] = []
    try:
        while True:
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == OPCODE_CLOSE:
                frames.append((opcode, int.from_bytes(data[:2], "big")))
                return frames
            frames.append((opcode, data.decode()))
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        frames.append((None, "dropped"))
        return frames


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm-4200", "sigkill"])
def test_stop_ends_connections_like_soketi_and_start_reuses_the_port(restartable, graceful):
    server = restartable
    server.start()
    port = server.port
    ws = _open(server)
    try:
        stopper = threading.Thread(target=server.stop, kwargs={"graceful": graceful})
        stopper.start()
        frames = _frames_until_end(ws)
        stopper.join(15)
        assert not stopper.is_alive()
    finally:
        ws.close()
    assert not server.running

    if graceful:
        (first_op, first), close = frames[0], frames[-1]
        assert first_op == OPCODE_TEXT
        error = json.loads(first)
        assert error["event"] == "pusher:error" and error["data"]["code"] == 4200
        assert close == (OPCODE_CLOSE, 4200)
    else:
        assert frames == [(None, "dropped")]

    server.start()
    assert server.port == port
    ws = _open(server)
    try:
        ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": "harness"}}))
        wait_for(lambda: "harness" in server.channels(), message="subscription after restart")
    finally:
        ws.close()
    server.wait_vacant("harness")
