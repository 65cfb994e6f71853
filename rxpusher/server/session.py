"""One client connection speaking Pusher protocol 7: what it may send and what it gets back.

Answers follow soketi, the reference Pusher-compatible server, where Pusher and soketi agree.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Protocol

from . import channels as names
from .frames import error, frame, json_data
from .hub import Hub
from .ratelimit import TokenBucket
from .signatures import channel_auth, matches, user_auth

log = logging.getLogger("rxpusher.server")

MAX_EVENT_NAME = 200
MAX_CLIENT_DATA_BYTES = 10240
_NAMING_RULES = ("The channel name is not allowed. Read channel conventions: https://pusher.com"
                 "/docs/channels/using_channels/channels/#channel-naming-conventions")


class Socket(Protocol):
    """The transport under a session."""

    def send_text(self, text: str) -> None:
        """Send one text frame."""

    def close(self, code: int, reason: str = "") -> None:
        """Close the connection with a WebSocket close code."""


class Session:
    """The Pusher side of one WebSocket connection, registered in the hub while open."""

    def __init__(self, hub: Hub, socket: Socket, socket_id: str,
                 clock: Callable[[], float]) -> None:
        self.socket_id = socket_id
        self.user_id: str | None = None
        self._hub = hub
        self._socket = socket
        self._client_events = TokenBucket(hub.app.client_events_per_second, clock)
        self._handlers: dict[str, Callable[[object], None]] = {
            "pusher:ping": self._ping,
            "pusher:subscribe": self._subscribe,
            "pusher:unsubscribe": self._unsubscribe,
            "pusher:signin": self._signin,
        }

    def send_text(self, text: str) -> None:
        """Send one frame to this client."""
        self._socket.send_text(text)

    def open(self) -> None:
        """Register in the hub and send ``pusher:connection_established``."""
        self._hub.connect(self)
        self.send_text(frame("pusher:connection_established", json_data({
            "socket_id": self.socket_id,
            "activity_timeout": self._hub.app.activity_timeout,
        })))

    def closed(self) -> None:
        """Leave every channel and unregister; the connection is gone."""
        self._hub.disconnect(self, self.user_id)

    def handle(self, text: str) -> None:
        """Act on one frame from the client; frames that are not JSON objects are ignored."""
        try:
            message = json.loads(text)
        except ValueError:
            log.debug("ignoring a frame that is not JSON: %r", text)
            return
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            log.debug("ignoring a frame without an event: %r", text)
            return
        event: str = message["event"]
        handler = self._handlers.get(event)
        if handler is not None:
            handler(_decoded(message.get("data")))
        elif event.startswith("client-"):
            self._client_event(event, message.get("channel"), message.get("data"))
        else:
            log.debug("ignoring unknown event %r", event)

    def _ping(self, _data: object) -> None:
        self.send_text(frame("pusher:pong", {}))

    def _subscribe(self, data: object) -> None:
        request = data if isinstance(data, dict) else {}
        channel = request.get("channel")
        if not isinstance(channel, str) or not channel:
            self.send_text(error(None, "pusher:subscribe needs a channel name."))
            return
        if len(channel) > names.MAX_NAME_LENGTH:
            self._refuse(channel, 4009, "LimitReached", "The channel name is longer than "
                         f"the allowed {names.MAX_NAME_LENGTH} characters.")
            return
        if not names.is_valid_name(channel):
            self._refuse(channel, 4009, None, _NAMING_RULES)
            return
        target_user = names.server_to_user_id(channel)
        if target_user is not None:
            if target_user != self.user_id:
                self._refuse(channel, 401, "AuthError", "The connection is unauthorized.")
                return
            self._succeeded(channel, "{}")
            return
        channel_data = request.get("channel_data")
        if names.is_private(channel):
            signed = channel_data if names.is_presence(channel) else None
            if signed is not None and not isinstance(signed, str):
                self._refuse(channel, 401, "AuthError", "channel_data must be a string.")
                return
            expected = channel_auth(self._hub.app.key, self._hub.app.secret, self.socket_id,
                                    channel, signed)
            if not matches(expected, request.get("auth")):
                self._refuse(channel, 401, "AuthError", "The connection is unauthorized.")
                return
        if names.is_presence(channel):
            member = _member(channel_data)
            if member is None:
                self._refuse(channel, 401, "AuthError",
                             "channel_data must be a JSON object with a user_id.")
                return
            self._succeeded(channel, self._hub.join_presence(self, channel, *member))
        else:
            self._succeeded(channel, "{}")
            self._hub.join(self, channel)
        if names.is_cache(channel):
            self.send_text(self._hub.cached_frame(channel))

    def _succeeded(self, channel: str, data: str) -> None:
        self.send_text(frame("pusher_internal:subscription_succeeded", data, channel=channel))

    def _refuse(self, channel: str, status: int, kind: str | None, message: str) -> None:
        log.info("%s refused a subscription to %r: %s %s", self.socket_id, channel, status,
                 message)
        details: dict[str, object] = {"error": message, "status": status}
        if kind is not None:
            details = {"type": kind, **details}
        self.send_text(frame("pusher:subscription_error", details, channel=channel))

    def _unsubscribe(self, data: object) -> None:
        channel = data.get("channel") if isinstance(data, dict) else None
        if isinstance(channel, str):
            self._hub.leave(self, channel)

    def _client_event(self, event: str, channel: object, data: object) -> None:
        if not isinstance(channel, str) or not names.allows_client_events(channel):
            self.send_text(error(None, "Client event rejected - only supported on private and "
                                       "presence channels"))
            return
        if not self._hub.is_subscribed(self, channel):
            self.send_text(error(None, "Client event rejected - you must be subscribed to the "
                                       "channel", channel=channel))
            return
        if len(event) > MAX_EVENT_NAME:
            self.send_text(error(4301, "Event name is too long. Maximum allowed size is "
                                       f"{MAX_EVENT_NAME}.", channel=channel))
            return
        if len(json.dumps(data).encode()) > MAX_CLIENT_DATA_BYTES:
            self.send_text(error(4301, "The event data should be less than "
                                       f"{MAX_CLIENT_DATA_BYTES // 1024} KB.", channel=channel))
            return
        if not self._client_events.take():
            self.send_text(error(4301, "The rate limit for sending client events exceeded the "
                                       "quota.", channel=channel))
            return
        log.info("client event %r on %s from %s", event, channel, self.socket_id)
        self._hub.publish(channel, event, data, exclude=self.socket_id,
                          user_id=self._hub.presence_user(self, channel))

    def _signin(self, data: object) -> None:
        request = data if isinstance(data, dict) else {}
        user_data = request.get("user_data")
        if not isinstance(user_data, str) or not matches(
                user_auth(self._hub.app.key, self._hub.app.secret, self.socket_id, user_data),
                request.get("auth")):
            self._unauthorized("Connection not authorized.")
            return
        try:
            user = json.loads(user_data)
        except ValueError:
            user = None
        user_id = user.get("id") if isinstance(user, dict) else None
        if user_id in (None, ""):
            self._unauthorized('The returned user data must contain the "id" field.')
            return
        if self.user_id is not None:
            self._hub.sign_out(self, self.user_id)
        self.user_id = str(user_id)
        watchlist = user.get("watchlist") if isinstance(user, dict) else None
        self.send_text(frame("pusher:signin_success", request))
        self._hub.sign_in(self, self.user_id,
                          watchlist if isinstance(watchlist, list) else ())

    def _unauthorized(self, message: str) -> None:
        self.send_text(error(4009, message))
        self._socket.close(4009, message)


def _decoded(data: object) -> object:
    """The ``data`` of a ``pusher:*`` event; some clients send it as a JSON string."""
    if isinstance(data, str):
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data


def _member(channel_data: object) -> tuple[str, object] | None:
    """``(user_id, user_info)`` from presence ``channel_data``, None when it is malformed."""
    try:
        member = json.loads(channel_data) if isinstance(channel_data, str) else None
    except ValueError:
        return None
    if not isinstance(member, dict) or member.get("user_id") in (None, ""):
        return None
    return str(member["user_id"]), member.get("user_info")
