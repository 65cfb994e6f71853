"""The signed-in user (pure): ``signin()`` and the server's ``pusher:signin_success``.

After ``signin()`` the user signs in on every connection: at once with local signing
(``secret`` + ``user_data``), else through an :class:`~rxpusher._core.effects.AuthorizeUser`
effect whose outcome comes back to :meth:`SignIn.authorized`.

A failed sign-in (the user authorization failed, the server's answer names no user, or the
server answered ``pusher:signin`` with ``pusher:error``, as servers without sign-in do) is
reported on ``errors`` and delivered to the user's streams as ``pusher:signin_error``
(pusher-js 8.6); ``wait_signed_in`` raises it (:meth:`SignIn.outcome`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _protocol as protocol
from .._exceptions import AuthenticationError
from .._protocol import Event, UserAuthorization, shorten
from .._router import USER
from .effects import AuthorizeUser, Changed, Report, Send

if TYPE_CHECKING:
    from .._auth import Authorizer


def signin_error(error: AuthenticationError) -> dict[str, Any]:
    """The data of ``pusher:signin_error`` for a failed sign-in, as pusher-js 8.6 emits it."""
    return {"type": "AuthError", "error": error.message, "status": error.status}


class SignIn:
    """Whether the user wants to be signed in, the sign-in in flight and the signed-in id."""

    def __init__(self, authorizer: Authorizer, out: list[Any],
                 deliver: Callable[[Event, Any, bool], Any]) -> None:
        self.authorizer = authorizer
        self.out = out
        self.deliver = deliver  # Subscriptions.deliver: a Deliver effect for a route
        self.error: AuthenticationError | None = None  # why the last sign-in failed
        self.sent = False  # a pusher:signin awaits its answer on this connection
        self.wanted = False
        self.user_id: str | None = None
        self.user_data: dict[str, Any] | None = None
        self.auth: int | None = None  # the token of the user authorization in flight
        self._tokens = 0

    def want(self, socket_id: str | None) -> None:
        """``signin()``: sign in now (when connected) and after every reconnect."""
        self.wanted = True
        if socket_id is not None and self.user_id is None and self.auth is None:
            self.authenticate(socket_id)

    def connected(self, socket_id: str) -> None:
        if self.wanted:
            self.authenticate(socket_id)

    def authenticate(self, socket_id: str) -> None:
        self.auth = None
        self.error = None
        if self.authorizer.user_is_local:
            try:
                authorization = self.authorizer.user(socket_id)
            except AuthenticationError as error:
                self.failed(error)
            else:
                self.send_signin(authorization)
            return
        self._tokens += 1
        self.auth = self._tokens
        self.out.append(AuthorizeUser(socket_id, self.auth))

    def authorized(self, socket_id: str, current_socket_id: str | None, token: int,
                   outcome: UserAuthorization | AuthenticationError) -> None:
        if self.auth != token or socket_id != current_socket_id:
            return
        self.auth = None
        if isinstance(outcome, AuthenticationError):
            self.failed(outcome)
        else:
            self.send_signin(outcome)

    def send_signin(self, authorization: UserAuthorization) -> None:
        self.sent = True
        self.out.append(Send(protocol.encode_frame(
            protocol.SIGNIN, {"auth": authorization.auth, "user_data": authorization.user_data})))

    def accepted(self, data: Any) -> bool:
        """``pusher:signin_success``: remember the user; False (reported) when the answer
        names no user id."""
        raw = data.get("user_data") if isinstance(data, dict) else None
        try:
            user_data = protocol.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(user_data, dict):
                raise TypeError("user_data is not an object")
            user_id = user_data["id"]
            if not isinstance(user_id, (str, int)) or isinstance(user_id, bool):
                raise TypeError("id is not a string")
        except (ValueError, TypeError, KeyError, RecursionError):
            self.failed(AuthenticationError(
                None, f"sign-in answer without a user id: {shorten(data)}"))
            return False
        self.sent = False
        self.error = None
        self.out.append(Changed)
        self.user_id = str(user_id)
        self.user_data = user_data
        self.out.append(Send(protocol.encode_frame(
            protocol.SUBSCRIBE, {"channel": protocol.SERVER_TO_USER_PREFIX + self.user_id})))
        return True

    def lost(self) -> None:
        """The connection dropped: signed out, nothing in flight."""
        self.auth = None
        self.user_id = None
        self.sent = False

    def refused(self, message: str) -> None:
        """The server sent ``pusher:error`` (not about a channel, not 4301): while a
        ``pusher:signin`` awaits its answer, that is the answer."""
        if self.sent and self.user_id is None:
            self.failed(AuthenticationError(None, f"the server refused the sign-in: {message}"))

    def failed(self, error: AuthenticationError) -> None:
        """The sign-in failed: ``errors``, ``pusher:signin_error``, and the waits raise it."""
        self.sent = False
        self.error = error
        self.out.append(Report(error))
        self.out.append(self.deliver(
            Event(protocol.SIGNIN_ERROR, None, signin_error(error)), USER, False))
        self.out.append(Changed)

    def outcome(self) -> bool | AuthenticationError:
        """For ``wait_signed_in``: True once accepted, the failure, or False (wait on)."""
        if self.user_id is not None:
            return True
        return self.error or False
