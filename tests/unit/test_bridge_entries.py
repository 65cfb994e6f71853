"""rxpusher.bridge._entries: ids, data text, records and name templates (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from rxpusher.bridge._entries import (
    Template,
    data_text,
    digest_id,
    event_item,
    gap_item,
    interruption_item,
    nats_body,
    redis_fields,
    to_record,
)

T0 = datetime(2026, 1, 31, 12, 0, 0, 123000, tzinfo=UTC)


def test_a_sequenced_event_is_keyed_by_channel_and_seq() -> None:
    record = to_record(event_item("prices", "new-price", {"seq": 7}, None, 7, T0))
    assert record["id"] == "prices:7"
    assert record["seq"] == 7


def test_the_digest_id_is_the_same_for_the_same_event_and_differs_by_channel_event_and_data() -> None:
    one = to_record(event_item("a", "e", {"x": 1}, None, None, T0))["id"]
    again = to_record(event_item("a", "e", {"x": 1}, "u", None, T0 + timedelta(seconds=5)))["id"]
    assert one == again  # neither the receive time nor the user changes the identity
    others = {digest_id("b", "e", '{"x":1}'), digest_id("a", "f", '{"x":1}'),
              digest_id("a", "e", '{"x":2}')}
    assert one not in others and len(others) == 3
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert digest_id("ab", "c", "d") != digest_id("a", "bc", "d")


def test_data_is_json_text_that_decodes_to_the_event_data() -> None:
    for data in ({"price": 1.5, "name": "é"}, [1, 2], "plain text", 3, None):
        assert json.loads(data_text(data)) == data
    assert data_text({"name": "é"}) == '{"name":"é"}'


def test_an_event_record_carries_every_field() -> None:
    record = to_record(event_item("prices", "new-price", {"p": 1}, "user-1", None, T0))
    assert record == {
        "type": "event", "id": record["id"], "channel": "prices", "event": "new-price",
        "data": '{"p":1}', "user_id": "user-1", "seq": None,
        "received_at": "2026-01-31T12:00:00.123Z"}


def test_redis_fields_are_strings_with_empty_user_id_and_no_seq_when_unknown() -> None:
    fields = redis_fields(to_record(event_item("c", "e", 1, None, None, T0)))
    pairs = dict(zip(fields[::2], fields[1::2]))
    assert pairs["user_id"] == "" and "seq" not in pairs
    assert all(isinstance(value, str) for value in fields)
    with_seq = dict(zip(*[iter(redis_fields(to_record(event_item("c", "e", 1, None, 3, T0))))] * 2))
    assert with_seq["seq"] == "3"


def test_the_nats_body_is_the_record_as_json_with_null_user_id() -> None:
    body = json.loads(nats_body(to_record(event_item("c", "e", {"a": 1}, None, None, T0))))
    assert body["user_id"] is None and body["data"] == '{"a":1}' and "seq" not in body


def test_interruption_and_gap_records_have_their_fields_and_stable_ids() -> None:
    lost, back = T0, T0 + timedelta(seconds=3)
    interruption = to_record(interruption_item("c", lost, back))
    assert interruption["type"] == "interruption"
    assert interruption["lost_at"] == "2026-01-31T12:00:00.123Z"
    assert interruption["resubscribed_at"] == "2026-01-31T12:00:03.123Z"
    assert interruption["id"] == to_record(interruption_item("c", lost, back))["id"]
    gap = to_record(gap_item("c", "e", 5, 9, back))
    assert (gap["type"], gap["first"], gap["last"], gap["reason"]) == ("gap", 5, 9, "sequence")
    assert gap["id"] == "c:gap:e:5-9"  # two bridges on one feed write the same gap once


def test_templates_accept_channel_and_event_only() -> None:
    assert Template("pusher:{channel}", "stream").render("a.b", "e") == "pusher:a.b"
    with pytest.raises(ValueError, match="unknown placeholder"):
        Template("pusher:{chanel}", "stream")
    with pytest.raises(TypeError):
        Template("", "stream")


def test_subject_names_replace_what_nats_tokens_cannot_hold() -> None:
    subject = Template("pusher.{channel}.{event}", "subject", subject=True)
    assert subject.render("private-a.b", "client-x y*>") == "pusher.private-a_b.client-x_y__"
    assert subject.capture() == "pusher.>"
    assert Template("fixed.subject", "subject", subject=True).capture() == "fixed.subject"
    with pytest.raises(ValueError, match="literal"):
        Template("{channel}.x", "subject", subject=True).capture()
