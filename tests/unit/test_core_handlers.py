"""The protocol handler table of the core: one test per handler, inputs in, effects out."""

from __future__ import annotations

import json

from rxpusher import AuthenticationError, ProtocolError, ServerError, SubscriptionError
from rxpusher._core import DROP, STEP, Timer
from rxpusher._core.effects import CloseTransport, Emit, End, Report
from rxpusher._core.handlers import HANDLERS
from rxpusher._presence import Member
from rxpusher._router import MEMBER_ADDED, MEMBERS, USER
from rxpusher._states import ChannelState, ConnectionState, Interruption

from .coretools import (
    SOCKET_ID,
    WALL,
    connected,
    delivered,
    frame,
    make_core,
    of,
    receive,
    sent,
    sink,
)

PRESENCE = "presence-room"
ME = json.dumps({"user_id": "me", "user_info": {"name": "Me"}})


def presence_core():
    core = make_core(secret="s3cret", channel_data={"user_id": "me", "user_info": {"name": "Me"}})
    connected(core)
    members = sink(PRESENCE, MEMBERS, project=False)
    core.attach(members)
    core.take()
    return core, members


def test_connection_established_connects_and_subscribes_the_active_channels() -> None:
    core = make_core()
    core.pin("prices")
    core.connect()
    core.take()
    effects = receive(core, "pusher:connection_established", {"socket_id": SOCKET_ID})
    assert core.connection.state is ConnectionState.CONNECTED
    assert sent(effects) == [{"event": "pusher:subscribe", "data": {"channel": "prices"}}]
    assert ("pusher:connection_established", None, {"socket_id": SOCKET_ID}) in delivered(effects)


def test_connection_established_without_a_socket_id_abandons_the_attempt() -> None:
    core = make_core()
    core.connect()
    core.take()
    effects = receive(core, "pusher:connection_established", {"socket_id": 5})
    assert CloseTransport(1000) in effects
    assert [e.error.cause for e in of(Report, effects)] == ["handshake"]
    assert core.connection.state is ConnectionState.CONNECTING


def test_pusher_error_is_reported_and_delivered() -> None:
    core = make_core()
    connected(core)
    effects = receive(core, "pusher:error", {"code": 4201, "message": "pong reply not received"})
    (report,) = of(Report, effects)
    assert isinstance(report.error, ServerError) and report.error.code == 4201
    assert delivered(effects)[0][0] == "pusher:error"


def test_ping_is_answered_with_a_pong() -> None:
    core = make_core()
    connected(core)
    effects = receive(core, "pusher:ping", {})
    assert sent(effects) == [{"event": "pusher:pong", "data": {}}]


def test_subscription_succeeded_subscribes_the_channel() -> None:
    core = make_core()
    connected(core)
    state = sink(None)
    core.attach(sink("prices", "tick"))
    core.join_channel_state("prices", state)
    core.take()
    effects = receive(core, "pusher_internal:subscription_succeeded", {}, channel="prices")
    assert Emit((state,), ChannelState.SUBSCRIBED) in effects
    assert delivered(effects) == [("pusher:subscription_succeeded", "prices", {})]


def test_subscription_succeeded_after_the_channel_was_left_is_ignored() -> None:
    core = make_core()
    connected(core)
    observer = sink("prices", "tick")
    core.attach(observer)
    core.detach(observer)
    core.take()
    assert receive(core, "pusher_internal:subscription_succeeded", {}, channel="prices") == []


def test_subscription_succeeded_after_a_loss_is_an_interruption() -> None:
    core = make_core()
    connected(core)
    core.attach(sink("prices", "tick"))
    interruptions = sink(None)
    core.join_interruptions("prices", interruptions)
    receive(core, "pusher_internal:subscription_succeeded", {}, channel="prices")
    core.closed_by_peer(core.connection.attempt, 4200, "reconnect now", None)
    core.timer_fired(Timer.RETRY)
    receive(core, "pusher:connection_established", {"socket_id": "2.2"})
    effects = receive(core, "pusher_internal:subscription_succeeded", {}, channel="prices")
    assert Emit((interruptions,), Interruption("prices", WALL, WALL)) in effects


def test_presence_subscription_succeeded_publishes_the_roster() -> None:
    core, members = presence_core()
    effects = receive(core, "pusher_internal:subscription_succeeded",
                      {"presence": {"hash": {"me": {"name": "Me"}}, "ids": ["me"]}},
                      channel=PRESENCE)
    (snapshot,) = [e.value for e in of(Emit, effects) if e.sinks == (members,)]
    assert dict(snapshot) == {"me": {"name": "Me"}} and snapshot.me == Member("me", {"name": "Me"})


def test_malformed_presence_data_fails_the_subscription() -> None:
    core, members = presence_core()
    effects = receive(core, "pusher_internal:subscription_succeeded", {"presence": []},
                      channel=PRESENCE)
    assert sent(effects) == [{"event": "pusher:unsubscribe", "data": {"channel": PRESENCE}}]
    errors = [e.error for e in of(Report, effects)]
    assert isinstance(errors[0], ProtocolError) and isinstance(errors[1], SubscriptionError)
    assert End([members], errors[1]) in effects


def test_member_added_updates_the_roster() -> None:
    core, members = presence_core()
    added = sink(PRESENCE, MEMBER_ADDED, project=False)
    core.attach(added)
    receive(core, "pusher_internal:subscription_succeeded",
            {"presence": {"hash": {}, "ids": []}}, channel=PRESENCE)
    effects = receive(core, "pusher_internal:member_added",
                      {"user_id": 7, "user_info": {"name": "Ann"}}, channel=PRESENCE)
    assert Emit((added,), Member("7", {"name": "Ann"})) in effects
    assert delivered(effects) == [("pusher:member_added", PRESENCE,
                                   {"user_id": 7, "user_info": {"name": "Ann"}})]


