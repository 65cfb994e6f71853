"""Authorization of channel subscriptions and user sign-in.

Channels: local signing with ``secret``, an ``authorizer`` callable, or an
``auth_endpoint``, tried in that order; with ``auth_batch`` the channels that
need auth at the same moment share one request (``batch_authorizer`` or the
endpoint, in the format of the pusher-js-auth plugin). Users: ``secret`` with
``user_data``, ``user_authorizer``, or ``user_auth_endpoint``. Signing is
synchronous; callables and HTTP run on a small worker pool, never on the reader
thread. Failures become :class:`SubscriptionError` / :class:`AuthenticationError`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import requests
from requests.adapters import HTTPAdapter

from . import encryption
from .exceptions import AuthenticationError, SubscriptionError
from .options import Options
from .protocol import ChannelKind, channel_kind

log = logging.getLogger("rxpusher")


class Authorization(NamedTuple):
    """What a ``pusher:subscribe`` needs: the signature, presence channel data, and for
    encrypted channels the 32-byte channel key."""

    auth: str
    channel_data: str | None = None
    shared_secret: bytes | None = None


class UserAuthorization(NamedTuple):
    """What a ``pusher:signin`` needs."""

    auth: str
    user_data: str


ChannelOutcome = Authorization | SubscriptionError
UserOutcome = UserAuthorization | AuthenticationError
ChannelCallback = Callable[[ChannelOutcome], None]


class _HttpFailure(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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


def http_session(options: Options) -> requests.Session:
    """A requests session with the TLS and proxy options applied."""
    session = requests.Session()
    if options.proxy:
        session.proxies = {"http": options.proxy, "https": options.proxy}
    if options.ssl_context is not None:
        session.mount("https://", _ContextAdapter(options.ssl_context))
    return session


class _ContextAdapter(HTTPAdapter):
    """Applies one ``ssl.SSLContext`` to every HTTPS request."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


