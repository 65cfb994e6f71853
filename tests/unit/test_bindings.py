"""The seed's callback API: bind / unbind / bind_all on the client and on channels."""

from __future__ import annotations

import pytest

from rxpusher import ObserverError

from .support import record


def subscribes(server, channel: str) -> list[dict]:
    return [f for f in server.sent("pusher:subscribe") if f["data"]["channel"] == channel]


def unsubscribes(server, channel: str) -> list[dict]:
    return [f for f in server.sent("pusher:unsubscribe") if f["data"]["channel"] == channel]


# ---- global bindings --------------------------------------------------------------------

def test_global_bind_calls_back_with_data_of_that_event_on_any_channel(pusher, server) -> None:
    got = []
    pusher.bind("e", got.append)
    server.push("e", 1, channel="a")
    server.push("e", 2, channel="b")
    server.push("other", 3, channel="a")
    assert got == [1, 2]


def test_global_bind_does_not_subscribe_any_channel(pusher, server) -> None:
    pusher.bind("e", lambda d: None)
    pusher.bind_all(lambda n, d: None)
    assert server.sent("pusher:subscribe") == []


def test_global_bind_all_calls_back_with_event_name_and_data(pusher, server) -> None:
    got = []
    pusher.bind_all(lambda name, data: got.append((name, data)))
    server.push("e", {"x": 1}, channel="a")
    server.push("pusher:error", {"message": "m"})
    assert got == [("e", {"x": 1}), ("pusher:error", {"message": "m"})]


def test_global_bind_all_never_sees_internal_events(pusher, server) -> None:
    got = []
    pusher.bind_all(lambda name, data: got.append(name))
    record(pusher.channel("c").events())
    server.succeed("c")
    server.push("pusher_internal:member_added", {"user_id": "1"}, channel="c")
    assert all(not n.startswith("pusher_internal:") for n in got)


def test_global_unbind_event_removes_only_that_events_bindings(pusher, server) -> None:
    e, f = [], []
    pusher.bind("e", e.append)
    pusher.bind("f", f.append)
    pusher.unbind("e")
    server.push("e", 1, channel="c")
    server.push("f", 2, channel="c")
    assert e == [] and f == [2]


def test_global_unbind_callback_removes_only_that_callback(pusher, server) -> None:
    a, b = [], []
    pusher.bind("e", a.append)
    pusher.bind("e", b.append)
    pusher.unbind(callback=a.append)
    server.push("e", 1, channel="c")
    assert a == [] and b == [1]


def test_global_unbind_without_arguments_removes_every_binding(pusher, server) -> None:
    got = []
    pusher.bind("e", got.append)
    pusher.bind_all(lambda n, d: got.append(n))
    pusher.unbind()
    server.push("e", 1, channel="c")
    assert got == []