def test_member_removed_updates_the_roster() -> None:
    core, members = presence_core()
    receive(core, "pusher_internal:subscription_succeeded",
            {"presence": {"hash": {"7": None}, "ids": ["7"]}}, channel=PRESENCE)
    effects = receive(core, "pusher_internal:member_removed", {"user_id": "7"}, channel=PRESENCE)
    (snapshot,) = [e.value for e in of(Emit, effects) if e.sinks == (members,)]
    assert dict(snapshot) == {}
    assert delivered(effects)[0][0] == "pusher:member_removed"


def test_subscription_count_is_kept_and_delivered() -> None:
    core = make_core()
    connected(core)
    core.attach(sink("prices", "tick"))
    effects = receive(core, "pusher_internal:subscription_count", {"subscription_count": 3},
                      channel="prices")
    assert core.subscriptions.channels["prices"].count == 3
    assert delivered(effects) == [("pusher:subscription_count", "prices",
                                   {"subscription_count": 3})]
    assert receive(core, "pusher_internal:subscription_count", {"subscription_count": 1},
                   channel="unknown") == []


def test_subscription_error_fails_the_channel_streams() -> None:
    core = make_core()
    connected(core)
    stream = sink("prices", "tick")
    core.attach(stream)
    core.take()
    effects = receive(core, "pusher:subscription_error", {"status": 401, "error": "nope"},
                      channel="prices")
    (report,) = of(Report, effects)
    assert isinstance(report.error, SubscriptionError) and report.error.status == 401
    assert End([stream], report.error) in effects
    assert core.subscriptions.channels["prices"].state is ChannelState.FAILED


def test_signin_success_signs_the_user_in() -> None:
    core = make_core()
    connected(core)
    effects = receive(core, "pusher:signin_success", {"user_data": json.dumps({"id": 42})})
    assert core.user.user_id == "42"
    assert sent(effects) == [{"event": "pusher:subscribe",
                              "data": {"channel": "#server-to-user-42"}}]
    event, _ = frame("hello", {}, channel="#server-to-user-42")
    assert core.route(event) is USER
    other, _ = frame("hello", {}, channel="#server-to-user-41")
    assert core.route(other) is DROP


def test_signin_success_without_a_user_id_is_reported() -> None:
    core = make_core()
    connected(core)
    effects = receive(core, "pusher:signin_success", {"user_data": json.dumps({"name": "x"})})
    (report,) = of(Report, effects)
    assert isinstance(report.error, AuthenticationError) and core.user.user_id is None


def test_watchlist_events_go_to_the_watchlist() -> None:
    core = make_core()
    connected(core)
    watchlist = sink(None)
    core.join_hub("watchlist", watchlist)
    effects = receive(core, "pusher_internal:watchlist_events",
                      {"events": [{"name": "online", "user_ids": [1, "2"]}]})
    assert effects == [Emit((watchlist,), {"name": "online", "user_ids": ["1", "2"]})]
    (report,) = of(Report, receive(core, "pusher_internal:watchlist_events", {"events": 3}))
    assert isinstance(report.error, ProtocolError)


def test_every_handler_is_in_the_table_and_routed_under_the_lock() -> None:
    core = make_core()
    for name in HANDLERS:
        event, _ = frame(name, {})
        assert core.route(event) is STEP
    plain, _ = frame("tick", {}, channel="prices")
    internal, _ = frame("pusher_internal:other", {}, channel="prices")
    sealed, _ = frame("tick", {}, channel="private-encrypted-x")
    assert core.route(plain) == "prices"
    assert core.route(internal) is DROP
    assert core.route(sealed) is STEP


def test_a_handler_that_raises_reports_a_protocol_error_about_its_frame() -> None:
    core = make_core()
    connected(core)
    event, text = frame("pusher_internal:member_added", {"user_id": "7"}, channel=PRESENCE)
    core.subscriptions.channels[PRESENCE] = object()  # type: ignore[assignment]  # a bug
    core.receive(core.connection.attempt, event, text)
    (report,) = of(Report, core.take())
    assert isinstance(report.error, ProtocolError) and report.error.frame == text


def test_a_public_subscription_count_goes_to_the_global_streams() -> None:
    core = make_core()
    connected(core)
    effects = receive(core, "pusher:subscription_count", {"subscription_count": 1})
    assert delivered(effects) == [("pusher:subscription_count", None, {"subscription_count": 1})]


def test_the_plain_event_rule_of_the_hot_path_agrees_with_route() -> None:
    from rxpusher._core import is_plain

    core = make_core()
    connected(core)
    receive(core, "pusher:signin_success", {"user_data": json.dumps({"id": 1})})
    cases = [("tick", "prices"), ("tick", None), ("pusher:subscription_succeeded", "prices"),
             ("pusher_internal:x", "prices"), ("tick", "#server-to-user-1"),
             ("tick", "#server-to-user-2"), ("tick", "private-encrypted-x"),
             ("pusher:cache_miss", "private-encrypted-x"), ("client-x", "presence-room"),
             ("chunked-report", "prices"), ("client-chunked-x", "presence-room"),
             ("my-chunked-thing", "prices"),
             *[(name, "prices") for name in HANDLERS]]
    for name, channel in cases:
        event, _ = frame(name, {}, channel=channel)
        if is_plain(name, channel):
            assert core.route(event) == channel, (name, channel)
    assert is_plain("tick", "prices") and not is_plain("tick", "private-encrypted-x")
    assert not is_plain("chunked-report", "prices")  # a part: put together under the lock