class Authorizer:
    """Authorizes channel subscriptions and user sign-ins for one client."""

    def __init__(self, options: Options) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._session: requests.Session | None = None
        self._closed = False
        self._batch_depth = 0
        self._queued: list[tuple[str, str, ChannelCallback]] = []
        self._master_key = (
            encryption.decode_master_key(options.encryption_master_key)
            if options.encryption_master_key
            else None
        )

    # ---- channels ----------------------------------------------------------------------

    def authorize(self, channel: str, socket_id: str, callback: ChannelCallback) -> None:
        """Call ``callback`` with the outcome: at once for local signing, else from a worker."""
        options = self._options
        if options.secret:
            callback(self._sign_channel(channel, socket_id))
        elif options.auth_batch and (options.batch_authorizer or options.auth_endpoint):
            with self._lock:
                self._queued.append((channel, socket_id, callback))
                flush = self._batch_depth == 0
            if flush:
                self._flush()
        elif options.authorizer is not None:
            self._submit(lambda: callback(self._call_authorizer(channel, socket_id)))
        elif options.auth_endpoint:
            self._submit(lambda: callback(self._call_endpoint(channel, socket_id)))
        else:
            callback(
                SubscriptionError(
                    channel,
                    None,
                    "this channel needs authorization: give Pusher a secret, an authorizer "
                    "or an auth_endpoint",
                )
            )

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Channels authorized inside this block share one batch request (``auth_batch``)."""
        with self._lock:
            self._batch_depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._batch_depth -= 1
                flush = self._batch_depth == 0
            if flush:
                self._flush()

    def _sign_channel(self, channel: str, socket_id: str) -> ChannelOutcome:
        options = self._options
        assert options.secret is not None
        kind = channel_kind(channel)
        channel_data: str | None = None
        shared_secret: bytes | None = None
        message = f"{socket_id}:{channel}"
        if kind is ChannelKind.PRESENCE:
            if options.channel_data is None:
                return SubscriptionError(
                    channel, None, "presence channels signed with secret need channel_data"
                )
            channel_data = encode_channel_data(options.channel_data)
            message = f"{message}:{channel_data}"
        elif kind is ChannelKind.PRIVATE_ENCRYPTED:
            if self._master_key is None:
                return SubscriptionError(
                    channel, None,
                    "encrypted channels signed with secret need encryption_master_key",
                )
            shared_secret = encryption.derive_shared_secret(channel, self._master_key)
        signature = f"{options.key}:{sign(options.secret, message)}"
        return Authorization(signature, channel_data, shared_secret)

    def _call_authorizer(self, channel: str, socket_id: str) -> ChannelOutcome:
        assert self._options.authorizer is not None
        try:
            response = self._options.authorizer(channel, socket_id)
        except Exception as exc:  # noqa: BLE001 - the user's code failed
            error = SubscriptionError(channel, None, f"authorizer raised {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return error
        return parse_authorization(channel, response, status=None)

    def _call_endpoint(self, channel: str, socket_id: str) -> ChannelOutcome:
        assert self._options.auth_endpoint is not None
        form = {"socket_id": socket_id, "channel_name": channel}
        try:
            body = self._post(self._options.auth_endpoint, form)
        except _HttpFailure as failure:
            error = SubscriptionError(channel, failure.status, failure.message)
            error.__cause__ = failure.__cause__
            return error
        return parse_authorization(channel, body, status=200)

    def _flush(self) -> None:
        with self._lock:
            queued, self._queued = self._queued, []
        by_socket: dict[str, list[tuple[str, ChannelCallback]]] = {}
        for channel, socket_id, callback in queued:
            by_socket.setdefault(socket_id, []).append((channel, callback))
        for socket_id, pending in by_socket.items():
            self._submit(functools.partial(self._call_batch, socket_id, pending))

    def _call_batch(self, socket_id: str, pending: list[tuple[str, ChannelCallback]]) -> None:
        options = self._options
        names = list(dict.fromkeys(channel for channel, _ in pending))
        status: int | None = None
        try:
            if options.batch_authorizer is not None:
                response = options.batch_authorizer(socket_id, names)
            else:
                assert options.auth_endpoint is not None
                form = {"socket_id": socket_id}
                form.update({f"channel_name[{i}]": name for i, name in enumerate(names)})
                response = self._post(options.auth_endpoint, form)
                status = 200
            if not isinstance(response, Mapping):
                raise _HttpFailure(status, f"batch auth response is not an object: {response!r}")
        except _HttpFailure as failure:
            for channel, callback in pending:
                error = SubscriptionError(channel, failure.status, failure.message)
                error.__cause__ = failure.__cause__
                callback(error)
            return
        except Exception as exc:  # noqa: BLE001 - the user's batch_authorizer failed
            for channel, callback in pending:
                error = SubscriptionError(
                    channel, None, f"batch_authorizer raised {type(exc).__name__}: {exc}"
                )
                error.__cause__ = exc
                callback(error)
            return
        for channel, callback in pending:
            entry = response.get(channel)
            entry_status = entry.get("status") if isinstance(entry, Mapping) else None
            if (isinstance(entry, Mapping) and isinstance(entry_status, int)
                    and entry_status != 200 and "auth" not in entry):
                message = str(entry.get("error") or entry.get("message") or "rejected")
                callback(SubscriptionError(channel, entry_status, message))
            elif entry is None:
                callback(SubscriptionError(channel, status, "batch auth response has no entry"))
            else:
                callback(parse_authorization(channel, entry, status))

    # ---- users -------------------------------------------------------------------------

    def authenticate_user(self, socket_id: str, callback: Callable[[UserOutcome], None]) -> None:
        """Call ``callback`` with the sign-in outcome for ``socket_id``."""
        options = self._options
        if options.secret and options.user_data is not None:
            callback(self._sign_user(socket_id))
        elif options.user_authorizer is not None:
            self._submit(lambda: callback(self._call_user_authorizer(socket_id)))
        elif options.user_auth_endpoint:
            self._submit(lambda: callback(self._call_user_endpoint(socket_id)))
        else:
            callback(
                AuthenticationError(
                    None,
                    "signin() needs secret with user_data, a user_authorizer or a "
                    "user_auth_endpoint",
                )
            )

    def _sign_user(self, socket_id: str) -> UserOutcome:
        options = self._options
        assert options.secret is not None and options.user_data is not None
        if "id" not in options.user_data:
            return AuthenticationError(None, "user_data needs an 'id'")
        user_data = dict(options.user_data)
        user_data["id"] = str(user_data["id"])
        encoded = json.dumps(user_data, separators=(",", ":"))
        signature = sign(options.secret, f"{socket_id}::user::{encoded}")
        return UserAuthorization(f"{options.key}:{signature}", encoded)

    def _call_user_authorizer(self, socket_id: str) -> UserOutcome:
        assert self._options.user_authorizer is not None
        try:
            response = self._options.user_authorizer(socket_id)
        except Exception as exc:  # noqa: BLE001
            error = AuthenticationError(None, f"user_authorizer raised {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return error
        return parse_user_authorization(response, status=None)

    def _call_user_endpoint(self, socket_id: str) -> UserOutcome:
        assert self._options.user_auth_endpoint is not None
        try:
            body = self._post(self._options.user_auth_endpoint, {"socket_id": socket_id})
        except _HttpFailure as failure:
            error = AuthenticationError(failure.status, failure.message)
            error.__cause__ = failure.__cause__
            return error
        return parse_user_authorization(body, status=200)

    # ---- plumbing ----------------------------------------------------------------------

    def _post(self, url: str, form: dict[str, str]) -> Any:
        """POST the form with ``auth`` params, headers and basic auth; the JSON body."""
        auth = dict(self._options.auth or {})
        form.update(_evaluate(auth.get("params")) or {})
        headers = _evaluate(auth.get("headers")) or {}
        basic = None
        if auth.get("username") is not None and auth.get("password") is not None:
            basic = (auth["username"], auth["password"])
        with self._lock:
            if self._session is None:
                self._session = http_session(self._options)
            session = self._session
        try:
            response = session.post(
                url,
                data=form,
                headers=headers,
                auth=basic,
                timeout=self._options.auth_timeout,
                # explicit, so REQUESTS_CA_BUNDLE in the environment cannot override it
                verify=self._options.ca_bundle or True,
            )
        except requests.RequestException as exc:
            raise _HttpFailure(0, f"auth endpoint unreachable: {exc}") from exc
        if response.status_code != 200:
            raise _HttpFailure(
                response.status_code, response.text.strip() or response.reason or ""
            )
        try:
            return response.json()
        except ValueError as exc:
            raise _HttpFailure(
                200, f"auth endpoint answered non-JSON: {response.text[:200]!r}"
            ) from exc

    def _submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            if self._closed:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rxpusher-auth")
            pool = self._pool

        def run() -> None:
            if self._closed:
                return
            try:
                work()
            except Exception:  # noqa: BLE001 - a worker must never die silently
                log.exception("authorization callback failed")

        pool.submit(run)

    def close(self) -> None:
        """Stop the workers (waiting for calls under way); later outcomes are dropped."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            session, self._session = self._session, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if session is not None:
            session.close()


