"""The asyncio server: one TCP port for the WebSocket endpoint and the HTTP API, plus faults."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Iterable
from contextlib import aclosing, suppress
from urllib.parse import unquote

from . import websocket
from .app import App
from .frames import error
from .http_api import HttpApi
from .httpwire import MAX_BODY, HttpRequest, parse_head, read_head, write_json
from .hub import Hub
from .session import Session

log = logging.getLogger("rxpusher.server")

_APP_PATH = re.compile(r".*/app/([^/]+)")
_SHUTDOWN = 4200


class PusherServer:
    """A Pusher Channels protocol 7 server for one app, running on the current event loop.

    ``ws://host:port/app/{key}`` is the WebSocket endpoint, ``http://host:port/apps/{id}/...``
    the HTTP API. The fault methods (:meth:`close_connections`, :meth:`stop_answering`,
    :meth:`refuse_connections`, :meth:`restart`) let tests break things on purpose.
    """

    def __init__(self, app: App | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app or App()
        self.host = host
        self.port = port
        self._hub = Hub(self.app, time.monotonic)
        self._api = HttpApi(self._hub, time.time)
        self._listener: asyncio.Server | None = None
        self._streams: dict[str, websocket.WebSocketStream] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._refuse_until = 0.0

    @property
    def hub(self) -> Hub:
        """The state of the app: connections, channels, members (read it, don't change it)."""
        return self._hub

    async def start(self) -> None:
        """Listen on ``host:port``; port 0 picks a free one, stored in :attr:`port`."""
        self._listener = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._listener.sockets[0].getsockname()[1]
        log.info("Pusher server for app %s listening on %s:%d", self.app.app_id,
                 self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close every connection as soketi does (4200), then wait for them."""
        await self._shutdown(graceful=True)

    async def restart(self, downtime: float = 0.0) -> None:
        """Crash and come back on the same port: connections are dropped without a closing
        handshake, new ones are refused for ``downtime`` seconds."""
        await self._shutdown(graceful=False)
        await asyncio.sleep(downtime)
        await self.start()

    def trigger(self, channels: Iterable[str], event: str, data: object,
                socket_id: str | None = None, *, chunked: bool = False) -> None:
        """Publish a server event as the HTTP API would. With ``chunked=True``, ``data`` (a
        JSON string) larger than Pusher's 10 KB limit goes out as ``chunked-<event>`` parts,
        as Pusher's chunking recipe sends them."""
        if chunked:
            if not isinstance(data, str):
                raise TypeError("chunked data must be the JSON text of the payload (a str)")
            self._hub.trigger_chunked(list(channels), event, data, socket_id)
        else:
            self._hub.trigger(list(channels), event, data, socket_id)

    def socket_ids(self) -> list[str]:
        """Socket ids of the open WebSocket connections, oldest first."""
        return list(self._streams)

    # faults

    def close_connections(self, code: int = _SHUTDOWN, reason: str = "",
                          socket_id: str | None = None) -> int:
        """Close one connection (or all) with a WebSocket close code; returns how many."""
        streams = self._select(socket_id)
        for stream in streams:
            stream.close(code, reason)
        return len(streams)

    def stop_answering(self, socket_id: str | None = None) -> int:
        """Make one open connection (or all) silent: no pongs, no events, nothing.

        Clients then hit their pong timeout. Connections opened later are not affected.
        """
        streams = self._select(socket_id)
        for stream in streams:
            stream.mute()
        return len(streams)

    def refuse_connections(self, seconds: float) -> None:
        """Answer WebSocket upgrades with HTTP 503 for the next ``seconds``."""
        self._refuse_until = asyncio.get_running_loop().time() + seconds

    def _select(self, socket_id: str | None) -> list[websocket.WebSocketStream]:
        if socket_id is None:
            return list(self._streams.values())
        stream = self._streams.get(socket_id)
        return [] if stream is None else [stream]

    # connections

    async def _shutdown(self, graceful: bool) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for stream in list(self._streams.values()):
            if graceful and not stream.muted:
                stream.send_text(error(_SHUTDOWN, "Server closed. Please reconnect shortly."))
                stream.close(_SHUTDOWN, "Server closed")
            else:
                stream.abort()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=websocket.CLOSE_TIMEOUT + 1)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await read_head(reader)
            request = parse_head(head) if head is not None else None
            if head is None or request is None:
                return
            if request.is_websocket_upgrade:
                await self._websocket(head, request, reader, writer)
            else:
                await self._http(request, reader, writer)
        finally:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _http(self, request: HttpRequest, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        length = request.content_length
        if length is None or length > MAX_BODY:
            write_json(writer, 413, {"error": "The payload size is too big.", "code": 413})
            return
        try:
            body = await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        answer = self._api.handle(request, body)
        log.debug("%s %s -> %d", request.method, request.path, answer.status)
        write_json(writer, answer.status, answer.body)

    async def _websocket(self, head: bytes, request: HttpRequest,
                         reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if asyncio.get_running_loop().time() < self._refuse_until:
            websocket.reject(head, writer, 503, "Not accepting connections for now.\n")
            return
        match = _APP_PATH.fullmatch(request.path)
        if match is None:
            websocket.reject(head, writer, 404, "The WebSocket endpoint is /app/{key}.\n")
            return
        stream = websocket.accept(head, reader, writer)
        if stream is None:
            return
        socket_id = self._new_socket_id()
        self._streams[socket_id] = stream
        try:
            if unquote(match[1]) == self.app.key:
                await self._serve(stream, socket_id)
            else:
                stream.send_text(error(4001, f"App key {unquote(match[1])} does not exist."))
                stream.close(4001, "App key does not exist.")
                async with aclosing(stream.messages()) as messages:
                    async for _ in messages:
                        pass
        finally:
            del self._streams[socket_id]

    async def _serve(self, stream: websocket.WebSocketStream, socket_id: str) -> None:
        session = Session(self._hub, stream, socket_id, asyncio.get_running_loop().time)
        session.open()
        try:
            async with aclosing(stream.messages()) as messages:
                async for text in messages:
                    try:
                        session.handle(text)
                    except Exception:
                        log.exception("failed to handle %r from %s", text, socket_id)
        finally:
            session.closed()

    def _new_socket_id(self) -> str:
        while True:
            socket_id = f"{random.randint(0, 10**10)}.{random.randint(0, 10**10)}"
            if socket_id not in self._streams:
                return socket_id
