"""The server stopped and restarted on the same port: every channel comes back by itself.

These tests use their own server (own ports) of each kind, soketi and the local
``rxpusher.server``, the only ones ever restarted, so the session's servers are never
disturbed. ``server.stop(graceful=True)`` closes every socket with 4200 (soketi's SIGTERM),
``graceful=False`` drops them without a close frame (SIGKILL).
"""

from __future__ import annotations

import pytest

import rxpusher
from helpers.soketi_harness import AuthServer, Collector, wait_for, wait_state

pytestmark = pytest.mark.integration

FAST = dict(reconnect=rxpusher.Backoff(initial=0.1, maximum=1.0))


@pytest.fixture
def server(restartable):
    restartable.start()  # a previous test may have left it stopped
    return restartable


@pytest.fixture
def auth(server):
    endpoint = AuthServer(server.sdk)
    try:
        yield endpoint
    finally:
        endpoint.close()


def _wait_occupied(server, names, timeout=15.0):
    wait_for(
        lambda: set(names) <= server.channels(),
        timeout,
        0.02,
        lambda: f"{sorted(names)} occupied on the server (now {sorted(server.channels())})",
    )


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm-4200", "sigkill"])
def test_restart_resubscribes_every_channel_for_existing_observers(
    make_pusher, server, auth, unique, graceful
):
    public, private = unique("news"), unique("private-ledger")
    local, room = unique("private-local"), unique("presence-desk")
    pusher = make_pusher(
        server=server,
        auth_endpoint=auth.url,
        auth={"params": {"user_id": "ursula"}},
        **FAST,
    )
    # A second client signing locally, to check the `secret` path re-signs too.
    signer = make_pusher(server=server, secret=server.secret, **FAST)

    states, frames = Collector("state"), Collector("frames")
    states.subscribe_to(pusher.state)
    frames.subscribe_to(pusher.frames)
    observers = {
        public: Collector("public"),
        private: Collector("private"),
        room: Collector("presence"),
    }
    for name, c in observers.items():
        c.subscribe_to(pusher.channel(name).events("e"))
    local_obs = Collector("local-signed")
    local_obs.subscribe_to(signer.channel(local).events("e"))
    members = Collector("members")
    members.subscribe_to(pusher.channel(room).members)

    _wait_occupied(server, [public, private, local, room])
    wait_for(lambda: all(pusher.channel(n).subscribed for n in observers))
    wait_for(lambda: signer.channel(local).subscribed)
    server.sdk.trigger([public, private, room], "e", "before")
    server.sdk.trigger(local, "e", "before")
    for c in [*observers.values(), local_obs]:
        assert c.wait_count(1) == ["before"]
    old_socket = pusher.socket_id
    assert [r.params["socket_id"] for r in auth.requests] == [old_socket, old_socket]

    server.stop(graceful=graceful)
    wait_for(
        lambda: pusher.connection_state in ("connecting", "unavailable"),
        message=lambda: f"client to notice the outage (state {pusher.connection_state!r})",
    )
    server.start()  # same port

    wait_state(pusher, "connected", timeout=15)
    wait_state(signer, "connected", timeout=15)
    assert pusher.socket_id and pusher.socket_id != old_socket
    _wait_occupied(server, [public, private, local, room])
    wait_for(lambda: all(pusher.channel(n).subscribed for n in observers))
    wait_for(lambda: signer.channel(local).subscribed)

    server.sdk.trigger([public, private, room], "e", "after")
    server.sdk.trigger(local, "e", "after")
    for c in [*observers.values(), local_obs]:
        assert c.wait_count(2) == ["before", "after"]
        assert c.error is None and not c.completed, c.name

    # Private and presence channels were re-authorized with the new socket id.
    for name in (private, room):
        socket_ids = [r.params["socket_id"] for r in auth.requests_for(name)]
        assert socket_ids[0] == old_socket
        assert socket_ids[-1] == pusher.socket_id

    # Presence members were rebuilt from the new subscription.
    snap = members.wait_item(lambda m: m.count == 1 and m.me is not None)
    assert snap.me.id == "ursula"
    assert server.users(room) == {"ursula"}

    seq = states.snapshot()
    assert seq[-1] == "connected"
    assert "connecting" in seq[seq.index("connected") + 1 :]
    assert not frames.done


