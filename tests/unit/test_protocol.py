"""Frame decoding, channel name validation, close-code policy, through the client."""

from __future__ import annotations

import json

import pytest

from rxpusher import Event, ProtocolError, PusherError
from rxpusher._protocol import CloseAction, close_action, decode_frame

from .support import record


# ---- Event -----------------------------------------------------------------------------

def test_event_is_an_immutable_record_of_name_channel_data_user_id() -> None:
    event = Event("e", "c", {"a": 1}, "u1")
    assert (event.name, event.channel, event.data, event.user_id) == ("e", "c", {"a": 1}, "u1")
    with pytest.raises(AttributeError):
        event.name = "other"  # type: ignore[misc]


def test_decode_frame_user_id_becomes_a_string() -> None:
    event = decode_frame(json.dumps({"event": "e", "channel": "c", "data": "{}", "user_id": 42}))
    assert event.user_id == "42"


# ---- data decoding, through the client ----------------------------------------------------

def test_json_string_data_is_decoded(pusher, server) -> None:
    got = record(pusher.events("e"))
    server.push("e", {"price": 10}, channel="c")  # data arrives as the string '{"price": 10}'
    assert got.items == [{"price": 10}]


def test_object_data_not_encoded_as_a_string_is_delivered_as_is(pusher, server) -> None:
    got = record(pusher.events("e"))
    server.push("e", {"price": 10}, channel="c", encode=False)
    assert got.items == [{"price": 10}]


def test_double_encoded_data_is_decoded_exactly_once(pusher, server) -> None:
    got = record(pusher.events("e"))
    inner = json.dumps({"price": 10})
    server.push("e", inner, channel="c")  # data field: a JSON string holding a JSON string
    assert got.items == [inner]


def test_non_json_string_data_is_kept_raw(pusher, server) -> None:
    got = record(pusher.events("e"))
    server.push("e", "hello, not json {", channel="c", encode=False)
    assert got.items == ["hello, not json {"]


def test_missing_data_is_none(pusher, server) -> None:
    got = record(pusher.events())
    server.current.receive(json.dumps({"event": "e", "channel": "c"}))
    assert got.items == [Event("e", "c", None, None)]


def test_frames_carry_the_raw_text_and_messages_the_decoded_event(pusher, server) -> None:
    frames = record(pusher.frames)
    messages = record(pusher.messages)
    raw = json.dumps({"event": "e", "channel": "c", "data": json.dumps([1, 2]), "user_id": "u"})
    server.current.receive(raw)
    assert frames.items == [raw]
    assert messages.items == [Event("e", "c", [1, 2], "u")]


def test_messages_include_protocol_events(make_pusher, server) -> None:
    p = make_pusher()
    messages = record(p.messages)
    server.handshake(socket_id="9.9")
    assert messages.items[0].name == "pusher:connection_established"
    assert messages.items[0].data["socket_id"] == "9.9"


# ---- bad frames --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw",
    ["not json at all", "[1, 2, 3]", '"a string"', '{"data": "no event name"}', '{"event": 5}'],
)
def test_bad_frame_reports_protocol_error_with_the_raw_frame(pusher, server, raw: str) -> None:
    errors = record(pusher.errors)
    server.current.receive(raw)
    assert len(errors.items) == 1
    error = errors.items[0]
    assert isinstance(error, ProtocolError)
    assert isinstance(error, PusherError)
    assert error.frame == raw


def test_connection_lives_on_after_a_bad_frame(pusher, server) -> None:
    got = record(pusher.events("e"))
    states = record(pusher.state)
    server.current.receive("{broken")
    server.push("e", 1, channel="c")
    assert got.items == [1]
    assert states.items == ["connected"]
    assert pusher.connection_state == "connected"
    assert server.attempts == 1


def test_bad_frame_still_appears_on_frames_but_not_messages(pusher, server) -> None:
    frames = record(pusher.frames)
    messages = record(pusher.messages)
    server.current.receive("{broken")
    assert frames.items == ["{broken"]
    assert messages.items == []


def test_bad_frame_does_not_error_any_stream(pusher, server) -> None:
    streams = [record(pusher.frames), record(pusher.messages), record(pusher.events()),
               record(pusher.channel("c").events())]
    server.current.receive("{broken")
    assert all(not s.terminated for s in streams)


# ---- channel names ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name",
    ["a", "my-channel", "private-x", "presence-room_1", "cache-x", "private-encrypted-x",
     "A-Za-z0-9_-=@,.;", "x" * 164],
)
def test_valid_channel_names_are_accepted(make_pusher, name: str) -> None:
    p = make_pusher(auto_connect=False)
    assert p.channel(name).name == name


@pytest.mark.parametrize(
    "name",
    ["", "x" * 165, "has space", "sl/ash", "star*", "ü-umlaut", "private-", "presence-"],
)
def test_invalid_channel_names_raise_value_error(make_pusher, name: str) -> None:
    p = make_pusher(auto_connect=False)
    with pytest.raises(ValueError):
        p.channel(name)
    with pytest.raises(ValueError):
        p.subscribe(name)


def test_channel_name_limit_is_164_characters_and_the_error_says_so(make_pusher) -> None:
    p = make_pusher(auto_connect=False)
    p.channel("c" * 164)
    with pytest.raises(ValueError, match="164"):
        p.channel("c" * 165)


@pytest.mark.parametrize("name", [None, 5, b"bytes"])
def test_non_string_channel_names_raise_value_error(make_pusher, name: object) -> None:
    p = make_pusher(auto_connect=False)
    with pytest.raises(ValueError):
        p.channel(name)  # type: ignore[arg-type]


def test_invalid_name_sends_nothing(pusher, server) -> None:
    with pytest.raises(ValueError):
        pusher.subscribe("bad name")
    assert server.sent("pusher:subscribe") == []


# ---- close codes ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("code", "action"),
    [
        (None, CloseAction.BACKOFF),
        (1000, CloseAction.BACKOFF),
        (1006, CloseAction.BACKOFF),
        (3999, CloseAction.BACKOFF),
        (4000, CloseAction.RECONNECT_WITH_TLS),
        (4001, CloseAction.REFUSED),
        (4099, CloseAction.REFUSED),
        (4100, CloseAction.BACKOFF),
        (4199, CloseAction.BACKOFF),
        (4200, CloseAction.RECONNECT_NOW),
        (4299, CloseAction.RECONNECT_NOW),
        (4300, CloseAction.REFUSED),
        (4999, CloseAction.REFUSED),
    ],
)
def test_close_code_ranges_map_to_the_protocol_7_policy(code, action) -> None:
    assert close_action(code) is action
