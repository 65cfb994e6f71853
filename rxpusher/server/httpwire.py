"""Just enough HTTP/1.1 for the REST API: request heads, bodies, JSON responses."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers

MAX_BODY = 1 << 20


@dataclass(frozen=True)
class HttpRequest:
    """A parsed request head: method, raw path, decoded query, headers."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers

    @property
    def is_websocket_upgrade(self) -> bool:
        """Whether the request asks to switch to the WebSocket protocol."""
        return self.headers.get("Upgrade", "").lower() == "websocket"

    @property
    def content_length(self) -> int | None:
        """The declared body length, None when absent or not a number."""
        value = self.headers.get("Content-Length", "0")
        return int(value) if value.isdigit() else None


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The bytes of a request head up to the blank line; None on EOF or an oversized head."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None


def parse_head(head: bytes) -> HttpRequest | None:
    """Parse a request head; None when it is not HTTP/1.x."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1."):
        return None
    headers = Headers()
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                return None
            headers[name.strip()] = value.strip()
    url = urlsplit(target)
    return HttpRequest(method, url.path, dict(parse_qsl(url.query, keep_blank_values=True)),
                       headers)


def write_json(writer: asyncio.StreamWriter, status: int, body: object) -> None:
    """Write a complete JSON response announcing ``Connection: close``."""
    payload = json.dumps(body).encode()
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n")
    writer.write(head.encode() + payload)
