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
    """The members of one presence channel, updated from protocol events.

    Member events that arrive before ``pusher_internal:subscription_succeeded`` are kept and
    merged into the snapshot that success carries. A server cluster needs this: soketi with
    its Redis adapter joins the new socket to the channel, asks the other nodes for their
    members and only then sends success, so a ``member_added`` or ``member_removed`` broadcast
    while that query is in flight reaches this socket first, and the snapshot may have been
    taken before or after it.

    The merge rule at :meth:`reset`: for each user id, the *last* member event received before
    success decides, because every such event happened after this socket joined, later than
    whatever the snapshot could be missing:

    - last event an add: the user is a member (with the snapshot's info when the snapshot
      already lists it, else with the info of the add);
    - last event a remove: the user is not a member, even when the snapshot lists it (a
      remove followed by an add of the same user keeps it; an add followed by a remove drops
      it).

    Events after success apply at once, as usual. The buffered events belong to one
    subscription attempt: :meth:`set_me` (called when a subscription is sent) and
    :meth:`clear` forget them, so that events from an earlier connection are never merged
    into a later snapshot.
    """

    def __init__(self) -> None:
        self._members: dict[str, Any] = {}
        self._me_id: str | None = None
        # user id -> the last member event before success: the Member added, or None when
        # the last event removed that user.
        self._early: dict[str, Member | None] = {}
        self.snapshot = Members()
        self.ready = False

    def set_me(self, channel_data: str | None) -> None:
        """Remember this client's user id from the channel data it subscribed with.

        A new subscription attempt starts here: member events kept from an earlier attempt
        are forgotten."""
        self._early = {}
        if channel_data is None:
            return
        try:
            user_id = json.loads(channel_data).get("user_id")
        except (ValueError, AttributeError):
            return
        self._me_id = None if user_id is None else str(user_id)

    def reset(self, data: Any) -> Members:
        """Rebuild from ``pusher_internal:subscription_succeeded`` data, merged with the
        member events that arrived before it (see the class documentation)."""
        presence = data.get("presence", {}) if isinstance(data, Mapping) else {}
        by_id = presence.get("hash") if isinstance(presence, Mapping) else None
        ids = presence.get("ids", []) if isinstance(presence, Mapping) else []
        members = {str(k): v for k, v in (by_id or {}).items()}
        for user_id in ids or ():
            members.setdefault(str(user_id), None)
        for user_id, last in self._early.items():
            if last is None:
                members.pop(user_id, None)
            elif user_id not in members:
                members[user_id] = last.info
        self._early = {}
        self._members = members
        self.ready = True
        return self._publish()

    def add(self, data: Any) -> Member | None:
        """Apply ``member_added``; the new :class:`Member`, or None for bad data.

        Before the subscription succeeded the event is kept for :meth:`reset` and None is
        returned: there is no snapshot to change yet, the member appears in the first one."""
        member = _member(data)
        if member is None:
            return None
        if not self.ready:
            self._early[member.id] = member
            return None
        self._members = {**self._members, member.id: member.info}
        self._publish()
        return member

    def remove(self, data: Any) -> Member | None:
        """Apply ``member_removed``; the removed :class:`Member`, or None if unknown.

        Before the subscription succeeded the event is kept for :meth:`reset` and None is
        returned."""
        member = _member(data)
        if member is None:
            return None
        if not self.ready:
            self._early[member.id] = None
            return None
        if member.id not in self._members:
            return None
        members = dict(self._members)
        info = members.pop(member.id)
        self._members = members
        self._publish()
        return Member(member.id, info)

    def clear(self) -> Members:
        """Forget every member and every kept event (the connection dropped or the channel
        was left)."""
        self._members = {}
        self._early = {}
        self.ready = False
        return self._publish()

    def _publish(self) -> Members:
        self.snapshot = Members(self._members, self._me_id)
        return self.snapshot


def _member(data: Any) -> Member | None:
    """The :class:`Member` a ``member_added``/``member_removed`` payload names, or None."""
    if not isinstance(data, Mapping) or data.get("user_id") is None:
        return None
    return Member(str(data["user_id"]), data.get("user_info"))
