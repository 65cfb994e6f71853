"""The HTTP API of Pusher Channels: trigger events, query channels and presence users.

Requests are signed the way the official server SDKs sign them; answers follow soketi
(JSON ``{"error", "code"}`` bodies for 4xx, ``{"ok": true}`` for events).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from . import channels as names
from .httpwire import HttpRequest
from .hub import Hub
from .signatures import body_md5, matches, request_signature

MAX_CHANNELS = 100
MAX_BATCH = 10
MAX_EVENT_NAME = 200
MAX_DATA_BYTES = 10240
TIMESTAMP_GRACE = 600
_SOCKET_ID = re.compile(r"\d+\.\d+")
_INFO_ATTRIBUTES = {"user_count", "subscription_count"}
_ROUTES = [
    ("POST", re.compile(r"/apps/([^/]+)/events"), "_events"),
    ("POST", re.compile(r"/apps/([^/]+)/batch_events"), "_batch_events"),
    ("GET", re.compile(r"/apps/([^/]+)/channels"), "_channels"),
    ("GET", re.compile(r"/apps/([^/]+)/channels/([^/]+)"), "_channel"),
    ("GET", re.compile(r"/apps/([^/]+)/channels/([^/]+)/users"), "_users"),
]


@dataclass(frozen=True)
class Answer:
    """An HTTP status and its JSON body."""

    status: int
    body: object


class ApiError(Exception):
    """A request the API refuses, with the status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.answer = Answer(status, {"error": message, "code": status})


@dataclass(frozen=True)
class _Event:
    channels: list[str]
    name: str
    data: object
    socket_id: str | None


class HttpApi:
    """Answers the REST requests of one app against the state in ``hub``."""

    def __init__(self, hub: Hub, wall_clock: Callable[[], float]) -> None:
        self._hub = hub
        self._wall_clock = wall_clock

    def handle(self, request: HttpRequest, body: bytes) -> Answer:
        """Route, authenticate and answer one request."""
        try:
            for method, pattern, handler in _ROUTES:
                match = pattern.fullmatch(request.path)
                if match is None or method != request.method:
                    continue
                app_id, *rest = match.groups()
                if app_id != self._hub.app.app_id:
                    raise ApiError(404, f"The app {app_id} could not be found.")
                self._authenticate(request, body)
                answer: Answer = getattr(self, handler)(request, body, *map(unquote, rest))
                return answer
            raise ApiError(404, f"{request.method} {request.path} is not an API endpoint.")
        except ApiError as refusal:
            return refusal.answer

    def _authenticate(self, request: HttpRequest, body: bytes) -> None:
        query, app = request.query, self._hub.app
        if query.get("auth_key") != app.key:
            raise ApiError(401, "Unknown auth_key.")
        timestamp = query.get("auth_timestamp", "")
        if not timestamp.isdigit() or abs(self._wall_clock() - int(timestamp)) > TIMESTAMP_GRACE:
            raise ApiError(401, "The auth_timestamp is missing or expired.")
        if (body or "body_md5" in query) and query.get("body_md5") != body_md5(body):
            raise ApiError(401, "The body_md5 does not match the body.")
        expected = request_signature(app.secret, request.method, request.path, query)
        if not matches(expected, query.get("auth_signature")):
            raise ApiError(401, "The secret authentication failed")

    # events

    def _events(self, _request: HttpRequest, body: bytes) -> Answer:
        event = _parse_event(_json_object(body))
        self._hub.trigger(event.channels, event.name, event.data, event.socket_id)
        return Answer(200, {"ok": True})

    def _batch_events(self, _request: HttpRequest, body: bytes) -> Answer:
        batch = _json_object(body).get("batch")
        if not isinstance(batch, list):
            raise ApiError(400, "The received data is incorrect.")
        if len(batch) > MAX_BATCH:
            raise ApiError(400, f"Cannot batch-send more than {MAX_BATCH} messages at once")
        events = [_parse_event(item) for item in batch]
        for event in events:
            self._hub.trigger(event.channels, event.name, event.data, event.socket_id)
        return Answer(200, {"ok": True})

    # queries

    def _channels(self, request: HttpRequest, _body: bytes) -> Answer:
        prefix = request.query.get("filter_by_prefix", "")
        info = _info(request)
        if "user_count" in info and not names.is_presence(prefix):
            raise ApiError(400, "user_count may only be requested with filter_by_prefix=presence-")
        found: dict[str, dict[str, object]] = {}
        for channel, count in sorted(self._hub.occupied().items()):
            if channel.startswith(prefix):
                found[channel] = {"subscription_count": count, "occupied": True}
                if "user_count" in info:
                    found[channel]["user_count"] = len(self._hub.members(channel))
        return Answer(200, {"channels": found})

    def _channel(self, request: HttpRequest, _body: bytes, channel: str) -> Answer:
        _check_channel(channel)
        if "user_count" in _info(request) and not names.is_presence(channel):
            raise ApiError(400, "user_count may only be requested for presence channels")
        count = self._hub.subscription_count(channel)
        answer: dict[str, object] = {"occupied": count > 0, "subscription_count": count}
        if names.is_presence(channel):
            answer["user_count"] = len(self._hub.members(channel))
        return Answer(200, answer)

    def _users(self, _request: HttpRequest, _body: bytes, channel: str) -> Answer:
        _check_channel(channel)
        if not names.is_presence(channel):
            raise ApiError(400, "The channel must be a presence channel.")
        return Answer(200, {"users": [{"id": uid} for uid in self._hub.members(channel)]})


def _json_object(body: bytes) -> dict[str, object]:
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        raise ApiError(400, "The received data is incorrect.")
    return decoded


def _parse_event(message: object) -> _Event:
    if not isinstance(message, dict):
        raise ApiError(400, "The received data is incorrect.")
    name, data, socket_id = message.get("name"), message.get("data"), message.get("socket_id")
    channels = message.get("channels", [message["channel"]] if "channel" in message else None)
    if (not isinstance(name, str) or not name or data is None or not isinstance(channels, list)
            or not channels):
        raise ApiError(400, "The received data is incorrect.")
    if len(channels) > MAX_CHANNELS:
        raise ApiError(400, f"Cannot broadcast to more than {MAX_CHANNELS} channels at once")
    for channel in channels:
        _check_channel(channel)
    if len(name) > MAX_EVENT_NAME:
        raise ApiError(400, f"Event name is too long. Maximum allowed size is {MAX_EVENT_NAME}.")
    size = len((data if isinstance(data, str) else json.dumps(data)).encode())
    if size > MAX_DATA_BYTES:
        raise ApiError(413, f"The event data should be less than {MAX_DATA_BYTES // 1024} KB.")
    if socket_id is not None and not (isinstance(socket_id, str)
                                      and _SOCKET_ID.fullmatch(socket_id)):
        raise ApiError(400, f"Invalid socket_id: {socket_id!r}")
    return _Event(channels, name, data, socket_id)


def _check_channel(channel: object) -> None:
    if not names.is_valid_name(channel):
        raise ApiError(400, f"Invalid channel name: {channel!r}")


def _info(request: HttpRequest) -> set[str]:
    info = {name for name in request.query.get("info", "").split(",") if name}
    unknown = info - _INFO_ATTRIBUTES
    if unknown:
        raise ApiError(400, f"Unknown info attributes: {', '.join(sorted(unknown))}")
    return info
