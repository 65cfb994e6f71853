"""JSON decoding gives the same values and errors with orjson and with the standard library,
and deeply nested frames are bad frames, not a dead reader. Every test runs with both
backends (``protocol._fast_loads`` is the switch)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rxpusher import Event, ProtocolError
from rxpusher import _protocol as protocol
from rxpusher._protocol import decode_data, decode_frame, loads

from .support import record


@pytest.fixture(params=["orjson", "stdlib"], autouse=True)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    fast = orjson.loads if request.param == "orjson" else None
    monkeypatch.setattr(protocol, "_fast_loads", fast)
    yield request.param


def stdlib(function: Any, *args: Any) -> Any:
    """``function(*args)`` with the standard library backend, whatever the test's backend."""
    fast, protocol._fast_loads = protocol._fast_loads, None
    try:
        return function(*args)
    finally:
        protocol._fast_loads = fast


def outcome(function: Any, *args: Any) -> tuple[str, str]:
    """A comparable record of a call: repr of its value, or its error type and message."""
    try:
        return "value", repr(function(*args))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


def test_orjson_is_used_when_installed(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def spy(text: str) -> Any:
        calls.append(text)
        return orjson.loads(text)

    if backend == "orjson":
        monkeypatch.setattr(protocol, "_fast_loads", spy)
    assert decode_frame('{"event":"e","data":"{\\"a\\":1}"}') == Event("e", None, {"a": 1})
    expected = ['{"event":"e","data":"{\\"a\\":1}"}', '{"a":1}']
    assert calls == (expected if backend == "orjson" else [])


# ---- the same values ------------------------------------------------------------------------

SPECIAL = [
    "NaN", "[Infinity, -Infinity]", "1e400", "-1e400",
    "18446744073709551615", "18446744073709551616", "-9223372036854775808",
    "-9223372036854775809", "123456789012345678901234567890", "9999999999999999999",
    '"\\ud800"', '"\\udc00x"', '{"a": 1, "a": 2}', " {} ", "\t[1]\n", "-0", "-0.0",
    "1.7976931348623157e308", "5e-324", "0.1", '"\\u0031\\u0032"', '"é€😀"',
    '{"big": [1, {"x": -123456789012345678901}]}',
]
BAD = ["", "{", "[1,]", "01", "1.", "nan", "'x'", '{"a" 1}', '"\\x"', '"\x01"', "1 2",
       "\ufeff{}", "[" * 10, '{"a":1}}', "tru", "\u00a0{}"]


@pytest.mark.parametrize("text", SPECIAL + BAD)
def test_loads_matches_the_standard_library(text: str) -> None:
    assert outcome(loads, text) == outcome(json.loads, text)


@pytest.mark.parametrize("inner", [
    "123456789012345678901", "-9223372036854775809", "[1e400]", "NaN", '"\\ud800"',
    "\\u00312345678901234567890", "[\\u002d9223372036854775809]", "18446744073709551615",
])
def test_payload_inside_a_frame_matches_the_standard_library(inner: str) -> None:
    frame = '{"event":"e","channel":"c","data":"' + inner.replace('"', '\\"') + '"}'
    assert outcome(decode_frame, frame) == stdlib(outcome, decode_frame, frame)
    assert outcome(decode_data, json.loads(frame)["data"]) == stdlib(
        outcome, decode_data, json.loads(frame)["data"])


def test_big_integers_stay_exact() -> None:
    frame = json.dumps({"event": "e", "data": json.dumps({"id": 2**70 + 1, "neg": -(2**63) - 1}),
                        "user_id": 2**64 + 1})
    event = decode_frame(frame)
    assert event == Event("e", None, {"id": 2**70 + 1, "neg": -(2**63) - 1}, str(2**64 + 1))
    assert type(event.data["id"]) is int


def test_escaped_digits_spelling_a_big_integer_stay_exact() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in str(-(2**70) - 1))
    frame = '{"event":"e","data":"' + escaped + '"}'
    data = decode_frame(frame).data
    assert data == -(2**70) - 1 and type(data) is int


def test_nan_and_infinity_are_decoded_as_the_standard_library_does() -> None:
    data = decode_frame('{"event":"e","data":"[NaN,Infinity,-Infinity,1e999]"}').data
    assert math.isnan(data[0]) and data[1:] == [math.inf, -math.inf, math.inf]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, ensure_ascii=st.booleans())
def test_any_json_value_decodes_as_with_the_standard_library(
    value: Any, ensure_ascii: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    assert outcome(loads, text) == outcome(json.loads, text)
    frame = json.dumps({"event": "e", "channel": "c", "data": text}, ensure_ascii=ensure_ascii)
    assert outcome(decode_frame, frame) == stdlib(outcome, decode_frame, frame)


# ---- the same errors ----------------------------------------------------------------------

@pytest.mark.parametrize("frame", BAD + ["[1]", '"text"', "null", '{"data":"x"}', '{"event":3}'])
def test_bad_frames_raise_the_same_protocol_error(frame: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_frame(frame)
    with pytest.raises(ProtocolError) as expected:
        stdlib(decode_frame, frame)
    assert str(caught.value) == str(expected.value)
    assert caught.value.frame == frame
    assert type(caught.value.__cause__) is type(expected.value.__cause__)


# ---- deeply nested JSON (issue 9, item 6) ------------------------------------------------------

@pytest.mark.parametrize("frame", [
    "[" * 3000,
    "[" * 3000 + "]" * 3000,
    json.dumps({"event": "client-x", "channel": "private-c", "data": "[" * 3000}),
    json.dumps({"event": "client-x", "channel": "private-c", "data": "[" * 3000 + "]" * 3000}),
    json.dumps({"event": "client-x", "channel": "private-c", "data": '{"a":' * 3000}),
])
def test_deeply_nested_frame_is_a_protocol_error(frame: str) -> None:
    with pytest.raises(ProtocolError, match="nested too deeply") as caught:
        decode_frame(frame)
    assert caught.value.frame == frame


def test_deeply_nested_data_keeps_the_connection_and_the_next_event_arrives(
    make_pusher, server
) -> None:
    pusher = make_pusher(secret="secret")
    server.handshake()
    errors = record(pusher.errors)
    got = record(pusher.channel("private-c").events("client-x"))
    states = record(pusher.state)
    server.succeed("private-c")
    server.current.receive(json.dumps({"event": "client-x", "channel": "private-c",
                                       "data": "[" * 3000}))
    server.current.receive("[" * 3000)
    server.push("client-x", {"n": 1}, channel="private-c")
    assert got.items == [{"n": 1}]
    assert [type(e) for e in errors.items] == [ProtocolError, ProtocolError]
    assert states.items == ["connected"]
    assert server.attempts == 1


def test_the_depth_limit_does_not_depend_on_the_recursion_limit() -> None:
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        with pytest.raises(ProtocolError, match="nested too deeply"):
            decode_frame(json.dumps({"event": "e", "data": "[" * 600 + "]" * 600}))
        assert decode_frame(json.dumps({"event": "e", "data": "[" * 500 + "]" * 500})).data
    finally:
        sys.setrecursionlimit(limit)
