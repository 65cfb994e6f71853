"""Encoding of the JSON frames the server sends."""

from __future__ import annotations

import json


def frame(event: str, data: object = None, *, channel: str | None = None,
          user_id: str | None = None) -> str:
    """A text frame ``{"event", "channel"?, "data"?, "user_id"?}``; None fields are left out.

    ``data`` is sent as given: callers pass a JSON string where Pusher sends one.
    """
    message: dict[str, object] = {"event": event}
    if channel is not None:
        message["channel"] = channel
    if data is not None:
        message["data"] = data
    if user_id is not None:
        message["user_id"] = user_id
    return json.dumps(message, separators=(",", ":"))


def error(code: int | None, message: str, *, channel: str | None = None) -> str:
    """A ``pusher:error`` frame."""
    return frame("pusher:error", {"code": code, "message": message}, channel=channel)


def json_data(value: object) -> str:
    """``value`` as the JSON string Pusher puts in the ``data`` of its own events."""
    return json.dumps(value, separators=(",", ":"))
