"""Channel authorization: local signing, an authorizer callable, or an HTTP endpoint.

They are tried in that order. Signing with ``secret`` is synchronous; the
callable and the endpoint run on a small worker pool, never on the reader
thread. Every failure becomes a :class:`SubscriptionError` for that channel.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import requests

from .exceptions import SubscriptionError
from .options import Options
from .protocol import ChannelKind, channel_kind

log = logging.getLogger("rxpusher")


class Authorization(NamedTuple):
    """What a ``pusher:subscribe`` needs: the signature and, for presence, channel data."""

    auth: str
    channel_data: str | None = None
    shared_secret: str | None = None


Outcome = Authorization | SubscriptionError
Callback = Callable[[Outcome], None]


def sign(secret: str, message: str) -> str:
    """Hex HMAC-SHA256 of ``message`` with ``secret``."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def needs_authorization(channel: str) -> bool:
    """True for private, private-encrypted and presence channels."""
    return channel_kind(channel) is not ChannelKind.PUBLIC


def encode_channel_data(channel_data: Mapping[str, Any]) -> str:
    """Presence channel data as sent and signed, with the user id as a string."""
    data = dict(channel_data)
    data["user_id"] = str(data["user_id"])
    return json.dumps(data, separators=(",", ":"))


class ChannelAuthorizer:
    """Produces an :class:`Authorization` (or a :class:`SubscriptionError`) for a channel."""

    def __init__(self, options: Options) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def authorize(self, channel: str, socket_id: str, callback: Callback) -> None:
        """Call ``callback`` with the outcome: now for local signing, later from a worker."""
        options = self._options
        if options.secret:
            callback(self._sign_locally(channel, socket_id))
        elif options.authorizer is not None:
            self._submit(callback, self._call_authorizer, channel, socket_id)
        elif options.auth_endpoint:
            self._submit(callback, self._call_endpoint, channel, socket_id)
        else:
            callback(
                SubscriptionError(
                    channel,
                    None,
                    "this channel needs authorization: give Pusher a secret, an authorizer "
                    "or an auth_endpoint",
                )
            )

    def close(self) -> None:
        """Stop the workers; outcomes still under way are dropped."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # ---- the three ways ---------------------------------------------------------------

    def _sign_locally(self, channel: str, socket_id: str) -> Outcome:
        options = self._options
        assert options.secret is not None
        channel_data: str | None = None
        message = f"{socket_id}:{channel}"
        if channel_kind(channel) is ChannelKind.PRESENCE:
            if options.channel_data is None:
                return SubscriptionError(
                    channel, None, "presence channels signed with secret need channel_data"
                )
            channel_data = encode_channel_data(options.channel_data)
            message = f"{message}:{channel_data}"
        signature = f"{options.key}:{sign(options.secret, message)}"
        return Authorization(signature, channel_data)

    def _call_authorizer(self, channel: str, socket_id: str) -> Outcome:
        assert self._options.authorizer is not None
        try:
            response = self._options.authorizer(channel, socket_id)
        except Exception as exc:  # noqa: BLE001 - the user's code failed
            error = SubscriptionError(channel, None, f"authorizer raised {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return error
        return parse_authorization(channel, response, status=None)

    def _call_endpoint(self, channel: str, socket_id: str) -> Outcome:
        options = self._options
        assert options.auth_endpoint is not None
        auth = dict(options.auth or {})
        form = {"socket_id": socket_id, "channel_name": channel}
        form.update(_evaluate(auth.get("params")) or {})
        headers = _evaluate(auth.get("headers")) or {}
        basic = None
        if auth.get("username") is not None and auth.get("password") is not None:
            basic = (auth["username"], auth["password"])
        try:
            response = requests.post(
                options.auth_endpoint,
                data=form,
                headers=headers,
                auth=basic,
                timeout=options.auth_timeout,
            )
        except requests.RequestException as exc:
            error = SubscriptionError(channel, 0, f"auth endpoint unreachable: {exc}")
            error.__cause__ = exc
            return error
        if response.status_code != 200:
            return SubscriptionError(
                channel, response.status_code, response.text.strip() or response.reason or ""
            )
        try:
            body = response.json()
        except ValueError as exc:
            error = SubscriptionError(channel, 200, f"auth endpoint answered non-JSON: {response.text[:200]!r}")
            error.__cause__ = exc
            return error
        return parse_authorization(channel, body, status=200)

    def _submit(self, callback: Callback, work: Callable[[str, str], Outcome],
                channel: str, socket_id: str) -> None:
        with self._lock:
            if self._closed:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rxpusher-auth")
            pool = self._pool

        def run() -> None:
            outcome = work(channel, socket_id)
            if not self._closed:
                callback(outcome)

        pool.submit(_logged(run))


def parse_authorization(channel: str, body: Any, status: int | None) -> Outcome:
    """Check an auth response; presence ``channel_data`` is kept verbatim."""
    if not isinstance(body, Mapping) or not isinstance(body.get("auth"), str):
        return SubscriptionError(channel, status, f"auth response has no 'auth' string: {body!r}")
    channel_data = body.get("channel_data")
    if channel_data is not None and not isinstance(channel_data, str):
        channel_data = json.dumps(channel_data, separators=(",", ":"))
    if channel_kind(channel) is ChannelKind.PRESENCE and channel_data is None:
        return SubscriptionError(channel, status, "auth response for a presence channel has no channel_data")
    shared_secret = body.get("shared_secret")
    return Authorization(
        body["auth"], channel_data, shared_secret if isinstance(shared_secret, str) else None
    )


def _evaluate(value: Any) -> dict[str, Any] | None:
    """Params and headers may be dicts or callables returning dicts (rotating credentials)."""
    if callable(value):
        value = value()
    return dict(value) if value else None


def _logged(run: Callable[[], None]) -> Callable[[], None]:
    def wrapper() -> None:
        try:
            run()
        except Exception:  # noqa: BLE001 - a worker must never die silently
            log.exception("authorization callback failed")

    return wrapper
