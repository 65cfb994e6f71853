"""User authentication (``pusher.signin()``), events sent to the user, and the watchlist."""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from . import protocol
from ._internal.host import ClientHost
from ._internal.hub import Hub, void
from .auth import UserAuthorization
from .exceptions import AuthenticationError
from .router import ANY_EVENT, Sink

__all__ = ["User"]

SIGNIN_SUCCESS = "pusher:signin_success"
WATCHLIST_EVENTS = "pusher_internal:watchlist_events"
USER_ROUTE = "#user"
"""Router key of the events sent to the signed-in user, whatever its id."""


class User:
    """The signed-in user of a connection: ``pusher.user``.

    After ``pusher.signin()`` the client signs in on every (re)connection;
    ``events(name)`` carries what the server sends to this user
    (``#server-to-user-{id}``), ``watchlist`` the online/offline events of the
    user's watchlist.
    """

    def __init__(self, host: ClientHost) -> None:
        self._host = host
        self._wanted = False
        self._generation = 0
        self.id: str | None = None
        self.user_data: dict[str, Any] | None = None
        self._watchlist: Hub[dict[str, Any]] = Hub(host.report)

    @property
    def signed_in(self) -> bool:
        """True once the server accepted the sign-in on the current connection."""
        return self.id is not None

    def events(self, name: str | None = None) -> Observable[Any]:
        """Data of every ``name`` event sent to this user, or every :class:`Event` when
        ``name`` is None. Survives reconnects; completes on ``close()``."""
        key: Hashable = ANY_EVENT if name is None else name

        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sink = Sink(observer, name is not None, terminates=False)
            self._host.router.add(USER_ROUTE, key, sink)
            return Disposable(lambda: void(self._host.router.remove(USER_ROUTE, key, sink)))

        return self._host.deliver_on(reactivex.create(subscribe))

    @property
    def watchlist(self) -> Observable[dict[str, Any]]:
        """``{"name": "online" | "offline", "user_ids": [...]}`` for each watchlist event."""
        return self._host.deliver_on(self._watchlist.observable)

    # ---- called by the client ------------------------------------------------------------

    def _signin(self) -> None:
        with self._host.lock:
            self._wanted = True
            socket_id = self._host.connection.socket_id
            if socket_id is not None and self.id is None:
                self._authenticate(socket_id)

    def _on_connected(self, socket_id: str) -> None:
        if self._wanted:
            self._authenticate(socket_id)

    def _on_connection_lost(self) -> None:
        self._generation += 1
        self.id = None

    def _authenticate(self, socket_id: str) -> None:
        self._generation += 1
        generation = self._generation
        self._host.authorizer.authenticate_user(
            socket_id, lambda outcome: self._on_authenticated(generation, socket_id, outcome)
        )

    def _on_authenticated(self, generation: int, socket_id: str, outcome: Any) -> None:
        with self._host.lock:
            if generation != self._generation or socket_id != self._host.connection.socket_id:
                return
            if isinstance(outcome, UserAuthorization):
                self._host.connection.send(
                    protocol.encode_frame(
                        protocol.SIGNIN, {"auth": outcome.auth, "user_data": outcome.user_data}
                    )
                )
                return
        self._host.report(outcome)

    def _on_signin_success(self, data: Any) -> None:
        raw = data.get("user_data") if isinstance(data, dict) else None
        try:
            user_data = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(user_data, dict):
                raise TypeError("user_data is not an object")
            user_id = str(user_data["id"])
        except (ValueError, TypeError, KeyError):
            self._host.report(AuthenticationError(None, f"sign-in answer without a user id: {data!r}"))
            return
        with self._host.lock:
            self.id = user_id
            self.user_data = user_data
            self._host.connection.send(
                protocol.encode_frame(
                    protocol.SUBSCRIBE, {"channel": protocol.SERVER_TO_USER_PREFIX + user_id}
                )
            )

    def _on_watchlist(self, data: Any) -> None:
        events = data.get("events") if isinstance(data, dict) else None
        for item in events or ():
            if isinstance(item, dict):
                self._watchlist.emit({"name": item.get("name"), "user_ids": list(item.get("user_ids") or ())})

    def _complete(self) -> None:
        self._watchlist.complete()
        self._host.router.end(self._host.router.drop(USER_ROUTE))