def parse_authorization(channel: str, body: Any, status: int | None) -> ChannelOutcome:
    """Check a channel auth response; presence ``channel_data`` is kept verbatim."""
    if not isinstance(body, Mapping) or not isinstance(body.get("auth"), str):
        return SubscriptionError(channel, status, f"auth response has no 'auth' string: {body!r}")
    channel_data = body.get("channel_data")
    if channel_data is not None and not isinstance(channel_data, str):
        channel_data = json.dumps(channel_data, separators=(",", ":"))
    kind = channel_kind(channel)
    if kind is ChannelKind.PRESENCE and channel_data is None:
        return SubscriptionError(
            channel, status, "auth response for a presence channel has no channel_data"
        )
    shared_secret: bytes | None = None
    if kind is ChannelKind.PRIVATE_ENCRYPTED:
        raw = body.get("shared_secret")
        if not isinstance(raw, str):
            return SubscriptionError(
                channel, status, "auth response for an encrypted channel has no shared_secret"
            )
        try:
            shared_secret = encryption.decode_shared_secret(raw)
        except ValueError as exc:
            return SubscriptionError(channel, status, str(exc))
    return Authorization(body["auth"], channel_data, shared_secret)


def parse_user_authorization(body: Any, status: int | None) -> UserOutcome:
    """Check a user auth response: ``{"auth": ..., "user_data": "<json string>"}``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("auth"), str):
        return AuthenticationError(status, f"user auth response has no 'auth' string: {body!r}")
    user_data = body.get("user_data")
    if not isinstance(user_data, str):
        if isinstance(user_data, Mapping):
            user_data = json.dumps(user_data, separators=(",", ":"))
        else:
            return AuthenticationError(status, "user auth response has no user_data")
    return UserAuthorization(body["auth"], user_data)


def _evaluate(value: Any) -> dict[str, Any] | None:
    """Params and headers may be dicts or callables returning dicts (rotating credentials)."""
    if callable(value):
        value = value()
    return dict(value) if value else None
