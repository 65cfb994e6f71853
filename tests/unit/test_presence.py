"""Presence channels: Members snapshots, member_added / member_removed, me, resets."""

from __future__ import annotations

import pytest

from rxpusher import Member, Members
from rxpusher._presence import Roster

from .support import record, wait_for

ME = {"user_id": 7, "user_info": {"name": "Ada"}}
ROSTER = {"presence": {"ids": [7, "8"], "hash": {"7": {"name": "Ada"}, "8": {"name": "Bob"}},
                       "count": 2}}


@pytest.fixture
def presence(make_pusher, server):
    p = make_pusher(secret="s3cret", channel_data=ME)
    server.handshake()
    return p


def test_members_emits_a_snapshot_once_subscribed(presence, server) -> None:
    members = record(presence.channel("presence-room").members)
    assert members.items == []
    server.succeed("presence-room", ROSTER)
    (snapshot,) = members.items
    assert isinstance(snapshot, Members)
    assert dict(snapshot) == {"7": {"name": "Ada"}, "8": {"name": "Bob"}}
    assert snapshot.count == 2 and len(snapshot) == 2


def test_member_ids_are_strings(presence, server) -> None:
    members = record(presence.channel("presence-room").members)
    server.succeed("presence-room", {"presence": {"ids": [1, 2], "hash": {"1": None, "2": {}}}})
    assert set(members.items[0]) == {"1", "2"}
    added = record(presence.channel("presence-room").member_added)
    server.push("pusher_internal:member_added", {"user_id": 3, "user_info": {}}, channel="presence-room")
    assert added.items == [Member("3", {})]


def test_me_is_this_clients_member(presence, server) -> None:
    members = record(presence.channel("presence-room").members)
    server.succeed("presence-room", ROSTER)
    assert members.items[0].me == Member("7", {"name": "Ada"})


def test_me_from_an_authorizer_channel_data_with_integer_user_id(make_pusher, server) -> None:
    p = make_pusher(authorizer=lambda c, s: {"auth": "k:s", "channel_data": '{"user_id":7}'})
    server.handshake()
    members = record(p.channel("presence-room").members)
    wait_for(lambda: server.sent("pusher:subscribe"))
    server.succeed("presence-room", ROSTER)
    assert members.items[0].me == Member("7", {"name": "Ada"})


def test_member_added_emits_member_and_new_snapshot(presence, server) -> None:
    ch = presence.channel("presence-room")
    members = record(ch.members)
    added = record(ch.member_added)
    server.succeed("presence-room", ROSTER)
    server.push("pusher_internal:member_added", {"user_id": "9", "user_info": {"name": "Cy"}},
                channel="presence-room")
    assert added.items == [Member("9", {"name": "Cy"})]
    assert members.items[-1].count == 3
    assert members.items[-1]["9"] == {"name": "Cy"}
    assert members.items[0].count == 2  # snapshots are immutable


def test_member_removed_emits_the_removed_member_and_new_snapshot(presence, server) -> None:
    ch = presence.channel("presence-room")
    members = record(ch.members)
    removed = record(ch.member_removed)
    server.succeed("presence-room", ROSTER)
    server.push("pusher_internal:member_removed", {"user_id": 8}, channel="presence-room")
    assert removed.items == [Member("8", {"name": "Bob"})]
    assert dict(members.items[-1]) == {"7": {"name": "Ada"}}


def test_removing_an_unknown_member_emits_nothing(presence, server) -> None:
    ch = presence.channel("presence-room")
    members = record(ch.members)
    removed = record(ch.member_removed)
    server.succeed("presence-room", ROSTER)
    server.push("pusher_internal:member_removed", {"user_id": "nobody"}, channel="presence-room")
    assert removed.items == []
    assert len(members.items) == 1


def test_member_events_are_delivered_as_pusher_events_on_the_channel(presence, server) -> None:
    ch = presence.channel("presence-room")
    added = record(ch.events("pusher:member_added"))
    removed = record(ch.events("pusher:member_removed"))
    server.succeed("presence-room", ROSTER)
    server.push("pusher_internal:member_added", {"user_id": "9", "user_info": {}}, channel="presence-room")
    server.push("pusher_internal:member_removed", {"user_id": "9"}, channel="presence-room")
    assert added.items == [{"user_id": "9", "user_info": {}}]
    assert removed.items == [{"user_id": "9"}]


def test_late_members_observer_gets_the_current_snapshot(presence, server) -> None:
    ch = presence.channel("presence-room")
    record(ch.members)
    server.succeed("presence-room", ROSTER)
    late = record(ch.members)
    assert len(late.items) == 1 and late.items[0].count == 2


def test_members_reset_on_connection_loss_and_rebuilt_on_resubscribe(presence, server, sched) -> None:
    ch = presence.channel("presence-room")
    members = record(ch.members)
    server.succeed("presence-room", ROSTER)
    server.current.drop(1006)
    assert members.items[-1].count == 0
    assert members.items[-1].me is None
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    assert len(server.sent("pusher:subscribe")) == 2
    server.succeed("presence-room", {"presence": {"ids": ["7"], "hash": {"7": {"name": "Ada"}}}})
    assert dict(members.items[-1]) == {"7": {"name": "Ada"}}
    assert members.items[-1].me == Member("7", {"name": "Ada"})
    assert not members.terminated


