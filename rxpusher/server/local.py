"""In-process use: the server on a free port, in a background thread with its own loop."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, Self, TypeVar

from .app import App
from .server import PusherServer

T = TypeVar("T")
_CALL_TIMEOUT = 10.0


class LocalServer:
    """A :class:`PusherServer` running in a daemon thread, driven from ordinary code.

    >>> with LocalServer() as server:                          # doctest: +SKIP
    ...     pusher = rxpusher.Pusher(server.key, **server.client_options())
    ...     server.trigger("prices", "new-price", {"price": 1})
    """

    def __init__(self, app_id: str = "1", key: str = "app-key", secret: str = "app-secret", *,
                 host: str = "127.0.0.1", port: int = 0, **settings: Any) -> None:
        """``settings`` are the other fields of :class:`App` (``subscription_count``, ...)."""
        self.app = App(app_id=app_id, key=key, secret=secret, **settings)
        self._server = PusherServer(self.app, host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Self:
        """Start the loop thread and listen; returns self once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="rxpusher-local-server",
                                  daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._run(self._server.start)
        except BaseException:
            self._end_loop()
            raise
        return self

    def stop(self) -> None:
        """Close every connection, stop listening and end the thread. Idempotent."""
        if self._thread is None:
            return
        try:
            self._run(self._server.stop)
        finally:
            self._end_loop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # where to connect

    @property
    def app_id(self) -> str:
        """The app id of the HTTP API paths."""
        return self.app.app_id

    @property
    def key(self) -> str:
        """The app key clients connect with."""
        return self.app.key

    @property
    def secret(self) -> str:
        """The app secret that signs subscriptions and API requests."""
        return self.app.secret

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._server.host

    @property
    def port(self) -> int:
        """The port of both the WebSocket endpoint and the HTTP API."""
        return self._server.port

    @property
    def ws_url(self) -> str:
        """The WebSocket URL of the app."""
        return f"ws://{self.host}:{self.port}/app/{self.key}"

    def client_options(self) -> dict[str, Any]:
        """Options for ``rxpusher.Pusher(server.key, **server.client_options())``."""
        return {"host": self.host, "ws_port": self.port, "use_tls": False}

    def sdk_options(self) -> dict[str, Any]:
        """Options for the official server SDK: ``pusher.Pusher(**server.sdk_options())``."""
        return {"app_id": self.app_id, "key": self.key, "secret": self.secret,
                "host": self.host, "port": self.port, "ssl": False}

    # driving it

    def trigger(self, channels: str | Iterable[str], event: str, data: object,
                socket_id: str | None = None, *, chunked: bool = False) -> None:
        """Publish an event as the HTTP API would; non-string data is sent as JSON.

        ``chunked=True``: a payload larger than Pusher's 10 KB limit goes out as
        ``chunked-<event>`` parts (Pusher's chunking recipe), which rxpusher clients deliver
        as ``event`` once they have every part (and pusher-js with ``bindWithChunking``)."""
        names = [channels] if isinstance(channels, str) else list(channels)
        payload = data if isinstance(data, str) else json.dumps(data)
        self._call(lambda: self._server.trigger(names, event, payload, socket_id,
                                                chunked=chunked))

    def socket_ids(self) -> list[str]:
        """Socket ids of the open WebSocket connections."""
        return self._call(self._server.socket_ids)

    def channels(self) -> dict[str, int]:
        """Occupied channels -> number of subscribed connections."""
        return self._call(self._server.hub.occupied)

    def members(self, channel: str) -> dict[str, object]:
        """Presence members of ``channel``: user id -> user info."""
        return self._call(lambda: self._server.hub.members(channel))

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Return once ``condition()`` holds (checked every 10 ms); TimeoutError after
        ``timeout`` seconds. Use it to await server-side effects without sleeping."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(0.01)

    # faults

    def close_connections(self, code: int = 4200, reason: str = "",
                          socket_id: str | None = None) -> int:
        """Close one connection (or all) with ``code``; returns how many were closed."""
        return self._call(lambda: self._server.close_connections(code, reason, socket_id))

    def stop_answering(self, socket_id: str | None = None) -> int:
        """Silence one open connection (or all) so its client hits the pong timeout."""
        return self._call(lambda: self._server.stop_answering(socket_id))

    def refuse_connections(self, seconds: float) -> None:
        """Refuse WebSocket connections (HTTP 503) for the next ``seconds``."""
        self._call(lambda: self._server.refuse_connections(seconds))

    def restart(self, downtime: float = 0.0) -> None:
        """Drop every connection, stay down ``downtime`` seconds, listen again on the same
        port. Returns once the server accepts connections again."""
        self._run(lambda: self._server.restart(downtime), _CALL_TIMEOUT + downtime)

    # the loop thread

    def _call(self, function: Callable[[], T]) -> T:
        async def call() -> T:
            return function()
        return self._run(call)

    def _run(self, coroutine: Callable[[], Coroutine[Any, Any, T]],
             timeout: float = _CALL_TIMEOUT) -> T:
        if self._loop is None:
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(coroutine(), self._loop).result(timeout)

    def _end_loop(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._run(_cancel_other_tasks)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop, self._thread = None, None


async def _cancel_other_tasks() -> None:
    """Cancel whatever still runs on the loop (a call interrupted by a timeout) and let it end,
    so that closing the loop destroys no pending task."""
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()
