"""The bounded buffer of a sink: entries waiting for the broker.

At most ``max_buffer`` entries wait; past that the oldest are dropped and, per channel, one
``gap`` entry records what was dropped (count, seq range when known, receive times). That gap
entry is taken before every entry still waiting, so a consumer reads it where the missing
entries would have been. Dropped entries are not kept: only their count, seq range and times.
Not thread-safe: the sink holds its lock around every call.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from ._entries import GAP, Item, dropped_gap_item

__all__ = ["EntryBuffer"]


@dataclass(slots=True)
class _Dropped:
    """What was dropped of one channel since its last gap entry was taken."""

    event: str | None
    count: int
    first: int | None
    last: int | None
    since: datetime
    until: datetime

    def add(self, event: str, count: int, first: int | None, last: int | None,
            since: datetime, until: datetime) -> None:
        if self.event != event:
            self.event = ""
        self.count += count
        if first is not None:
            self.first = first if self.first is None else min(self.first, first)
        if last is not None:
            self.last = last if self.last is None else max(self.last, last)
        self.since = min(self.since, since)
        self.until = max(self.until, until)

    def item(self, channel: str) -> Item:
        return dropped_gap_item(channel, self.event or "", self.count, self.first, self.last,
                                self.since, self.until)


def _is_drop_gap(item: Item) -> bool:
    return item.kind == GAP and (item.extra or {}).get("reason") == "buffer_full"


class EntryBuffer:
    """FIFO of :class:`Item` bounded by ``max_buffer``; drops the oldest into gap entries."""

    def __init__(self, max_buffer: int) -> None:
        if not isinstance(max_buffer, int) or isinstance(max_buffer, bool) or max_buffer < 1:
            raise ValueError(f"max_buffer must be an integer >= 1, got {max_buffer!r}")
        self.max_buffer = max_buffer
        self._items: deque[Item] = deque()
        self._dropped: dict[str, _Dropped] = {}
        self.dropped_total = 0
        """Entries dropped since the buffer was made."""

    def __len__(self) -> int:
        """Entries waiting, pending gap entries included."""
        return len(self._items) + len(self._dropped)

    def push(self, item: Item) -> None:
        """Add ``item`` at the end; drop the oldest when the buffer is over its bound."""
        self._items.append(item)
        self._trim()

    def take(self, limit: int) -> list[Item]:
        """Up to ``limit`` items from the front (at least the pending gap entries, which come
        first). They leave the buffer: give back those not written with :meth:`give_back`."""
        batch = [dropped.item(channel) for channel, dropped in self._dropped.items()]
        self._dropped.clear()
        while self._items and len(batch) < limit:
            batch.append(self._items.popleft())
        return batch

    def give_back(self, batch: list[Item]) -> None:
        """Put a batch that was not written back at the front, in order. Its gap entries
        merge with what was dropped meanwhile; then the bound applies again."""
        for item in reversed(batch):
            if not _is_drop_gap(item):
                self._items.appendleft(item)
        for item in batch:
            if _is_drop_gap(item):
                extra = item.extra or {}
                since = datetime.fromisoformat(extra["from"])
                until = datetime.fromisoformat(extra["to"])
                self._drop(item.channel, item.event, extra["count"], extra["first"],
                           extra["last"], since, until)
        self._trim()

    def _drop(self, channel: str, event: str, count: int, first: int | None,
              last: int | None, since: datetime, until: datetime) -> None:
        dropped = self._dropped.get(channel)
        if dropped is None:
            self._dropped[channel] = _Dropped(event, count, first, last, since, until)
        else:
            dropped.add(event, count, first, last, since, until)

    def _trim(self) -> None:
        while len(self._items) > self.max_buffer:
            oldest = self._items.popleft()
            self._drop(oldest.channel, oldest.event, 1, oldest.seq, oldest.seq,
                       oldest.received_at, oldest.received_at)
            self.dropped_total += 1