def test_members_reset_on_disconnect(presence, server) -> None:
    ch = presence.channel("presence-room")
    members = record(ch.members)
    server.succeed("presence-room", ROSTER)
    presence.disconnect()
    assert members.items[-1].count == 0


def test_members_count_as_observers_for_refcounting(presence, server) -> None:
    ch = presence.channel("presence-room")
    members = record(ch.members)
    added = record(ch.member_added)
    removed = record(ch.member_removed)
    assert len(server.sent("pusher:subscribe")) == 1
    for r in (members, added, removed):
        r.dispose()
    assert len(server.sent("pusher:unsubscribe")) == 1


def test_members_is_an_immutable_mapping(presence, server) -> None:
    members = record(presence.channel("presence-room").members)
    server.succeed("presence-room", ROSTER)
    snapshot = members.items[0]
    with pytest.raises(TypeError):
        snapshot["x"] = 1  # type: ignore[index]
    assert "7" in snapshot and "x" not in snapshot


@pytest.mark.parametrize("attribute", ["members", "member_added", "member_removed"])
def test_member_streams_on_non_presence_channels_raise_type_error(presence, attribute: str) -> None:
    with pytest.raises(TypeError):
        getattr(presence.channel("private-c"), attribute)


def test_members_record() -> None:
    m = Members({"1": {"a": 1}}, me_id="1")
    assert m.count == 1 and m.me == Member("1", {"a": 1})
    assert Members({"1": None}, me_id="2").me is None
    assert Members().count == 0


# ---- Roster: member events before subscription_succeeded (soketi clusters send them) -------

def _succeeded(*user_ids: str) -> dict[str, object]:
    return {"presence": {"ids": list(user_ids), "hash": {u: {"n": u} for u in user_ids}}}


def _roster_with_early(*early: tuple[str, str]) -> Roster:
    """A roster that saw the member events ``early`` (("add"|"remove", user id)) before
    success; not yet reset."""
    roster = Roster()
    roster.set_me('{"user_id": "me"}')
    for kind, user_id in early:
        event = {"user_id": user_id, "user_info": {"n": f"early-{user_id}"}}
        result = roster.add(event) if kind == "add" else roster.remove(event)
        assert result is None  # nothing to announce before the first snapshot
    assert not roster.ready
    return roster


def test_roster_add_before_success_is_merged_into_the_snapshot() -> None:
    roster = _roster_with_early(("add", "late"))
    snapshot = roster.reset(_succeeded("me", "a"))
    assert dict(snapshot) == {"me": {"n": "me"}, "a": {"n": "a"}, "late": {"n": "early-late"}}
    assert snapshot.me == Member("me", {"n": "me"}) and roster.ready


def test_roster_add_before_success_keeps_the_snapshots_info_when_listed() -> None:
    roster = _roster_with_early(("add", "a"))
    assert dict(roster.reset(_succeeded("me", "a")))["a"] == {"n": "a"}


def test_roster_remove_before_success_removes_from_the_snapshot() -> None:
    roster = _roster_with_early(("remove", "gone"))
    assert set(roster.reset(_succeeded("me", "gone"))) == {"me"}


def test_roster_last_event_before_success_decides() -> None:
    roster = _roster_with_early(("remove", "back"), ("add", "back"), ("add", "left"), ("remove", "left"))
    assert set(roster.reset(_succeeded("me", "back", "left"))) == {"me", "back"}
    roster = _roster_with_early(("remove", "back"), ("add", "back"))
    assert set(roster.reset(_succeeded("me"))) == {"me", "back"}


def test_roster_events_after_success_apply_at_once_and_are_not_kept() -> None:
    roster = _roster_with_early(("add", "x"))
    roster.reset(_succeeded("me"))
    assert roster.remove({"user_id": "x"}) == Member("x", {"n": "early-x"})
    assert roster.add({"user_id": "y", "user_info": None}) == Member("y", None)
    assert set(roster.snapshot) == {"me", "y"}
    roster.clear()
    assert set(roster.reset(_succeeded("me"))) == {"me"}  # nothing replayed from before


@pytest.mark.parametrize("forget", ["clear", "set_me"])
def test_roster_forgets_early_events_of_an_earlier_attempt(forget: str) -> None:
    roster = _roster_with_early(("add", "stale"), ("remove", "me"))
    if forget == "clear":
        roster.clear()
    else:
        roster.set_me('{"user_id": "me"}')
    assert set(roster.reset(_succeeded("me"))) == {"me"}


def test_roster_ignores_malformed_early_events() -> None:
    roster = _roster_with_early()
    assert roster.add({"user_info": {}}) is None and roster.remove("x") is None
    assert set(roster.reset(_succeeded("me"))) == {"me"}

