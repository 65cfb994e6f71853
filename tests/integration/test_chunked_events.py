"""Chunked events (Pusher's recipe for payloads above 10 KB) through soketi and the local
server: sent by a publisher with the official SDK, and by ``trigger(chunked=True)``."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

import rxpusher
from helpers.soketi_harness import Collector

pytestmark = pytest.mark.integration


def _report(size: int = 50_000) -> dict[str, Any]:
    rows = [{"n": i, "name": f"row \"{i}\" – é ✓", "value": i * 1.5} for i in range(size // 40)]
    payload = {"title": "daily report", "rows": rows}
    assert len(json.dumps(payload)) >= size
    return payload


def _publish_chunked(sdk: Any, channel: str, event: str, data: Any, chunk_size: int = 4_000,
                     shuffle: bool = False) -> int:
    """What Pusher's documentation tells a publisher to do: cut the JSON text and trigger
    ``chunked-<event>`` parts ``{id, index, chunk, final}`` with the server SDK (4,000
    characters a part: escaped quotes make a part's JSON longer than its chunk)."""
    text = json.dumps(data)
    pieces = [text[i:i + chunk_size] for i in range(0, len(text), chunk_size)]
    parts = [{"id": "msg-1", "index": i, "chunk": piece, "final": i == len(pieces) - 1}
             for i, piece in enumerate(pieces)]
    if shuffle:
        random.Random(3).shuffle(parts)
    for part in parts:
        sdk.trigger(channel, f"chunked-{event}", part)
    return len(parts)


def test_a_50_kb_payload_chunked_by_a_publisher_arrives_whole(make_pusher, soketi, unique):
    channel = unique("reports")
    client = make_pusher()
    whole = Collector("report")
    whole.subscribe_to(client.channel(channel).events("report"))
    parts = Collector("chunked-report")
    parts.subscribe_to(client.channel(channel).events("chunked-report"))
    every = Collector("global")
    every.subscribe_to(client.events("report"))
    errors = Collector("errors")
    errors.subscribe_to(client.errors)
    client.channel(channel).wait_subscribed(10)
    payload = _report()

    sent = _publish_chunked(soketi.sdk, channel, "report", payload, shuffle=True)

    assert whole.wait_count(1, timeout=15) == [payload]
    assert every.wait_count(1) == [payload]
    assert len(parts.wait_count(sent)) == sent > 5  # each part is still an event of its own
    soketi.sdk.trigger(channel, "report", {"small": True})  # unchunked, same observers
    whole.wait_item(lambda d: d == {"small": True})
    assert not [e for e in errors.snapshot() if isinstance(e, rxpusher.ProtocolError)]


def test_trigger_chunked_sends_a_50_kb_client_event_that_the_other_client_gets_whole(
        make_pusher, soketi, unique):
    channel = unique("private-docs")
    sender = make_pusher(secret=soketi.secret)
    receiver = make_pusher(secret=soketi.secret)
    got = Collector("client-doc")
    got.subscribe_to(receiver.channel(channel).events("client-doc"))
    keep = sender.channel(channel).events().subscribe()
    errors = Collector("errors")
    errors.subscribe_to(sender.errors)
    errors.subscribe_to(receiver.errors)
    sender.channel(channel).wait_subscribed(10)
    receiver.channel(channel).wait_subscribed(10)
    payload = _report()

    sender.channel(channel).trigger("client-doc", payload, chunked=True)
    sender.channel(channel).trigger("client-doc", {"small": 1}, chunked=True)

    assert got.wait_count(2, timeout=20) == [payload, {"small": 1}]
    assert not [e for e in errors.snapshot()
                if isinstance(e, (rxpusher.ProtocolError, rxpusher.ServerError))]
    keep.dispose()
