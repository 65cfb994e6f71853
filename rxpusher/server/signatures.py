"""HMAC-SHA256 signatures of Pusher Channels: channel and user auth, HTTP API requests."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def sign(secret: str, text: str) -> str:
    """Hex HMAC-SHA256 of ``text`` keyed with ``secret``."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def channel_auth(key: str, secret: str, socket_id: str, channel: str,
                 channel_data: str | None = None) -> str:
    """The ``auth`` value a subscription to a private or presence channel must carry."""
    text = f"{socket_id}:{channel}" if channel_data is None else (
        f"{socket_id}:{channel}:{channel_data}")
    return f"{key}:{sign(secret, text)}"


def user_auth(key: str, secret: str, socket_id: str, user_data: str) -> str:
    """The ``auth`` value a ``pusher:signin`` must carry."""
    return f"{key}:{sign(secret, f'{socket_id}::user::{user_data}')}"


def matches(expected: str, given: object) -> bool:
    """Constant-time comparison of a computed signature with an untrusted value."""
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def request_signature(secret: str, method: str, path: str, query: Mapping[str, str]) -> str:
    """Signature of an HTTP API request: HMAC of ``METHOD\\nPATH\\nsorted query``.

    ``query`` holds the decoded query parameters; ``auth_signature`` is left out.
    """
    ordered = "&".join(f"{name}={query[name]}" for name in sorted(query)
                       if name != "auth_signature")
    return sign(secret, f"{method}\n{path}\n{ordered}")


def body_md5(body: bytes) -> str:
    """Hex MD5 of a request body, as sent in ``body_md5``."""
    return hashlib.md5(body).hexdigest()
