"""Chunked events: payloads above Pusher's 10 KB limit, sent as parts and put back together.

Pusher documents the recipe: the JSON text of the payload is cut into pieces, each sent as an
event ``chunked-<event>`` with data ``{"id": str, "index": int, "chunk": str, "final": bool}``;
the receiver joins the pieces of one id in index order and decodes the whole. Client events
keep their ``client-`` prefix in front: ``client-chunked-<name>`` carries ``client-<name>``.

:class:`Reassembler` is the receiving side and :func:`split` the sending side. Both are pure:
no I/O, no threads, no clock of their own (the caller passes ``now``), so virtual-time tests
drive them directly.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._exceptions import ProtocolError

__all__ = [
    "CHUNK_LIMIT",
    "DEFAULT_CHUNK_TIMEOUT",
    "Reassembler",
    "chunked_name",
    "split",
    "whole_name",
]

CHUNK_LIMIT = 10_240
"""Pusher's limit on the data of one event, in bytes: every part :func:`split` makes fits."""

DEFAULT_CHUNK_TIMEOUT = 30.0
"""Seconds the parts of one message may take to arrive, counted from its first part."""

MAX_PENDING_MESSAGES = 1_000
"""Messages being reassembled at once, per client; beyond that the oldest is dropped."""

_RECENT = 1_000  # completed ids remembered, to tell a late duplicate part from a new message
_PREFIX = "chunked-"
_CLIENT_PREFIX = "client-"
_CLIENT_CHUNKED_PREFIX = "client-chunked-"


def whole_name(name: str) -> str | None:
    """The event a part named ``name`` belongs to: ``chunked-x`` -> ``x``,
    ``client-chunked-x`` -> ``client-x``; None when ``name`` is not a part's name."""
    if name.startswith(_PREFIX) and len(name) > len(_PREFIX):
        return name[len(_PREFIX):]
    if name.startswith(_CLIENT_CHUNKED_PREFIX) and len(name) > len(_CLIENT_CHUNKED_PREFIX):
        return _CLIENT_PREFIX + name[len(_CLIENT_CHUNKED_PREFIX):]
    return None


def chunked_name(event: str) -> str:
    """The name the parts of ``event`` travel under: ``x`` -> ``chunked-x``,
    ``client-x`` -> ``client-chunked-x``."""
    if event.startswith(_CLIENT_PREFIX):
        return _CLIENT_CHUNKED_PREFIX + event[len(_CLIENT_PREFIX):]
    return _PREFIX + event


# ---- sending ------------------------------------------------------------------------------------


def _escaped_size(char: str) -> int:
    """Bytes ``char`` takes inside a JSON string written by ``json.dumps`` (ASCII escapes)."""
    code = ord(char)
    if 0x20 <= code < 0x7F:
        return 2 if char in '"\\' else 1
    if code < 0x20:
        return 2 if char in "\b\f\n\r\t" else 6
    return 12 if code > 0xFFFF else 6


def split(text: str, *, limit: int = CHUNK_LIMIT, message_id: str | None = None) -> list[dict[str, Any]]:
    """Cut ``text`` (the JSON text of a payload, or any string) into the data of the parts
    that carry it, in order: ``{"id", "index", "chunk", "final"}``, each of which, written as
    JSON, takes at most ``limit`` bytes. ``message_id`` defaults to a random id.

    Joining the ``chunk`` values in order gives ``text`` back. Raises ``ValueError`` when
    ``limit`` leaves no room for a chunk."""
    message_id = secrets.token_hex(8) if message_id is None else message_id
    # room left for the chunk once the rest of the part is written (with the largest index
    # and json.dumps' default separators, the longer spelling)
    overhead = len(json.dumps({"id": message_id, "index": len(text), "chunk": "",
                               "final": False}).encode())
    room = limit - overhead
    if room < 12:
        raise ValueError(f"a limit of {limit} bytes leaves no room for a chunk")
    pieces: list[str] = []
    start = used = 0
    for position, char in enumerate(text):
        size = _escaped_size(char)
        if used + size > room:
            pieces.append(text[start:position])
            start, used = position, 0
        used += size
    pieces.append(text[start:])
    last = len(pieces) - 1
    return [{"id": message_id, "index": index, "chunk": piece, "final": index == last}
            for index, piece in enumerate(pieces)]


# ---- receiving ----------------------------------------------------------------------------------


@dataclass
class _Message:
    """The parts of one message received so far."""

    started: float
    parts: dict[int, str] = field(default_factory=dict)
    final: int | None = None  # the index of the final part, once it arrived
    highest: int = -1  # the highest index received
    size: int = 0  # characters received, each part counting at least 1


@dataclass(frozen=True)
class Whole:
    """A message put back together: deliver ``text`` (decoded) as ``event`` on ``channel``."""

    channel: str
    event: str
    text: str
    user_id: str | None


