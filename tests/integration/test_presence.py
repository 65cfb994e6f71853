"""Presence channels against soketi and the local server: members snapshots, joins and leaves
between clients."""

from __future__ import annotations

import pytest

import rxpusher
from helpers.soketi_harness import Collector, wait_subscribed

pytestmark = pytest.mark.integration


def _client(make_pusher, auth_server, user_id, name):
    return make_pusher(
        auth_endpoint=auth_server.url,
        auth={"params": {"user_id": user_id, "user_name": name}},
    )


def test_presence_subscribe_receive_and_me(make_pusher, soketi, auth_server, unique):
    room = unique("presence-room")
    pusher = _client(make_pusher, auth_server, "alice", "Alice")
    channel = pusher.channel(room)
    members = Collector("members")
    members.subscribe_to(channel.members)
    events = Collector("events")
    events.subscribe_to(channel.events("say"))

    snap = members.wait_item(lambda m: m.count == 1, what="alice alone")
    assert isinstance(snap, rxpusher.Members)
    assert snap.me == rxpusher.Member("alice", {"name": "Alice"})
    assert snap.me.id == "alice" and snap.me.info == {"name": "Alice"}
    assert dict(snap) == {"alice": {"name": "Alice"}}
    assert "alice" in snap and snap["alice"] == {"name": "Alice"}
    wait_subscribed(channel)
    assert soketi.users(room) == {"alice"}

    soketi.sdk.trigger(room, "say", {"text": "hi"})
    assert events.wait_count(1) == [{"text": "hi"}]

    # The presence channel_data from the endpoint was sent verbatim.
    [req] = auth_server.requests_for(room)
    assert req.params["socket_id"] == pusher.socket_id
    assert req.params["user_id"] == "alice"


def test_two_clients_see_each_other_join_and_leave(make_pusher, soketi, auth_server, unique):
    room = unique("presence-lobby")
    alice = _client(make_pusher, auth_server, "alice", "Alice")
    a_channel = alice.channel(room)
    a_members = Collector("alice members")
    a_members.subscribe_to(a_channel.members)
    a_added = Collector("alice member_added")
    a_added.subscribe_to(a_channel.member_added)
    a_removed = Collector("alice member_removed")
    a_removed.subscribe_to(a_channel.member_removed)
    a_members.wait_item(lambda m: m.count == 1, what="alice alone")
    wait_subscribed(a_channel)

    bob = _client(make_pusher, auth_server, "bob", "Bob")
    b_channel = bob.channel(room)
    b_members = Collector("bob members")
    b_sub = b_members.subscribe_to(b_channel.members)

    # Bob's first snapshot already has both; Alice sees Bob join.
    b_snap = b_members.wait_item(lambda m: m.count == 2, what="bob sees both")
    assert b_snap.me == rxpusher.Member("bob", {"name": "Bob"})
    assert dict(b_snap) == {"alice": {"name": "Alice"}, "bob": {"name": "Bob"}}
    assert a_added.wait_count(1) == [rxpusher.Member("bob", {"name": "Bob"})]
    a_snap = a_members.wait_item(lambda m: m.count == 2, what="alice sees bob")
    assert a_snap.me == rxpusher.Member("alice", {"name": "Alice"})
    assert set(a_snap) == {"alice", "bob"}
    assert soketi.users(room) == {"alice", "bob"}

    # Snapshots are immutable: the one alice had before is unchanged.
    first = a_members.snapshot()[0]
    assert first.count == 1 and set(first) == {"alice"}

    # Bob leaves (his last observer disposes): Alice sees member_removed.
    b_sub.dispose()
    assert a_removed.wait_count(1) == [rxpusher.Member("bob", {"name": "Bob"})]
    last = a_members.wait_item(
        lambda m: m.count == 1 and "bob" not in m and m is not first, what="bob gone"
    )
    assert set(last) == {"alice"}
    assert last.me.id == "alice"
    assert a_members.error is None and not a_members.completed


def test_member_leaves_when_its_client_closes(make_pusher, soketi, auth_server, unique):
    room = unique("presence-close")
    alice = _client(make_pusher, auth_server, "alice", "Alice")
    removed = Collector("removed")
    removed.subscribe_to(alice.channel(room).member_removed)
    added = Collector("added")
    added.subscribe_to(alice.channel(room).member_added)
    wait_subscribed(alice.channel(room))

    carol = _client(make_pusher, auth_server, "carol", "Carol")
    carol.subscribe(room)
    assert added.wait_count(1) == [rxpusher.Member("carol", {"name": "Carol"})]
    carol.close()
    assert removed.wait_count(1) == [rxpusher.Member("carol", {"name": "Carol"})]


def test_same_user_on_two_connections_is_one_member(make_pusher, soketi, auth_server, unique):
    room = unique("presence-twice")
    watcher = _client(make_pusher, auth_server, "watcher", "W")
    members = Collector("watcher members")
    members.subscribe_to(watcher.channel(room).members)
    added = Collector("added")
    added.subscribe_to(watcher.channel(room).member_added)
    wait_subscribed(watcher.channel(room))

    d1 = _client(make_pusher, auth_server, "dave", "Dave")
    d2 = _client(make_pusher, auth_server, "dave", "Dave")
    d1.subscribe(room)
    wait_subscribed(d1.channel(room))
    d2.subscribe(room)
    wait_subscribed(d2.channel(room))
    marker = Collector("marker")
    marker.subscribe_to(watcher.channel(room).events("marker"))
    soketi.sdk.trigger(room, "marker", 1)
    marker.wait_count(1)  # everything soketi sent the watcher before the marker has arrived
    assert added.snapshot() == [rxpusher.Member("dave", {"name": "Dave"})]
    members.wait_item(lambda m: m.count == 2 and set(m) == {"watcher", "dave"})
    assert soketi.users(room) == {"watcher", "dave"}


def test_integer_user_ids_become_strings(make_pusher, soketi, auth_server, unique):
    room = unique("presence-ints")
    auth_server.behaviour.member = lambda params: {
        "user_id": int(params["user_id"]),
        "user_info": {"n": int(params["user_id"])},
    }
    one = make_pusher(auth_endpoint=auth_server.url, auth={"params": {"user_id": "1"}})
    members = Collector("members")
    members.subscribe_to(one.channel(room).members)
    added = Collector("added")
    added.subscribe_to(one.channel(room).member_added)
    snap = members.wait_item(lambda m: m.count == 1)
    assert snap.me == rxpusher.Member("1", {"n": 1})

    two = make_pusher(auth_endpoint=auth_server.url, auth={"params": {"user_id": "2"}})
    two.subscribe(room)
    assert added.wait_count(1) == [rxpusher.Member("2", {"n": 2})]
    assert set(members.wait_item(lambda m: m.count == 2)) == {"1", "2"}
