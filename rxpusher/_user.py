"""The signed-in user: ``pusher.user`` (see ``Pusher.signin``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from reactivex import Observable, abc

from ._protocol import Event
from ._router import ANY_EVENT, USER, observable

if TYPE_CHECKING:
    from ._session import ClientSession

__all__ = ["User"]


class User:
    """The signed-in user of a connection.

    After ``pusher.signin()`` the client signs in on every (re)connection; ``events(name)``
    carries what the server sends to this user (``#server-to-user-{id}``, for the signed-in
    id only), ``watchlist`` the online/offline events of the user's watchlist.
    """

    __slots__ = ("_session",)

    def __init__(self, session: ClientSession) -> None:
        self._session = session

    @property
    def id(self) -> str | None:
        """The signed-in user id, or None."""
        return self._session.user_id

    @property
    def user_data(self) -> dict[str, Any] | None:
        """The user data the server accepted at sign-in, or None."""
        return self._session.user_data

    @property
    def signed_in(self) -> bool:
        """True once the server accepted the sign-in on the current connection."""
        return self._session.user_id is not None

    def wait_signed_in(self, timeout: float | None = None) -> None:
        """Block until the server accepted the sign-in on the current connection (at once if
        it has). Does not sign in: call ``pusher.signin()`` first.

        Raises the :class:`AuthenticationError` of a failed sign-in (the user authorizer's
        HTTP status, or the server's refusal: ``status`` None), :class:`ClosedError` after
        ``close()``, and ``TimeoutError`` after ``timeout`` seconds."""
        from ._session import wait_signed_in  # the shell imports nothing of the facade

        wait_signed_in(self._session, timeout)

    @overload
    def events(self, name: None = None) -> Observable[Event]: ...

    @overload
    def events(self, name: str) -> Observable[Any]: ...

    def events(self, name: str | None = None) -> Observable[Any]:
        """Data of every ``name`` event sent to this user, or every :class:`Event` when
        ``name`` is None. Survives reconnects; completes on ``close()``.

        ``events("pusher:signin_error")`` (pusher-js 8.6): one
        ``{"type": "AuthError", "error": message, "status": status}`` per failed sign-in,
        ``status`` being the user authorizer's HTTP status (0: network failure) or None for
        a refusal by the server."""
        session = self._session
        key = ANY_EVENT if name is None else name
        return observable(lambda observer: session.attach(
            USER, key, observer, project=name is not None, terminates=False))

    @property
    def watchlist(self) -> Observable[dict[str, Any]]:
        """``{"name": "online" | "offline", "user_ids": [...]}`` for each watchlist event."""
        session = self._session
        return observable(lambda observer: session.observe_hub("watchlist", observer))
