"""Who is connected, who is subscribed to what, presence members, signed-in users, cache.

The hub is the only owner of this state. It lives on the server's event loop and is never
touched from another thread, so it needs no locks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .._chunks import CHUNK_LIMIT, chunked_name, split
from . import channels as names
from .app import App
from .frames import frame, json_data

# INFO: connections, subscriptions and events (``rxpusher serve -v``); never their data.
log = logging.getLogger("rxpusher.server")


class Peer(Protocol):
    """The side of a client connection the hub talks to."""

    @property
    def socket_id(self) -> str:
        """The id announced in ``pusher:connection_established``."""

    def send_text(self, text: str) -> None:
        """Queue one text frame to the client."""


@dataclass
class _Member:
    info: object
    socket_ids: set[str] = field(default_factory=set)


class Hub:
    """State of one app: connections, channels, presence members, users and cached events."""

    def __init__(self, app: App, clock: Callable[[], float]) -> None:
        self.app = app
        self._clock = clock
        self._peers: dict[str, Peer] = {}
        self._channels: dict[str, dict[str, Peer]] = {}
        self._presence: dict[str, dict[str, str]] = {}  # socket id -> channel -> user id
        self._members: dict[str, dict[str, _Member]] = {}  # channel -> user id -> member
        self._users: dict[str, dict[str, Peer]] = {}  # signed-in user id -> socket id -> peer
        self._watchlists: dict[str, tuple[Peer, tuple[str, ...]]] = {}  # socket id -> watched
        self._cache: dict[str, tuple[float, str, object]] = {}  # channel -> expiry, event, data

    # connections

    def connect(self, peer: Peer) -> None:
        """Register a connection that completed its handshake."""
        self._peers[peer.socket_id] = peer
        log.info("%s connected", peer.socket_id)

    def disconnect(self, peer: Peer, user_id: str | None) -> None:
        """Forget a closed connection: leave its channels (presence members too), sign it out."""
        for channel in [c for c, subs in self._channels.items() if peer.socket_id in subs]:
            self.leave(peer, channel)
        if user_id is not None:
            self.sign_out(peer, user_id)
        if self._peers.pop(peer.socket_id, None) is not None:
            log.info("%s disconnected", peer.socket_id)

    def peers(self) -> list[Peer]:
        """The open connections, oldest first."""
        return list(self._peers.values())

    def peer(self, socket_id: str) -> Peer | None:
        """The connection with this socket id, if open."""
        return self._peers.get(socket_id)

    def sign_in(self, peer: Peer, user_id: str, watchlist: Iterable[str] = ()) -> None:
        """Record that ``peer`` is signed in as ``user_id``, watching ``watchlist``.

        The peer is told which watched users are online now; when ``user_id`` comes online
        (its first connection), every peer watching it is told."""
        came_online = user_id not in self._users
        self._users.setdefault(user_id, {})[peer.socket_id] = peer
        watched = tuple(dict.fromkeys(str(w) for w in watchlist))
        if watched:
            self._watchlists[peer.socket_id] = (peer, watched)
            online = [w for w in watched if w in self._users]
            if online:
                peer.send_text(_watchlist_frame("online", online))
        if came_online:
            self._tell_watchers(user_id, "online")

    def sign_out(self, peer: Peer, user_id: str) -> None:
        """Forget that ``peer`` is signed in as ``user_id``; its watchers hear when the user's
        last connection goes."""
        self._watchlists.pop(peer.socket_id, None)
        sessions = self._users.get(user_id, {})
        sessions.pop(peer.socket_id, None)
        if not sessions:
            self._users.pop(user_id, None)
            self._tell_watchers(user_id, "offline")

    def _tell_watchers(self, user_id: str, name: str) -> None:
        text = _watchlist_frame(name, [user_id])
        for watcher, watched in list(self._watchlists.values()):
            if user_id in watched:
                watcher.send_text(text)

    def user_peers(self, user_id: str) -> list[Peer]:
        """The connections signed in as ``user_id``."""
        return list(self._users.get(user_id, {}).values())

    # subscriptions

    def is_subscribed(self, peer: Peer, channel: str) -> bool:
        """Whether ``peer`` is subscribed to ``channel``."""
        return peer.socket_id in self._channels.get(channel, {})

    def presence_user(self, peer: Peer, channel: str) -> str | None:
        """The user id ``peer`` joined presence ``channel`` as, if any."""
        return self._presence.get(peer.socket_id, {}).get(channel)

    def join(self, peer: Peer, channel: str) -> None:
        """Subscribe ``peer`` to a non-presence channel."""
        subscribers = self._channels.setdefault(channel, {})
        if peer.socket_id not in subscribers:
            subscribers[peer.socket_id] = peer
            log.info("%s subscribed to %s", peer.socket_id, channel)
            self._announce_count(channel)

    def join_presence(self, peer: Peer, channel: str, user_id: str, info: object) -> str:
        """Subscribe ``peer`` to a presence channel as ``user_id``.

        The first connection of a user announces ``pusher_internal:member_added`` to the
        others. Returns the ``data`` of the joiner's ``subscription_succeeded``.
        """
        previous = self._presence.get(peer.socket_id, {}).get(channel)
        if previous is not None and previous != user_id:
            self.leave(peer, channel)
        members = self._members.setdefault(channel, {})
        if user_id not in members:
            added = json_data({"user_id": user_id, "user_info": info})
            self._send(channel, frame("pusher_internal:member_added", added, channel=channel),
                       exclude=peer.socket_id)
            members[user_id] = _Member(info)
        members[user_id].socket_ids.add(peer.socket_id)
        self._presence.setdefault(peer.socket_id, {})[channel] = user_id
        self._channels.setdefault(channel, {})[peer.socket_id] = peer
        log.info("%s subscribed to %s as user %r", peer.socket_id, channel, user_id)
        return json_data({"presence": {
            "ids": list(members),
            "hash": {uid: member.info for uid, member in members.items()},
            "count": len(members),
        }})

    def leave(self, peer: Peer, channel: str) -> None:
        """Unsubscribe ``peer``; the last connection of a presence member removes it."""
        subscribers = self._channels.get(channel, {})
        if subscribers.pop(peer.socket_id, None) is None:
            return
        log.info("%s unsubscribed from %s", peer.socket_id, channel)
        if not subscribers:
            del self._channels[channel]
        user_id = self._presence.get(peer.socket_id, {}).pop(channel, None)
        if user_id is None:
            self._announce_count(channel)
            return
        if not self._presence[peer.socket_id]:
            del self._presence[peer.socket_id]
        members = self._members[channel]
        members[user_id].socket_ids.discard(peer.socket_id)
        if not members[user_id].socket_ids:
            del members[user_id]
            if not members:
                del self._members[channel]
            removed = json_data({"user_id": user_id})
            self._send(channel, frame("pusher_internal:member_removed", removed, channel=channel))

    def _announce_count(self, channel: str) -> None:
        if self.app.subscription_count and not names.is_presence(channel):
            count = json_data({"subscription_count": self.subscription_count(channel)})
            self._send(channel, frame("pusher_internal:subscription_count", count,
                                      channel=channel))

    # publishing

    def publish(self, channel: str, event: str, data: object, *, exclude: str | None = None,
                user_id: str | None = None) -> None:
        """Send an event to the subscribers of ``channel`` but ``exclude`` (a socket id).

        Events on ``#server-to-user-{id}`` go to the connections signed in as that user.
        """
        text = frame(event, data, channel=channel, user_id=user_id)
        target = names.server_to_user_id(channel)
        if target is None:
            self._send(channel, text, exclude=exclude)
            return
        for peer in self.user_peers(target):
            if peer.socket_id != exclude:
                peer.send_text(text)

    def trigger(self, channels: Iterable[str], event: str, data: object,
                socket_id: str | None = None) -> None:
        """Publish a server event (HTTP API) to channels; cache channels remember it."""
        for channel in channels:
            log.info("event %r on %s (HTTP API)", event, channel)
            self.publish(channel, event, data, exclude=socket_id)
            if names.is_cache(channel):
                self._cache[channel] = (self._clock() + self.app.cache_ttl, event, data)

    def trigger_chunked(self, channels: Iterable[str], event: str, data: str,
                        socket_id: str | None = None, limit: int = CHUNK_LIMIT) -> int:
        """Publish ``data`` (the JSON text of a payload) as Pusher's chunking recipe does:
        as it is when it fits ``limit`` bytes, else as ``chunked-<event>`` parts
        ``{"id", "index", "chunk", "final"}`` that clients put back together. Returns the
        number of events published per channel."""
        if len(data.encode()) <= limit:
            self.trigger(channels, event, data, socket_id)
            return 1
        channels = list(channels)
        parts = split(data, limit=limit)
        for part in parts:
            self.trigger(channels, chunked_name(event), json_data(part), socket_id)
        return len(parts)

    def cached_frame(self, channel: str) -> str:
        """The last event of a cache channel as a frame, or ``pusher:cache_miss``."""
        entry = self._cache.get(channel)
        if entry is None or entry[0] <= self._clock():
            self._cache.pop(channel, None)
            return frame("pusher:cache_miss", channel=channel)
        _, event, data = entry
        return frame(event, data, channel=channel)

    def _send(self, channel: str, text: str, exclude: str | None = None) -> None:
        for socket_id, peer in list(self._channels.get(channel, {}).items()):
            if socket_id != exclude:
                peer.send_text(text)

    # queries

    def occupied(self) -> dict[str, int]:
        """Channels with at least one subscriber -> number of subscribed connections."""
        return {channel: len(subs) for channel, subs in self._channels.items()}

    def subscription_count(self, channel: str) -> int:
        """Number of connections subscribed to ``channel``."""
        return len(self._channels.get(channel, {}))

    def members(self, channel: str) -> dict[str, object]:
        """Presence members of ``channel``: user id -> user info."""
        return {uid: member.info for uid, member in self._members.get(channel, {}).items()}


def _watchlist_frame(name: str, user_ids: list[str]) -> str:
    """``pusher_internal:watchlist_events`` telling that ``user_ids`` went ``name``."""
    return frame("pusher_internal:watchlist_events",
                 json_data({"events": [{"name": name, "user_ids": user_ids}]}))
