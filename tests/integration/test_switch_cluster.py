"""``switch_cluster`` (pusher-js 8.5): a live client moves to another server and app key,
keeping its channels, observers and bindings."""

from __future__ import annotations

from typing import Any, Iterable

import pytest

from helpers.local_harness import SERVER_KINDS
from helpers.soketi_harness import Collector, ServerHarness, wait_for, wait_state

pytestmark = pytest.mark.integration


@pytest.fixture
def second(server: ServerHarness) -> Iterable[ServerHarness]:
    """Another server of the same kind, with an app of its own (key, secret, id)."""
    other = SERVER_KINDS[server.kind](app_id="515151", key="second-key", secret="second-secret")
    other.start()
    try:
        yield other
    finally:
        other.cleanup()


def test_switch_cluster_moves_private_and_presence_channels_to_the_new_server(
        make_pusher, server, second, unique):
    sdks = {server.key: server.sdk, second.key: second.sdk}
    client: Any = None

    def authorizer(channel: str, socket_id: str) -> dict[str, Any]:
        sdk = sdks[client.key]  # the endpoint of the app the client is on now
        if channel.startswith("presence-"):
            return dict(sdk.authenticate(channel, socket_id, {"user_id": "ann"}))
        return dict(sdk.authenticate(channel, socket_id))

    client = make_pusher(authorizer=authorizer)
    private, presence = unique("private-orders"), unique("presence-room")
    orders = Collector("orders")
    orders.subscribe_to(client.channel(private).events("order"))
    members = Collector("members")
    members.subscribe_to(client.channel(presence).members)
    bound: list[Any] = []
    client.channel(presence).bind("note", bound.append)
    interruptions = {name: Collector(f"{name} interruptions") for name in (private, presence)}
    for name, collector in interruptions.items():
        collector.subscribe_to(client.channel(name).interruptions)
    errors = Collector("errors")
    errors.subscribe_to(client.errors)
    client.channel(private).wait_subscribed(10)
    client.channel(presence).wait_subscribed(10)
    server.sdk.trigger(private, "order", {"n": 1})
    orders.wait_item(lambda d: d == {"n": 1})
    old_socket = client.socket_id

    client.switch_cluster(key=second.key, host=second.host, ws_port=second.port)

    assert client.key == second.key
    assert f":{second.port}/app/{second.key}?" in client.url
    for collector in interruptions.values():
        interruption = collector.wait_item(lambda i: True, timeout=15)
        assert interruption.lost_at <= interruption.resubscribed_at
    wait_state(client, "connected")
    assert client.socket_id != old_socket
    assert client.channel(private).subscribed and client.channel(presence).subscribed
    second.wait_occupied(private)
    assert second.users(presence) == {"ann"}
    server.wait_vacant(private)
    server.wait_vacant(presence)
    members.wait_item(lambda m: "ann" in m and m.me is not None and m.me.id == "ann")

    second.sdk.trigger(private, "order", {"n": 2})
    second.sdk.trigger(presence, "note", "hello")
    orders.wait_item(lambda d: d == {"n": 2})
    wait_for(lambda: bound == ["hello"])
    assert orders.snapshot() == [{"n": 1}, {"n": 2}]
    assert not orders.done
    assert not [e for e in errors.snapshot() if "switch" in str(e) or "refused" in str(e)]


def test_switch_cluster_validates_before_doing_anything(make_pusher, server):
    client = make_pusher()
    wait_state(client, "connected")
    socket_id, url = client.socket_id, client.url
    with pytest.raises(ValueError):
        client.switch_cluster(key="")
    with pytest.raises(ValueError):
        client.switch_cluster(ws_port=0)
    with pytest.raises(TypeError):
        client.switch_cluster(cluster=5)  # type: ignore[arg-type]
    assert (client.socket_id, client.url, client.connection_state) == (socket_id, url, "connected")
