"""channel.trigger: client events on private and presence channels only."""

from __future__ import annotations

import pytest

from rxpusher import PusherError


@pytest.fixture
def signed(make_pusher, server):
    p = make_pusher(secret="s", channel_data={"user_id": "1"})
    server.handshake()
    return p


@pytest.mark.parametrize("channel", ["private-chat", "presence-chat"])
def test_trigger_sends_the_client_event_frame(signed, server, channel: str) -> None:
    ch = signed.subscribe(channel)
    server.succeed(channel, {"presence": {"ids": ["1"], "hash": {"1": None}}})
    ch.trigger("client-typing", {"user": "ada"})
    assert server.sent("client-typing") == [
        {"event": "client-typing", "data": {"user": "ada"}, "channel": channel}
    ]


@pytest.mark.parametrize("event", ["typing", "pusher:ping", "Client-x", "", "pusher_internal:x"])
def test_trigger_without_client_prefix_raises_value_error(signed, server, event: str) -> None:
    ch = signed.subscribe("private-chat")
    server.succeed("private-chat")
    with pytest.raises(ValueError):
        ch.trigger(event, {})
    assert [f for f in server.current.sent if f["event"] not in ("pusher:subscribe",)] == []


@pytest.mark.parametrize("channel", ["public-chat", "cache-chat"])
def test_trigger_on_public_channel_raises_value_error(signed, server, channel: str) -> None:
    ch = signed.subscribe(channel)
    server.succeed(channel)
    with pytest.raises(ValueError):
        ch.trigger("client-typing", {})
    assert server.sent("client-typing") == []


def test_trigger_before_subscription_succeeded_raises_pusher_error(signed, server) -> None:
    ch = signed.subscribe("private-chat")
    with pytest.raises(PusherError):
        ch.trigger("client-typing", {})
    assert server.sent("client-typing") == []


def test_trigger_while_disconnected_raises_pusher_error(signed, server) -> None:
    ch = signed.subscribe("private-chat")
    server.succeed("private-chat")
    signed.disconnect()
    with pytest.raises(PusherError):
        ch.trigger("client-typing", {})


def test_client_events_from_others_are_delivered(signed, server) -> None:
    got = []
    ch = signed.subscribe("private-chat")
    ch.events("client-typing").subscribe(got.append)
    server.push("client-typing", {"user": "bob"}, channel="private-chat", user_id="2")
    assert got == [{"user": "bob"}]


def test_data_json_cannot_carry_is_a_value_error(make_pusher, server) -> None:
    import pytest

    p = make_pusher(secret="s")
    server.handshake()
    p.subscribe("private-c")
    server.succeed("private-c")
    with pytest.raises(ValueError):
        p.channel("private-c").trigger("client-x", float("nan"))
    assert server.sent("client-x") == []


def test_trigger_and_bind_on_a_handle_kept_after_close_raise_closed_error(signed, server) -> None:
    from rxpusher import ClosedError

    ch = signed.subscribe("private-chat")
    server.succeed("private-chat")
    signed.close()
    with pytest.raises(ClosedError):
        ch.trigger("client-typing", {})
    with pytest.raises(ClosedError):
        ch.bind("client-typing", lambda data: None)
    assert server.sent("client-typing") == []


def test_trigger_that_cannot_go_out_raises_send_error(signed, server) -> None:
    from rxpusher import SendError

    ch = signed.subscribe("private-chat")
    with pytest.raises(SendError, match="not subscribed"):
        ch.trigger("client-typing", {})
    server.succeed("private-chat")
    server.current.closed_with = 1000  # the socket fails on the next send
    with pytest.raises(SendError, match="cannot trigger") as info:
        ch.trigger("client-typing", {})
    assert isinstance(info.value.__cause__, ConnectionError)
