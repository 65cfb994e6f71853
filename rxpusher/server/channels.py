"""Channel naming rules of Pusher Channels: which kind a name denotes, which names are valid."""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 200
SERVER_TO_USER_PREFIX = "#server-to-user-"
_VALID_NAME = re.compile(r"#?[-a-zA-Z0-9_=@,.;]+")


def is_presence(channel: str) -> bool:
    """``presence-*``: authorized, with member bookkeeping."""
    return channel.startswith("presence-")


def is_private(channel: str) -> bool:
    """Channels whose subscription needs a signature (private, encrypted and presence)."""
    return channel.startswith(("private-", "presence-"))


def is_cache(channel: str) -> bool:
    """Cache channels, which remember their last event (``cache-``, ``private-cache-``, ...)."""
    return channel.startswith(
        ("cache-", "private-cache-", "private-encrypted-cache-", "presence-cache-"))


def allows_client_events(channel: str) -> bool:
    """Client events are accepted on private and presence channels, encrypted ones excluded."""
    return is_private(channel) and not channel.startswith("private-encrypted-")


def server_to_user_id(channel: str) -> str | None:
    """The user id of a ``#server-to-user-{id}`` channel, else None."""
    if channel.startswith(SERVER_TO_USER_PREFIX):
        return channel[len(SERVER_TO_USER_PREFIX):]
    return None


def is_valid_name(channel: object) -> bool:
    """A channel name made of the characters Pusher allows, at most 200 long."""
    return (isinstance(channel, str) and len(channel) <= MAX_NAME_LENGTH
            and _VALID_NAME.fullmatch(channel) is not None)
