"""The WebSocket frame parser at the byte level: no socket, bytes fed as ``recv`` returns them."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.raw_ws_server import close_payload, server_frame
from rxpusher._internal.wsframes import (
    DEFAULT_MAX_MESSAGE_SIZE,
    FRAGMENT,
    Close,
    Failure,
    FrameParser,
    Item,
    Ping,
    Pong,
)

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def feed_all(data: bytes, splits: list[int] | None = None,
             parser: FrameParser | None = None) -> list[Item]:
    """Feed ``data`` cut at ``splits`` (offsets), or byte by byte when None."""
    parser = parser or FrameParser()
    cuts = sorted(set(splits)) if splits is not None else list(range(1, len(data)))
    items: list[Item] = []
    start = 0
    for cut in [*cuts, len(data)]:
        items += parser.feed(data[start:cut])
        start = cut
    return items


# ---- lengths and recv boundaries ---------------------------------------------------------

@pytest.mark.parametrize("size, length_bytes", [(0, 0), (125, 0), (126, 2), (65535, 2),
                                                (65536, 8), (10, 2), (10, 8)])
def test_7_16_and_64_bit_lengths(size: int, length_bytes: int) -> None:
    text = "x" * size
    frame = server_frame(TEXT, text.encode(), length_bytes=length_bytes)
    assert FrameParser().feed(frame) == [text]


def test_many_frames_from_one_recv() -> None:
    texts = [json.dumps({"event": "e", "seq": i}) for i in range(1000)]
    data = b"".join(server_frame(TEXT, t.encode()) for t in texts)
    assert FrameParser().feed(data) == texts


@pytest.mark.parametrize("length_bytes", [0, 2, 8])
def test_header_split_byte_by_byte(length_bytes: int) -> None:
    data = server_frame(TEXT, b"hello", length_bytes=length_bytes) + server_frame(TEXT, b"world")
    assert feed_all(data) == ["hello", "world"]


def test_frame_across_recv_boundaries_is_delivered_once_complete() -> None:
    parser = FrameParser()
    data = server_frame(TEXT, b"a" * 1000)
    assert parser.feed(data[:500]) == []
    assert parser.buffered == 500
    assert parser.feed(data[500:]) == ["a" * 1000]
    assert parser.buffered == 0


def test_multibyte_character_split_across_recvs() -> None:
    data = server_frame(TEXT, "é€😀".encode())
    assert feed_all(data) == ["é€😀"]


def test_a_large_frame_in_small_recvs_is_linear() -> None:
    payload = b"y" * (4 * 1024 * 1024)
    data = server_frame(TEXT, payload)
    parser = FrameParser()
    started = time.perf_counter()
    items: list[Item] = []
    for i in range(0, len(data), 1024):
        items += parser.feed(data[i : i + 1024])
    assert items == [payload.decode()]
    assert time.perf_counter() - started < 2.0  # quadratic copying takes minutes here


# ---- fragments ---------------------------------------------------------------------------

def test_fragments_are_reassembled() -> None:
    data = (server_frame(TEXT, b"he", fin=False) + server_frame(CONT, b"ll", fin=False)
            + server_frame(CONT, b"o"))
    assert FrameParser().feed(data) == [FRAGMENT, FRAGMENT, "hello"]


def test_control_frames_between_fragments_are_delivered_in_order() -> None:
    data = (server_frame(TEXT, b"{\"a\":", fin=False) + server_frame(PING, b"p1")
            + server_frame(CONT, b"1", fin=False) + server_frame(PONG, b"")
            + server_frame(CONT, b"}"))
    assert feed_all(data) == [FRAGMENT, Ping(b"p1"), FRAGMENT, Pong(b""), '{"a":1}']


def test_binary_message_reassembled_as_bytes() -> None:
    data = server_frame(BINARY, b"\xff\x00", fin=False) + server_frame(CONT, b"\x01")
    assert FrameParser().feed(data) == [FRAGMENT, b"\xff\x00\x01"]


def test_many_fragments_reassemble_in_linear_time() -> None:
    count, chunk = 40_000, b"x" * 100
    data = (server_frame(TEXT, chunk, fin=False)
            + server_frame(CONT, chunk, fin=False) * (count - 2) + server_frame(CONT, chunk))
    started = time.perf_counter()
    items = FrameParser().feed(data)
    assert items[-1] == "x" * 100 * count and len(items) == count
    assert time.perf_counter() - started < 2.0  # quadratic joining copies ~80 GB here


@pytest.mark.parametrize("data, reason", [
    (server_frame(CONT, b"x"), "continuation frame without a message"),
    (server_frame(TEXT, b"a", fin=False) + server_frame(TEXT, b"b"), "new message"),
    (server_frame(PING, b"", fin=False), "fragmented or oversized control frame"),
    (server_frame(PING, b"p" * 126), "fragmented or oversized control frame"),
])
def test_fragmentation_errors_close_1002(data: bytes, reason: str) -> None:
    items = FrameParser().feed(data)
    assert isinstance(items[-1], Failure)
    assert items[-1].code == 1002 and reason in items[-1].reason


# ---- protocol violations -----------------------------------------------------------------

def test_masked_server_frame_is_rejected_with_1002() -> None:
    items = FrameParser().feed(server_frame(TEXT, b"hi", mask=b"\x01\x02\x03\x04"))
    assert items == [Failure(1002, "masked frame from the server")]


@pytest.mark.parametrize("rsv", [1, 2, 4])
def test_reserved_bits_close_1002(rsv: int) -> None:
    assert FrameParser().feed(server_frame(TEXT, b"hi", rsv=rsv)) == [
        Failure(1002, "reserved bits set in a frame header")]


@pytest.mark.parametrize("opcode", [0x3, 0x7, 0xB, 0xF])
def test_reserved_opcodes_close_1002(opcode: int) -> None:
    items = FrameParser().feed(server_frame(opcode, b""))
    assert items == [Failure(1002, f"reserved opcode {opcode:#x}")]


def test_64_bit_length_with_the_top_bit_set_is_rejected() -> None:
    data = bytes([0x81, 127]) + (1 << 63).to_bytes(8, "big")
    assert FrameParser().feed(data) == [Failure(1002, "64-bit frame length with MSB set")]


def test_frames_before_a_violation_are_delivered_and_nothing_after_it() -> None:
    parser = FrameParser()
    data = text = server_frame(TEXT, b"ok")
    data = text + server_frame(TEXT, b"bad", mask=b"abcd") + text
    items = parser.feed(data)
    assert items == ["ok", Failure(1002, "masked frame from the server")]
    assert parser.failed
    assert parser.feed(text) == []


# ---- UTF-8 ------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [b"\xff", b"abc\xc3", b"\xed\xa0\x80", b"\xc0\xaf"])
def test_invalid_utf8_in_a_text_frame_closes_1007(payload: bytes) -> None:
    items = FrameParser().feed(server_frame(TEXT, payload) + server_frame(TEXT, b"next"))
    assert items == [Failure(1007, "invalid UTF-8 in a text frame")]


def test_invalid_utf8_in_a_16_bit_text_frame_closes_1007() -> None:
    items = FrameParser().feed(server_frame(TEXT, b"a" * 200 + b"\xff"))
    assert items == [Failure(1007, "invalid UTF-8 in a text frame")]


def test_valid_utf8_split_across_fragments_is_accepted() -> None:
    euro = "€".encode()
    data = server_frame(TEXT, euro[:1], fin=False) + server_frame(CONT, euro[1:])
    assert FrameParser().feed(data) == [FRAGMENT, "€"]


def test_invalid_utf8_across_fragments_closes_1007() -> None:
    data = server_frame(TEXT, b"\xe2\x82", fin=False) + server_frame(CONT, b"x")
    assert FrameParser().feed(data) == [FRAGMENT, Failure(1007, "invalid UTF-8 in a text message")]


def test_binary_frames_are_not_checked_for_utf8() -> None:
    assert FrameParser().feed(server_frame(BINARY, b"\xff")) == [b"\xff"]


# ---- size limit ---------------------------------------------------------------------------

def test_default_max_message_size_is_10_mib() -> None:
    assert DEFAULT_MAX_MESSAGE_SIZE == 10 * 1024 * 1024


@pytest.mark.parametrize("size, length_bytes", [(11, 0), (200, 2), (70_000, 8)])
def test_announced_oversize_frame_closes_1009_before_its_payload(
    size: int, length_bytes: int
) -> None:
    parser = FrameParser(max_message_size=10)
    header = server_frame(TEXT, b"x" * size, length_bytes=length_bytes)[: 2 + length_bytes]
    assert parser.feed(header) == [Failure(1009, "frame larger than 10 bytes")]
    assert parser.buffered == 0


def test_huge_announced_frame_is_refused_without_reading_it() -> None:
    header = bytes([0x81, 127]) + (1 << 30).to_bytes(8, "big")
    assert FrameParser().feed(header) == [
        Failure(1009, f"frame larger than {DEFAULT_MAX_MESSAGE_SIZE} bytes")]


def test_message_grown_past_the_limit_by_fragments_closes_1009() -> None:
    parser = FrameParser(max_message_size=10)
    data = server_frame(TEXT, b"x" * 6, fin=False) + server_frame(CONT, b"x" * 5)
    assert parser.feed(data) == [FRAGMENT, Failure(1009, "message larger than 10 bytes")]


def test_frame_at_the_limit_is_accepted() -> None:
    assert FrameParser(max_message_size=10).feed(server_frame(TEXT, b"x" * 10)) == ["x" * 10]


def test_max_message_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_message_size"):
        FrameParser(max_message_size=0)


# ---- close frames -------------------------------------------------------------------------

@pytest.mark.parametrize("payload, item", [
    (close_payload(None), Close(None, "")),
    (close_payload(1000), Close(1000, "")),
    (close_payload(4001, "app does not exist"), Close(4001, "app does not exist")),
    (close_payload(1001, "gøing"), Close(1001, "gøing")),
    (close_payload(3000), Close(3000, "")),
])
def test_close_payload_is_parsed(payload: bytes, item: Close) -> None:
    parser = FrameParser()
    assert parser.feed(server_frame(CLOSE, payload) + server_frame(TEXT, b"after")) == [item]
    assert parser.failed  # nothing is read after a close


@pytest.mark.parametrize("payload, failure", [
    (b"\x03", Failure(1002, "close frame with a 1-byte payload")),
    (close_payload(999), Failure(1002, "close frame with invalid code 999")),
    (close_payload(1005), Failure(1002, "close frame with invalid code 1005")),
    (close_payload(1006), Failure(1002, "close frame with invalid code 1006")),
    (close_payload(2000), Failure(1002, "close frame with invalid code 2000")),
    (close_payload(5000), Failure(1002, "close frame with invalid code 5000")),
    (close_payload(1000) + b"\xff", Failure(1007, "close frame reason is not valid UTF-8")),
])
def test_invalid_close_payloads(payload: bytes, failure: Failure) -> None:
    assert FrameParser().feed(server_frame(CLOSE, payload)) == [failure]


# ---- property: the split never matters ----------------------------------------------------

_texts = st.text(max_size=300)
_frames = st.one_of(
    _texts.map(lambda t: [server_frame(TEXT, t.encode())]),
    _texts.map(lambda t: [server_frame(TEXT, t.encode(), length_bytes=8)]),
    st.binary(max_size=125).map(lambda b: [server_frame(PING, b)]),
    st.binary(max_size=125).map(lambda b: [server_frame(PONG, b)]),
    st.lists(st.binary(max_size=40), min_size=2, max_size=5).map(
        lambda parts: [server_frame(BINARY if i == 0 else CONT, p, fin=i == len(parts) - 1)
                       for i, p in enumerate(parts)]),
)
_streams = st.lists(_frames, max_size=12).map(lambda fs: b"".join(b"".join(f) for f in fs))


@settings(max_examples=300, deadline=None)
@given(data=_streams, cut_points=st.lists(st.integers(min_value=0, max_value=5000), max_size=20))
def test_any_split_into_recv_chunks_yields_the_same_items(
    data: bytes, cut_points: list[int]
) -> None:
    whole = FrameParser().feed(data)
    assert not any(isinstance(item, Failure) for item in whole)
    splits = [c % (len(data) + 1) for c in cut_points]
    assert feed_all(data, splits) == whole


@settings(max_examples=50, deadline=None)
@given(data=_streams)
def test_byte_by_byte_yields_the_same_items(data: bytes) -> None:
    assert feed_all(data) == FrameParser().feed(data)
