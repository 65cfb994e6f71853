"""The project's own server, ``rxpusher.server.LocalServer``, behind the ``Soketi`` interface.

``LocalPusherServer`` is configured like the tests' soketi (same app id, key and secret, no
client-event rate limit, activity timeout 30 s as soketi announces) so that every integration
test can run unchanged against either server. Its HTTP-API queries go through the official
``pusher`` SDK pointed at it, exactly as for soketi (see ``ServerHarness``).

Stopping mirrors soketi's two ways to die:

- ``stop(graceful=True)`` is soketi's SIGTERM: every socket gets ``pusher:error`` 4200 and a
  close frame with 4200 (``LocalServer.stop()``);
- ``stop(graceful=False)`` is soketi's SIGKILL: every TCP connection is dropped without a
  close frame (connections are muted first, and the server aborts muted connections instead
  of closing them).

``start()`` listens again on the same port.
"""

from __future__ import annotations

from typing import Any, Callable

from helpers.soketi_harness import HOST, ServerHarness, Soketi, port_is_open, wait_for


class LocalPusherServer(ServerHarness):
    """A ``rxpusher.server.LocalServer`` on loopback, restartable on the same port."""

    kind = "local"

    def __init__(
        self,
        *,
        app_id: str = "424242",
        key: str = "rxpusher-key",
        secret: str = "rxpusher-secret",
        port: int = 0,
        **settings: Any,
    ) -> None:
        from rxpusher.server import LocalServer

        # The tests' soketi has no client-event limit (SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC
        # = -1) and announces activity_timeout 30: do the same.
        settings.setdefault("client_events_per_second", 1e9)
        settings.setdefault("activity_timeout", 30)
        self.local = LocalServer(app_id, key, secret, host=HOST, port=port, **settings)
        self.host = HOST
        self.app_id = app_id
        self.key = key
        self.secret = secret
        self.starts = 0
        self._running = False
        self._sdk: Any = None

    @property
    def port(self) -> int:  # type: ignore[override]
        return self.local.port

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Listen (on the same port as before, once started) and accept connections."""
        if self._running:
            return
        if self.starts:
            wait_for(lambda: not port_is_open(self.port), 10, message=f"port {self.port} free")
        self.local.start()
        self._running = True
        self.starts += 1

    def stop(self, graceful: bool = True) -> None:
        """Stop listening and end every connection: with 4200 (``graceful``, like soketi on
        SIGTERM) or by dropping the TCP connections without a close frame (like SIGKILL)."""
        if not self._running:
            return
        try:
            if not graceful:
                # A muted connection is aborted, not closed, when the server stops.
                self.local.stop_answering()
            self.local.stop()
        finally:
            self._running = False
        wait_for(lambda: not port_is_open(self.port), 10, message=f"port {self.port} closed")


#: The servers every integration test runs against, by pytest id (``test_x[soketi]``).
SERVER_KINDS: dict[str, Callable[[], ServerHarness]] = {
    "soketi": Soketi,
    "local": LocalPusherServer,
}


def make_server(kind: str) -> ServerHarness:
    """A started server of ``kind`` (a key of ``SERVER_KINDS``)."""
    srv = SERVER_KINDS[kind]()
    srv.start()
    return srv