def test_bind_rejects_a_non_callable(pusher) -> None:
    with pytest.raises(TypeError):
        pusher.bind("e", "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pusher.channel("c").bind("e", None)  # type: ignore[arg-type]


def test_raising_callback_is_reported_and_stays_bound(pusher, server) -> None:
    errors = record(pusher.errors)
    seen = []
    boom = RuntimeError("cb")

    def callback(data):
        seen.append(data)
        raise boom

    other = []
    pusher.bind("e", callback)
    pusher.bind("e", other.append)
    server.push("e", 1, channel="c")
    server.push("e", 2, channel="c")
    assert seen == [1, 2] and other == [1, 2]
    assert [type(e) for e in errors.items] == [ObserverError, ObserverError]
    assert errors.items[0].__cause__ is boom


def test_global_bindings_survive_a_refused_connection(pusher, server) -> None:
    got = []
    pusher.bind("e", got.append)
    server.current.drop(4001, "refused")
    pusher.connect()
    server.handshake(socket_id="2.2")
    server.push("e", 1, channel="c")
    assert got == [1]


# ---- channel bindings ---------------------------------------------------------------------------

def test_channel_bind_subscribes_and_calls_back_with_data(pusher, server) -> None:
    got = []
    ch = pusher.channel("c")
    ch.bind("e", got.append)
    assert len(subscribes(server, "c")) == 1
    server.push("e", {"x": 1}, channel="c")
    server.push("e", {"x": 2}, channel="other")
    assert got == [{"x": 1}]


def test_channel_bind_all_calls_back_with_event_name_and_data(pusher, server) -> None:
    got = []
    ch = pusher.channel("c")
    ch.bind_all(lambda name, data: got.append((name, data)))
    server.succeed("c")
    server.push("e", 1, channel="c")
    assert got == [("pusher:subscription_succeeded", {}), ("e", 1)]


def test_channel_unbind_of_last_binding_unsubscribes(pusher, server) -> None:
    ch = pusher.channel("c")
    ch.bind("e", lambda d: None)
    ch.bind("f", lambda d: None)
    ch.unbind("e")
    assert unsubscribes(server, "c") == []
    ch.unbind()
    assert len(unsubscribes(server, "c")) == 1


def test_channel_unbind_callback_removes_it_from_every_event(pusher, server) -> None:
    got = []
    ch = pusher.channel("c")
    ch.bind("e", got.append)
    ch.bind("f", got.append)
    ch.unbind(callback=got.append)
    server.push("e", 1, channel="c")
    server.push("f", 2, channel="c")
    assert got == []


def test_channel_unbind_does_not_touch_other_channels_or_global_bindings(pusher, server) -> None:
    a, b, g = [], [], []
    pusher.channel("a").bind("e", a.append)
    pusher.channel("b").bind("e", b.append)
    pusher.bind("e", g.append)
    pusher.channel("a").unbind()
    server.push("e", 1, channel="a")
    server.push("e", 2, channel="b")
    assert a == [] and b == [2] and g == [1, 2]


def test_binding_survives_a_subscription_error_and_sees_it(make_pusher, server) -> None:
    p = make_pusher(secret="s")
    server.handshake()
    ch = p.channel("private-c")
    errors_seen, events = [], []
    all_seen = []
    ch.bind("pusher:subscription_error", errors_seen.append)
    ch.bind("e", events.append)
    ch.bind_all(lambda n, d: all_seen.append(n))
    server.push("pusher:subscription_error", {"type": "AuthError", "error": "bad", "status": 401},
                channel="private-c")
    assert errors_seen == [{"type": "AuthError", "error": "bad", "status": 401}]
    assert "pusher:subscription_error" in all_seen
    server.push("e", "still bound", channel="private-c")
    assert events == ["still bound"]


def test_binding_sees_a_local_authorization_failure_as_subscription_error(make_pusher, server) -> None:
    p = make_pusher()  # no way to authorize
    server.handshake()
    seen = []
    p.channel("private-c").bind("pusher:subscription_error", seen.append)
    assert len(seen) == 1
    assert seen[0]["status"] is None


def test_channel_with_bindings_is_retried_at_the_next_reconnect_after_an_error(make_pusher, server, sched) -> None:
    p = make_pusher(secret="s")
    server.handshake()
    p.channel("private-c").bind("e", lambda d: None)
    server.push("pusher:subscription_error", {"error": "bad"}, channel="private-c")
    assert len(subscribes(server, "private-c")) == 1
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    assert len(subscribes(server, "private-c")) == 2


def test_channel_with_bindings_is_retried_by_pusher_subscribe_after_an_error(make_pusher, server) -> None:
    p = make_pusher(secret="s")
    server.handshake()
    p.channel("private-c").bind("e", lambda d: None)
    server.push("pusher:subscription_error", {"error": "bad"}, channel="private-c")
    p.subscribe("private-c")
    assert len(subscribes(server, "private-c")) == 2


def test_subscription_error_does_not_release_a_channel_with_bindings(make_pusher, server) -> None:
    p = make_pusher(secret="s")
    server.handshake()
    ch = p.channel("private-c")
    ch.bind("e", lambda d: None)
    server.push("pusher:subscription_error", {"error": "bad"}, channel="private-c")
    assert ch in p.all_channels()
    assert unsubscribes(server, "private-c") == []


def test_channel_bindings_survive_a_refused_connection(pusher, server) -> None:
    got = []
    pusher.channel("c").bind("e", got.append)
    server.current.drop(4001, "refused")
    pusher.connect()
    server.handshake(socket_id="2.2")
    assert len(subscribes(server, "c")) == 2
    server.push("e", 1, channel="c")
    assert got == [1]


def test_unsubscribe_removes_the_channels_bindings(pusher, server) -> None:
    got = []
    pusher.subscribe("c").bind("e", got.append)
    pusher.unsubscribe("c")
    server.push("e", 1, channel="c")
    assert got == []


def test_close_removes_every_binding(pusher, server) -> None:
    got = []
    pusher.bind("e", got.append)
    pusher.channel("c").bind("e", got.append)
    transport = server.current
    pusher.close()
    transport.listener.on_frame('{"event":"e","channel":"c","data":"1"}')
    assert got == []
