"""A raw Pusher protocol client over websocket-client, for asserting exact server frames."""

from __future__ import annotations

import json
from typing import Any

import pusher
import websocket

Frame = dict[str, Any]


class RawClient:
    """One WebSocket connection to a Pusher server, read frame by frame."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.ws = websocket.create_connection(url, timeout=timeout)
        established = self.next()
        assert established["event"] == "pusher:connection_established", established
        self.handshake: dict[str, Any] = json.loads(established["data"])
        self.socket_id: str = self.handshake["socket_id"]

    def send(self, event: str, data: object = None, channel: str | None = None) -> None:
        """Send one frame."""
        frame: Frame = {"event": event, "data": {} if data is None else data}
        if channel is not None:
            frame["channel"] = channel
        self.ws.send(json.dumps(frame))

    def next(self) -> Frame:
        """The next frame, whatever it is."""
        frame: Frame = json.loads(self.ws.recv())
        return frame

    def expect(self, event: str, channel: str | None = None) -> Frame:
        """The next frame, which must be ``event`` (on ``channel`` when given)."""
        frame = self.next()
        assert frame["event"] == event, frame
        if channel is not None:
            assert frame.get("channel") == channel, frame
        return frame

    def sync(self) -> list[Frame]:
        """Ping and return every frame that arrived before the pong.

        The server handles each connection's frames in order and sends synchronously, so
        anything it meant to send this client earlier is in the returned list.
        """
        self.send("pusher:ping")
        frames = []
        while (frame := self.next())["event"] != "pusher:pong":
            frames.append(frame)
        return frames

    def subscribe(self, channel: str, sdk: pusher.Pusher | None = None,
                  user: dict[str, Any] | None = None) -> Frame:
        """Subscribe, signed with the official SDK when ``sdk`` is given (``user`` for presence
        channel data); returns the server's answer."""
        data: dict[str, Any] = {"channel": channel}
        if sdk is not None:
            signed = sdk.authenticate(channel=channel, socket_id=self.socket_id,
                                      custom_data=user)
            data.update({name: signed[name] for name in ("auth", "channel_data")
                         if name in signed})
        self.send("pusher:subscribe", data)
        return self.next()

    def close(self) -> None:
        """Close the connection and its socket (no error if already closed)."""
        try:
            self.ws.close(timeout=1)
        finally:
            self.ws.shutdown()
