"""What a bridge writes: the items its observers receive, turned into broker entries.

Pure functions and records, no I/O: the reader thread only appends an :class:`Item` (cheap);
the sink's writer thread turns it into a record (JSON text, id, digest) with
:func:`to_record`.

Every record has ``type`` (``event``, ``interruption``, ``gap``), ``id``, ``channel``,
``event`` and ``received_at``; an event record also ``data`` (JSON text), ``user_id`` and, when
known, ``seq``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "Item",
    "event_item",
    "interruption_item",
    "gap_item",
    "dropped_gap_item",
    "to_record",
    "record_id",
    "digest_id",
    "seq_id",
    "data_text",
    "iso",
    "Template",
    "redis_fields",
    "nats_body",
    "subject_token",
]

INTERRUPTION = "interruption"
GAP = "gap"
EVENT = "event"


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and ``Z`` (as ``rxpusher listen`` prints it)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Item:
    """One thing a sink received, as cheap to make as possible (on the reader thread)."""

    kind: str
    channel: str
    event: str
    data: Any = None
    user_id: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seq: int | None = None
    extra: dict[str, Any] | None = None


def event_item(channel: str, event: str, data: Any, user_id: str | None,
               seq: int | None, received_at: datetime | None = None) -> Item:
    """An event (``seq`` None when unknown)."""
    return Item(EVENT, channel, event, data, user_id,
                received_at or datetime.now(UTC), seq)


def interruption_item(channel: str, lost_at: datetime, resubscribed_at: datetime) -> Item:
    """The channel's connection was lost between ``lost_at`` and ``resubscribed_at``."""
    return Item(INTERRUPTION, channel, "", extra={
        "lost_at": iso(lost_at), "resubscribed_at": iso(resubscribed_at)})


def gap_item(channel: str, event: str, first: int, last: int | None,
             detected_at: datetime) -> Item:
    """A sequenced feed's gap: seqs ``first..last`` (``last`` None: unknown) are missing."""
    return Item(GAP, channel, event, extra={
        "reason": "sequence", "first": first, "last": last, "count": None,
        "detected_at": iso(detected_at), "from": None, "to": None})


def dropped_gap_item(channel: str, event: str, count: int, first: int | None,
                     last: int | None, since: datetime, until: datetime) -> Item:
    """The sink dropped ``count`` entries of ``channel`` (seqs ``first..last`` when known,
    received between ``since`` and ``until``) from a full buffer."""
    return Item(GAP, channel, event, extra={
        "reason": "buffer_full", "count": count, "first": first, "last": last,
        "from": iso(since), "to": iso(until), "detected_at": iso(datetime.now(UTC))})


def data_text(data: Any) -> str:
    """The event's data as JSON text: ``json.loads`` of it gives the data back."""
    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return json.dumps(repr(data), ensure_ascii=False)


def seq_id(channel: str, seq: int) -> str:
    """The id of a sequenced event: ``<channel>:<seq>``."""
    return f"{channel}:{seq}"


def digest_id(channel: str, event: str, text: str) -> str:
    """The id of an event without a seq: a digest of channel, event and data, so that two
    bridges (or a restarted one) give the same event the same id."""
    digest = hashlib.sha256()
    for part in (channel, event, text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return f"{channel}:sha256:{digest.hexdigest()[:32]}"


def record_id(item: Item, text: str | None = None) -> str:
    """The idempotency key of ``item``."""
    if item.kind == EVENT:
        if item.seq is not None:
            return seq_id(item.channel, item.seq)
        return digest_id(item.channel, item.event, data_text(item.data) if text is None else text)
    extra = item.extra or {}
    if item.kind == INTERRUPTION:
        return f"{item.channel}:interruption:{extra['lost_at']}"
    if extra.get("reason") == "sequence":
        return f"{item.channel}:gap:{item.event}:{extra['first']}-{extra['last']}"
    return f"{item.channel}:gap:{extra['from']}:{extra['to']}:{extra['count']}"


def to_record(item: Item) -> dict[str, Any]:
    """The entry for ``item``: ``type``, ``id``, ``channel``, ``event``, ``received_at`` and,
    by type, ``data``/``user_id``/``seq`` or the interruption's or gap's fields."""
    record: dict[str, Any] = {"type": item.kind, "id": "", "channel": item.channel,
                              "event": item.event}
    if item.kind == EVENT:
        text = data_text(item.data)
        record["data"] = text
        record["user_id"] = item.user_id
        record["seq"] = item.seq
        record["id"] = record_id(item, text)
    else:
        record.update(item.extra or {})
        record["id"] = record_id(item)
    record["received_at"] = iso(item.received_at)
    return record


def redis_fields(record: dict[str, Any]) -> list[str]:
    """Flat ``field, value, ...`` strings for XADD (None becomes "", numbers decimal text)."""
    flat: list[str] = []
    for key, value in record.items():
        if key == "seq" and value is None:
            continue
        flat.append(key)
        flat.append("" if value is None else str(value))
    return flat


def nats_body(record: dict[str, Any]) -> bytes:
    """The JetStream message body: the record as one JSON object (``data`` stays JSON text)."""
    body = {key: value for key, value in record.items() if not (key == "seq" and value is None)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NOT_A_TOKEN = re.compile(r"[\s.*>]")
_GLOB = re.compile(r"([*?\[\]\\])")


def subject_token(text: str) -> str:
    """``text`` usable as one NATS subject token: ``.``, ``*``, ``>`` and blanks become
    ``_`` (the entry keeps the exact channel and event names)."""
    return _NOT_A_TOKEN.sub("_", text) or "_"


class Template:
    """A stream or subject name with ``{channel}`` and ``{event}`` placeholders."""

    def __init__(self, text: str, what: str, *, subject: bool = False) -> None:
        if not isinstance(text, str) or not text:
            raise TypeError(f"{what} must be a non-empty string, got {text!r}")
        for name in _PLACEHOLDER.findall(text):
            if name not in ("channel", "event"):
                raise ValueError(f"{what} {text!r}: unknown placeholder {{{name}}} "
                                 "(use {channel} and {event})")
        self.text = text
        self.subject = subject

    def render(self, channel: str, event: str) -> str:
        """The name for an entry of ``channel`` / ``event``."""
        if self.subject:
            channel, event = subject_token(channel), subject_token(event)
        return self.text.replace("{channel}", channel).replace("{event}", event)

    @property
    def per_event(self) -> bool:
        """True when the name depends on the event (``{event}`` in it)."""
        return "{event}" in self.text

    def any_event(self, channel: str) -> str:
        """The names of ``channel``'s entries of every event: a NATS subject with the ``*``
        wildcard for ``{event}``, or a Redis ``SCAN MATCH`` glob (the channel escaped)."""
        if self.subject:
            channel = subject_token(channel)
        else:
            channel = _GLOB.sub(r"\\\1", channel)
        return self.text.replace("{channel}", channel).replace("{event}", "*")

    def capture(self) -> str:
        """For a subject template: the subjects a new stream must capture (its literal
        leading tokens, then ``>``)."""
        tokens = self.text.split(".")
        literal = []
        for token in tokens:
            if "{" in token:
                break
            literal.append(token)
        if len(literal) == len(tokens):
            return self.text
        if not literal:
            raise ValueError(f"subject {self.text!r} must start with a literal token "
                             "(like 'pusher.') to create a stream for it; pass stream=")
        return ".".join(literal + [">"])