def test_long_outage_goes_unavailable_then_recovers_twice(make_pusher, server, unique):
    name = unique("private-long")
    pusher = make_pusher(
        server=server, secret=server.secret, unavailable_timeout=0.5, **FAST
    )
    events = Collector("events")
    events.subscribe_to(pusher.channel(name).events("e"))
    pinned = unique("pinned")
    pusher.subscribe(pinned)
    pinned_events = Collector("pinned")
    _wait_occupied(server, [name, pinned])

    for round_ in range(2):
        server.stop()
        wait_state(pusher, "unavailable", timeout=10)
        server.start()
        wait_state(pusher, "connected", timeout=15)
        _wait_occupied(server, [name, pinned])
        wait_for(lambda: pusher.channel(name).subscribed)
        wait_for(lambda: pusher.channel(pinned).subscribed)
        server.sdk.trigger(name, "e", round_)
        assert events.wait_count(round_ + 1) == list(range(round_ + 1))

    pinned_events.subscribe_to(pusher.channel(pinned).events("p"))
    server.sdk.trigger(pinned, "p", "pinned survives")
    assert pinned_events.wait_count(1) == ["pinned survives"]


def test_channel_left_during_outage_is_not_resubscribed(make_pusher, server, unique):
    kept, left = unique("kept"), unique("left")
    pusher = make_pusher(server=server, **FAST)
    kept_events = Collector("kept")
    kept_events.subscribe_to(pusher.channel(kept).events("e"))
    left_sub = pusher.channel(left).events("e").subscribe()
    _wait_occupied(server, [kept, left])

    server.stop()
    wait_for(lambda: pusher.connection_state != "connected")
    left_sub.dispose()
    server.start()

    wait_state(pusher, "connected", timeout=15)
    _wait_occupied(server, [kept])
    server.sdk.trigger(kept, "e", "flush")
    kept_events.wait_count(1)  # the resubscriptions were all sent before this arrived
    assert left not in server.channels()
    assert pusher.channel(left) not in pusher.all_channels()


def test_client_started_while_the_server_is_down_connects_when_it_comes_up(
    make_pusher, server, unique
):
    public, private = unique("late-news"), unique("private-late")
    server.stop()
    pusher = make_pusher(server=server, secret=server.secret, **FAST)
    got = {n: Collector(n) for n in (public, private)}
    for n, c in got.items():
        c.subscribe_to(pusher.channel(n).events("e"))
    states = Collector("state")
    states.subscribe_to(pusher.state)
    states.wait_value("connecting")
    assert pusher.socket_id is None
    server.start()

    wait_state(pusher, "connected", timeout=15)
    _wait_occupied(server, [public, private])
    wait_for(lambda: all(pusher.channel(n).subscribed for n in got))
    server.sdk.trigger([public, private], "e", "first light")
    for c in got.values():
        assert c.wait_count(1) == ["first light"]
        assert c.error is None


def test_presence_members_are_rebuilt_after_a_restart(make_pusher, server, auth, unique):
    room = unique("presence-rebuilt")
    clients = {
        uid: make_pusher(
            server=server, auth_endpoint=auth.url, auth={"params": {"user_id": uid}}, **FAST
        )
        for uid in ("amy", "bo")
    }
    members = {uid: Collector(f"{uid} members") for uid in clients}
    for uid, client in clients.items():
        members[uid].subscribe_to(client.channel(room).members)
    for uid in clients:
        members[uid].wait_item(lambda m: set(m) == {"amy", "bo"}, what=f"{uid} sees both")

    server.stop(graceful=False)
    # Members are reset on disconnect: an empty snapshot is emitted.
    for uid in clients:
        members[uid].wait_item(lambda m: m.count == 0, what=f"{uid} members reset")
    server.start()

    for uid, client in clients.items():
        wait_state(client, "connected", timeout=15)
    wait_for(lambda: server.users(room) == {"amy", "bo"}, 15, 0.02, "both back on the server")
    for uid in clients:
        c = members[uid]
        c.wait(
            lambda col: set(col.items[-1]) == {"amy", "bo"} and col.items[-1].me.id == uid,
            what=f"{uid} sees both again",
        )
        assert c.error is None and not c.completed


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm-4200", "sigkill"])
def test_an_interruption_is_emitted_once_per_outage_and_later_events_arrive(
        make_pusher, server, unique, graceful):
    name = unique("ticks")
    pusher = make_pusher(server=server, **FAST)
    channel = pusher.channel(name)
    notices, events = Collector("interruptions"), Collector("events")
    notices.subscribe_to(channel.interruptions)
    events.subscribe_to(channel.events("tick"))
    channel.wait_subscribed(timeout=15)
    server.stop(graceful=graceful)
    wait_for(lambda: pusher.connection_state != "connected")
    server.start()
    notice = notices.wait_count(1, timeout=30)[0]
    assert notice.channel == name and notice.lost_at < notice.resubscribed_at
    channel.wait_subscribed(timeout=15)
    server.sdk.trigger(name, "tick", {"n": 1})
    events.wait_value({"n": 1})
    assert len(notices.snapshot()) == 1 and notices.violations == []
