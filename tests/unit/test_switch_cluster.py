"""``pusher.switch_cluster`` (pusher-js 8.5) with scripted servers."""

from __future__ import annotations

import pytest

import rxpusher
from rxpusher import Interruption
from rxpusher._auth import sign

from .support import record


def test_switch_cluster_moves_every_channel_to_the_new_connection(make_pusher, server) -> None:
    pusher = make_pusher(key="old-key", secret="s", host="old.example",
                         channel_data={"user_id": "ann"})
    server.handshake(socket_id="1.1")
    private = pusher.channel("private-orders")
    orders = record(private.events("order"))
    states = record(pusher.state)
    bound: list[object] = []
    pusher.channel("presence-room").bind("note", bound.append)
    lost = {name: record(pusher.channel(name).interruptions)
            for name in ("private-orders", "presence-room")}
    server.succeed("private-orders")
    server.succeed("presence-room", {"presence": {"ids": ["ann"], "hash": {"ann": None}}})
    first = server.current

    pusher.switch_cluster(key="new-key", host="new.example", ws_port=7001)

    assert pusher.key == "new-key"
    assert first.closed_with == 1000
    assert server.attempts == 2
    assert server.current.url.startswith("wss://new.example:443/app/new-key?")
    assert pusher.url == server.current.url
    server.handshake(socket_id="2.2")
    subscribes = [f["data"] for f in server.current.sent if f["event"] == "pusher:subscribe"]
    assert {s["channel"] for s in subscribes} == {"private-orders", "presence-room"}
    orders_sub = next(s for s in subscribes if s["channel"] == "private-orders")
    assert orders_sub["auth"] == "new-key:" + sign("s", "2.2:private-orders")
    server.succeed("private-orders")
    server.succeed("presence-room", {"presence": {"ids": ["ann"], "hash": {"ann": None}}})
    for name, interruptions in lost.items():
        [interruption] = interruptions.items
        assert isinstance(interruption, Interruption) and interruption.channel == name
    server.push("order", {"n": 2}, channel="private-orders")
    server.push("note", "hi", channel="presence-room")
    assert orders.items == [{"n": 2}] and not orders.completed
    assert bound == ["hi"]
    assert states.items[-1] == "connected"


def test_switch_cluster_while_disconnected_only_changes_where_connect_goes(
        make_pusher, server, sched) -> None:
    pusher = make_pusher(key="old-key", host="old.example", use_tls=False)
    server.handshake()
    pusher.disconnect()
    pusher.switch_cluster(cluster="eu")
    sched.advance_by(60)
    assert server.attempts == 1 and pusher.connection_state == "disconnected"
    assert pusher.url.startswith("ws://ws-eu.pusher.com:80/app/old-key?")
    pusher.connect()
    assert server.attempts == 2 and server.current.url == pusher.url


def test_a_wrong_value_changes_nothing(pusher, server) -> None:
    url = pusher.url
    for bad, kind in (({"key": ""}, ValueError), ({"wss_port": 70000}, ValueError),
                      ({"host": 5}, TypeError), ({}, ValueError)):
        with pytest.raises(kind):
            pusher.switch_cluster(**bad)
    assert pusher.url == url and server.attempts == 1
    assert pusher.connection_state == "connected"


def test_switch_cluster_after_close_raises_closed_error(make_pusher) -> None:
    pusher = make_pusher()
    pusher.close()
    with pytest.raises(rxpusher.ClosedError):
        pusher.switch_cluster(key="other")


def test_switch_cluster_from_inside_an_observer_and_from_many_threads_ends_consistent(
        make_pusher, server) -> None:
    import threading

    pusher = make_pusher(key="k0", host="h0.example")
    server.handshake()
    switched: list[str] = []

    def on_state(state: str) -> None:
        if state == "connecting" and not switched:
            switched.append("inside")
            pusher.switch_cluster(key="inside")  # from a callback, under no library lock

    pusher.state.subscribe(on_state)
    pusher.reconnect()
    assert pusher.key == "inside" and switched == ["inside"]
    barrier = threading.Barrier(6)

    def move(n: int) -> None:
        barrier.wait()
        for i in range(20):
            pusher.switch_cluster(key=f"k{n}-{i}", host=f"h{n}.example")

    threads = [threading.Thread(target=move, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert pusher.connection_state == "connecting"
    assert server.current.url == pusher.url and f"/app/{pusher.key}?" in pusher.url
    assert all(t.closed_with is not None for t in server.transports[:-1])
    server.handshake()
    assert pusher.connection_state == "connected"