class Reassembler:
    """Joins the parts of chunked events, per channel and id, in any order.

    ``add`` takes one part and returns the :class:`Whole` it completes, or None; it raises
    :class:`ProtocolError` for a part that is malformed, a duplicate, or makes its message
    larger than ``max_message_size`` (that message is then dropped; no other is touched).
    The parts held for all messages in progress together are bounded by
    ``max_message_size`` too: the message whose part would pass it is dropped.
    ``expire(now)`` drops the messages whose first part is older than ``timeout`` and returns
    one :class:`ProtocolError` for each; ``deadline()`` says when the next one expires.
    Beyond ``max_pending`` messages in progress the oldest is dropped to make room: its
    :class:`ProtocolError` is handed out by :meth:`evicted`.
    """

    def __init__(self, max_message_size: int, timeout: float = DEFAULT_CHUNK_TIMEOUT,
                 max_pending: int = MAX_PENDING_MESSAGES) -> None:
        self.max_message_size = max_message_size
        self.timeout = timeout
        self.max_pending = max_pending
        self._pending: OrderedDict[tuple[str, str, str], _Message] = OrderedDict()
        self._done: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._held = 0  # characters held for all messages in progress
        self._evicted: list[ProtocolError] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, channel: str, name: str, data: Any, frame: str, now: float,
            user_id: str | None = None) -> Whole | None:
        """Take the part ``data`` of event ``name`` (a ``chunked-`` name) on ``channel``."""
        event = whole_name(name)
        if event is None:
            raise ValueError(f"{name!r} is not the name of a chunked event's part")
        message_id, index, chunk, final = _parse_part(data, name, frame)
        key = (channel, event, message_id)
        if key in self._done:
            raise ProtocolError(
                f"{name} on {channel}: part {index} of message {message_id!r}, which was "
                "already delivered", frame)
        message = self._pending.get(key)
        if message is None:
            if len(self._pending) >= self.max_pending:
                (old_channel, old_event, old_id), old = self._pending.popitem(last=False)
                self._held -= old.size
                self._evicted.append(ProtocolError(
                    f"more than {self.max_pending} chunked messages in progress: message "
                    f"{old_id!r} of {old_event} on {old_channel} dropped", frame))
            message = self._pending[key] = _Message(started=now)
        if index in message.parts:
            raise ProtocolError(
                f"{name} on {channel}: duplicate part {index} of message {message_id!r} "
                "(ignored)", frame)
        if final and message.final is not None:
            self._discard(key)
            raise ProtocolError(
                f"{name} on {channel}: message {message_id!r} has two final parts "
                f"({message.final} and {index}); dropped", frame)
        last = index if final else message.final
        if last is not None and max(index, message.highest) > last:
            self._discard(key)
            raise ProtocolError(
                f"{name} on {channel}: message {message_id!r} has a part after its final "
                "part; dropped", frame)
        size = max(1, len(chunk))
        if message.size + size > self.max_message_size:
            self._discard(key)
            raise ProtocolError(
                f"{name} on {channel}: message {message_id!r} is larger than "
                f"max_message_size ({self.max_message_size}); dropped", frame)
        if self._held + size > self.max_message_size:
            self._discard(key)
            raise ProtocolError(
                f"{name} on {channel}: the chunked messages in progress would hold more than "
                f"max_message_size ({self.max_message_size}); message {message_id!r} "
                "dropped", frame)
        message.size += size
        self._held += size
        message.parts[index] = chunk
        message.highest = max(message.highest, index)
        if final:
            message.final = index
        if message.final is None or len(message.parts) != message.final + 1:
            return None
        self._discard(key)
        self._forget(key)
        text = "".join(message.parts[i] for i in range(message.final + 1))
        return Whole(channel, event, text, user_id)

    def _discard(self, key: tuple[str, str, str]) -> _Message:
        message = self._pending.pop(key)
        self._held -= message.size
        return message

    def _forget(self, key: tuple[str, str, str]) -> None:
        """Remember a delivered message, so that a late part of it is a duplicate."""
        self._done[key] = None
        while len(self._done) > _RECENT:
            self._done.popitem(last=False)

    def evicted(self) -> list[ProtocolError]:
        """The messages dropped to make room since the last call, one error each."""
        errors, self._evicted = self._evicted, []
        return errors

    def deadline(self) -> float | None:
        """When the oldest message in progress expires, or None when there is none."""
        for message in self._pending.values():
            return message.started + self.timeout
        return None

    def expire(self, now: float) -> list[ProtocolError]:
        """Drop the messages older than ``timeout``; one :class:`ProtocolError` each."""
        errors = []
        for key in list(self._iter_expired(now)):
            message = self._discard(key)
            channel, event, message_id = key
            missing = "the final part" if message.final is None else \
                f"{message.final + 1 - len(message.parts)} of {message.final + 1} parts"
            errors.append(ProtocolError(
                f"chunked message {message_id!r} of {event} on {channel} incomplete after "
                f"chunk_timeout ({self.timeout} s): {missing} missing; dropped", ""))
        return errors

    def _iter_expired(self, now: float) -> Iterator[tuple[str, str, str]]:
        for key, message in self._pending.items():  # oldest first
            if now - message.started < self.timeout:
                return
            yield key

    def drop(self, channel: str) -> int:
        """Forget the messages in progress on ``channel`` (left); how many there were."""
        keys = [key for key in self._pending if key[0] == channel]
        for key in keys:
            self._discard(key)
        return len(keys)


def _parse_part(data: Any, name: str, frame: str) -> tuple[str, int, str, bool]:
    """``(id, index, chunk, final)`` of a part, or a :class:`ProtocolError` saying what is
    wrong with it. An integer id is taken as its decimal text."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{name}: a part must be an object with id, index, chunk, final", frame)
    message_id, index, chunk, final = (data.get("id"), data.get("index"), data.get("chunk"),
                                       data.get("final", False))
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if not isinstance(message_id, str) or not message_id or len(message_id) > 200:
        raise ProtocolError(f"{name}: a part needs a string id", frame)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ProtocolError(f"{name}: a part needs a non-negative integer index", frame)
    if not isinstance(chunk, str):
        raise ProtocolError(f"{name}: a part needs a string chunk", frame)
    if not isinstance(final, bool):
        raise ProtocolError(f"{name}: final must be true or false", frame)
    return message_id, index, chunk, final
