"""Conformance: the official pusher-js client (Node) on this server, driven by the official
Python SDK. The peer script is tests/servers/conformance/pusher_js_conformance.js."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pusher
import pytest
from helpers.raw_pusher_client import RawClient

from rxpusher.server import LocalServer

SERVERS = Path(__file__).resolve().parents[1] / "servers"
SCRIPT = SERVERS / "conformance" / "pusher_js_conformance.js"
PUBLIC, PRIVATE, PRESENCE = "conformance", "private-conformance", "presence-conformance"
Record = dict[str, Any]


class PusherJs:
    """The Node peer: JSON records out, JSON commands in."""

    def __init__(self, server: LocalServer, user_id: str, channels: list[str]) -> None:
        node = shutil.which("node")
        if node is None or not (SERVERS / "node_modules" / "pusher-js").is_dir():
            pytest.fail("needs Node and pusher-js: run `npm ci` in tests/servers")
        self.process = subprocess.Popen(
            [node, str(SCRIPT), server.host, str(server.port), server.key, server.secret,
             user_id, *channels],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.seen: list[Record] = []
        self._records: queue.Queue[Record | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._records.put(json.loads(line))
        self._records.put(None)

    def expect(self, **fields: object) -> Record:
        """The first record (from now on) having all ``fields``; fails after 10 s."""
        while True:
            try:
                record = self._records.get(timeout=10)
            except queue.Empty:
                pytest.fail(f"pusher-js never reported {fields}; it reported {self.seen}")
            if record is None:
                assert self.process.stderr is not None
                pytest.fail(f"pusher-js exited: {self.process.stderr.read()}")
            self.seen.append(record)
            if all(record.get(name) == value for name, value in fields.items()):
                return record

    def command(self, **command: object) -> None:
        """Send one command to the script."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def quit(self) -> int:
        """Ask the script to disconnect; its exit status."""
        self.command(cmd="quit")
        return self.process.wait(timeout=10)

    def kill(self) -> None:
        """End the script if still running and release its pipes."""
        self.process.kill()
        self.process.wait()
        self._reader.join(timeout=10)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def pusher_js(pusher_server: LocalServer) -> Iterator[Callable[..., PusherJs]]:
    peers: list[PusherJs] = []

    def start(user_id: str, *channels: str) -> PusherJs:
        peer = PusherJs(pusher_server, user_id, list(channels))
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.kill()


def test_pusher_js_receives_what_the_python_sdk_triggers(
        pusher_js: Callable[..., PusherJs], sdk: pusher.Pusher,
        connect: Callable[..., RawClient]) -> None:
    js = pusher_js("js-user", PUBLIC, PRIVATE, PRESENCE)
    assert js.expect(type="subscribed", channel=PRESENCE)["members"] == ["js-user"]
    socket_id = js.expect(type="ready")["socket_id"]

    assert sdk.channels_info() == {"channels": {
        name: {"subscription_count": 1, "occupied": True} for name in (PUBLIC, PRIVATE, PRESENCE)}}
    assert sdk.users_info(PRESENCE) == {"users": [{"id": "js-user"}]}

    for channel in (PUBLIC, PRIVATE, PRESENCE):
        sdk.trigger(channel, "update", {"on": channel})
        assert js.expect(type="event", channel=channel, event="update")["data"] == {"on": channel}
    sdk.trigger_batch([{"channel": PUBLIC, "name": "batched", "data": "plain text"}])
    assert js.expect(type="event", event="batched")["data"] == "plain text"
    sdk.trigger(PUBLIC, "not-for-you", "x", socket_id=socket_id)
    sdk.trigger(PUBLIC, "for-you", "y")
    assert js.expect(type="event", channel=PUBLIC)["event"] == "for-you"

    sdk.send_to_user("js-user", "note", {"private": "message"})
    assert js.expect(type="user_event", event="note")["data"] == {"private": "message"}

    assert js.quit() == 0


def test_pusher_js_sees_presence_members_and_client_events(
        pusher_js: Callable[..., PusherJs], sdk: pusher.Pusher,
        connect: Callable[..., RawClient]) -> None:
    js = pusher_js("js-user", PRIVATE, PRESENCE)
    js.expect(type="ready")
    python = connect()
    python.subscribe(PRIVATE, sdk)
    python.subscribe(PRESENCE, sdk, {"user_id": "py-user", "user_info": {"lang": "python"}})
    added = js.expect(type="member_added", channel=PRESENCE)
    assert (added["id"], added["info"]) == ("py-user", {"lang": "python"})
    assert sdk.users_info(PRESENCE) == {"users": [{"id": "js-user"}, {"id": "py-user"}]}

    python.send("client-hello", {"from": "python"}, channel=PRESENCE)
    received = js.expect(type="event", event="client-hello")
    assert (received["data"], received["user_id"]) == ({"from": "python"}, "py-user")

    js.command(cmd="trigger", channel=PRIVATE, event="client-hello", data={"from": "js"})
    assert python.expect("client-hello", PRIVATE)["data"] == {"from": "js"}

    python.close()
    assert js.expect(type="member_removed", channel=PRESENCE)["id"] == "py-user"
    assert js.quit() == 0


def test_pusher_js_with_bind_with_chunking_gets_what_rxpusher_sends_chunked_and_back(
        pusher_js: Callable[..., PusherJs], pusher_server: LocalServer, sdk: pusher.Pusher) -> None:
    from rxpusher import Pusher
    from rxpusher.testing import Recorder

    js = pusher_js("js-user", PUBLIC, PRIVATE)
    js.expect(type="ready")
    report = {"rows": [{"n": i, "label": f"row \"{i}\" é ✓"} for i in range(1500)]}
    doc = {"text": "ü" * 30_000, "lines": list(range(2000))}
    with Pusher(pusher_server.key, **pusher_server.client_options(),
                secret=pusher_server.secret) as client:
        received = Recorder[object]("client-doc")
        received.subscribe_to(client.channel(PRIVATE).events("client-doc"))
        client.channel(PRIVATE).wait_subscribed(10)

        # a server event, chunked by the local server's trigger path
        pusher_server.trigger(PUBLIC, "report", report, chunked=True)
        assert js.expect(type="whole", event="report")["data"] == report
        # a client event, chunked by trigger(chunked=True)
        client.channel(PRIVATE).trigger("client-doc", doc, chunked=True)
        assert js.expect(type="whole", event="client-doc", channel=PRIVATE)["data"] == doc
        # and the other way: pusher-js sends with the recipe, rxpusher puts it together
        # (4 parts of 8,000 characters: within the server's 10 KB and 10 client events a second)
        blob = {"blob": "x" * 30_000}
        js.command(cmd="trigger_chunked", channel=PRIVATE, event="client-doc", data=blob,
                   size=8000)
        assert received.wait_count(1, timeout=10) == [blob]
    assert js.quit() == 0
