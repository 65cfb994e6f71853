"""Presence channel members: immutable snapshots and the roster that builds them."""


import json
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

__all__ = ["Member", "Members"]


class Member(NamedTuple):
    """A presence channel member: its user id (always a string) and user info."""

    id: str
    info: Any


class Members(Mapping[str, Any]):
    """An immutable snapshot of a presence channel: user id -> user info.

    ``count`` is the number of members; ``me`` is this client's own
    :class:`Member`, or None before the subscription succeeded.
    """

    __slots__ = ("_members", "_me_id")

    def __init__(self, members: Mapping[str, Any] | None = None, me_id: str | None = None) -> None:
        self._members: dict[str, Any] = dict(members or {})
        self._me_id = me_id

    def __getitem__(self, user_id: str) -> Any:
        return self._members[user_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    @property
    def count(self) -> int:
        """How many members the channel has."""
        return len(self._members)

    @property
    def me(self) -> Member | None:
        """This client's member entry, or None when it is not (yet) among the members."""
        if self._me_id is None or self._me_id not in self._members:
            return None
        return Member(self._me_id, self._members[self._me_id])

    def __repr__(self) -> str:
        return f"Members({self._members!r}, me={self._me_id!r})"


class Roster:
    """The members of one presence channel, updated from protocol events."""

    def __init__(self) -> None:
        self._members: dict[str, Any] = {}
        self._me_id: str | None = None
        self.snapshot = Members()
        self.ready = False

    def set_me(self, channel_data: str | None) -> None:
        """Remember this client's user id from the channel data it subscribed with."""
        if channel_data is None:
            return
        try:
            user_id = json.loads(channel_data).get("user_id")
        except (ValueError, AttributeError):
            return
        self._me_id = None if user_id is None else str(user_id)

    def reset(self, data: Any) -> Members:
        """Rebuild from ``pusher_internal:subscription_succeeded`` data."""
        presence = data.get("presence", {}) if isinstance(data, Mapping) else {}
        by_id = presence.get("hash") if isinstance(presence, Mapping) else None
        ids = presence.get("ids", []) if isinstance(presence, Mapping) else []
        members = {str(k): v for k, v in (by_id or {}).items()}
        for user_id in ids or ():
            members.setdefault(str(user_id), None)
        self._members = members
        self.ready = True
        return self._publish()

    def add(self, data: Any) -> Member | None:
        """Apply ``member_added``; the new :class:`Member`, or None for bad data."""
        if not isinstance(data, Mapping) or data.get("user_id") is None:
            return None
        member = Member(str(data["user_id"]), data.get("user_info"))
        self._members = {**self._members, member.id: member.info}
        self._publish()
        return member

    def remove(self, data: Any) -> Member | None:
        """Apply ``member_removed``; the removed :class:`Member`, or None if unknown."""
        if not isinstance(data, Mapping) or data.get("user_id") is None:
            return None
        user_id = str(data["user_id"])
        if user_id not in self._members:
            return None
        members = dict(self._members)
        info = members.pop(user_id)
        self._members = members
        self._publish()
        return Member(user_id, info)

    def clear(self) -> Members:
        """Forget every member (the connection dropped or the channel was left)."""
        self._members = {}
        self.ready = False
        return self._publish()

    def _publish(self) -> Members:
        self.snapshot = Members(self._members, self._me_id)
        return self.snapshot
