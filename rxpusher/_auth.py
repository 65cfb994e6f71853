"""Authorization of channel subscriptions and user sign-in, as strategies.

A strategy is a plain blocking call: it returns an authorization or raises
:class:`SubscriptionError` (channels) / :class:`AuthenticationError` (users).

- channels, in this order: local signing with ``secret``; the ``authorizer`` callable;
  the ``auth_endpoint``. With ``auth_batch`` the channels that need authorization at the
  same moment share one call (``batch_authorizer``, or the endpoint in the format of the
  pusher-js-auth plugin);
- users: ``secret`` with ``user_data``; ``user_authorizer``; ``user_auth_endpoint``.

Local signing is pure and runs where it is asked for (inside the core). The others run user
code or I/O, so the session runs them on its :class:`~rxpusher._internal.pool.Pool` of
``rxpusher-auth`` threads, never on the reader thread and never under its lock; an
authorization in flight is cancelled by forgetting its token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _encryption as encryption
from ._exceptions import AuthenticationError, SubscriptionError
from ._internal.neterrors import network_cause
from ._options import Options
from ._protocol import (
    MAX_TEXT,
    Authorization,
    ChannelKind,
    ChannelOutcome,
    UserAuthorization,
    channel_kind,
    shorten,
)

__all__ = ["MAX_TEXT", "Authorization", "Authorizer", "ChannelOutcome", "UserAuthorization",
           "shorten", "sign"]

if TYPE_CHECKING:
    import requests

log = logging.getLogger("rxpusher")

MAX_AUTH_BODY = 1 << 20
"""The largest auth response body read (bytes)."""


def sign(secret: str, message: str) -> str:
    """Hex HMAC-SHA256 of ``message`` with ``secret``."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def encode_channel_data(channel: str, channel_data: Mapping[str, Any]) -> str:
    """Presence channel data as sent and signed, with the user id as a string."""
    data = dict(channel_data)
    data["user_id"] = str(data["user_id"])
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SubscriptionError(channel, None, f"channel_data cannot be sent as JSON: {exc}") from exc


# ---- strategies ------------------------------------------------------------------------


class LocalSigner:
    """Signs with the app secret, as the server SDKs do; no I/O."""

    def __init__(self, options: Options) -> None:
        assert options.secret is not None
        self._key = options.key
        self._secret = options.secret
        self._channel_data = options.channel_data
        self._user_data = options.user_data
        self._master_key = (
            encryption.decode_master_key(options.encryption_master_key)
            if options.encryption_master_key
            else None
        )

    def channel(self, channel: str, socket_id: str) -> Authorization:
        """Sign a subscription to ``channel`` for ``socket_id``."""
        kind = channel_kind(channel)
        channel_data: str | None = None
        shared_secret: bytes | None = None
        message = f"{socket_id}:{channel}"
        if kind is ChannelKind.PRESENCE:
            if self._channel_data is None:
                raise SubscriptionError(
                    channel, None, "presence channels signed with secret need channel_data "
                    "(the member this client joins as): pass channel_data={'user_id': ..., "
                    "'user_info': {...}} (--channel-data on the command line)"
                )
            channel_data = encode_channel_data(channel, self._channel_data)
            message = f"{message}:{channel_data}"
        elif kind is ChannelKind.PRIVATE_ENCRYPTED:
            if self._master_key is None:
                raise SubscriptionError(
                    channel, None,
                    "encrypted channels signed with secret need encryption_master_key",
                )
            shared_secret = encryption.derive_shared_secret(channel, self._master_key)
        signature = f"{self._key}:{sign(self._secret, message)}"
        return Authorization(signature, channel_data, shared_secret)

    def user(self, socket_id: str) -> UserAuthorization:
        """Sign a user sign-in with ``user_data``."""
        assert self._user_data is not None
        if "id" not in self._user_data:
            raise AuthenticationError(None, "user_data needs an 'id'")
        user_data = dict(self._user_data)
        user_data["id"] = str(user_data["id"])
        try:
            encoded = json.dumps(user_data, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise AuthenticationError(None, f"user_data cannot be sent as JSON: {exc}") from exc
        signature = sign(self._secret, f"{socket_id}::user::{encoded}")
        return UserAuthorization(f"{self._key}:{signature}", encoded)


class CallableAuthorizer:
    """The ``authorizer`` option: ``authorizer(channel_name, socket_id) -> dict``."""

    def __init__(self, authorizer: Callable[[str, str], Mapping[str, Any]]) -> None:
        self._authorizer = authorizer

    def __call__(self, channel: str, socket_id: str) -> Authorization:
        try:
            response = self._authorizer(channel, socket_id)
        except SubscriptionError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's code failed
            raise SubscriptionError(
                channel, None, f"authorizer raised {type(exc).__name__}: {shorten(str(exc))}"
            ) from exc
        return parse_authorization(channel, response, status=None)


class EndpointAuthorizer:
    """The ``auth_endpoint`` option: a form POST of ``socket_id`` and ``channel_name``."""

    def __init__(self, http: Http, url: str) -> None:
        self._http = http
        self._url = url

    def __call__(self, channel: str, socket_id: str) -> Authorization:
        try:
            body = self._http.post(self._url, {"socket_id": socket_id, "channel_name": channel})
        except _HttpFailure as failure:
            raise SubscriptionError(channel, failure.status, failure.message) from failure.__cause__
        return parse_authorization(channel, body, status=200)


BatchCall = Callable[[str, list[str]], Any]


class BatchAuthorizer:
    """``auth_batch``: many channels in one call, in the pusher-js-auth format
    (``{channel_name: {"auth": ...} | {"status": 403, ...}}``)."""

    def __init__(self, options: Options, http: Http) -> None:
        self._batch_authorizer = options.batch_authorizer
        self._url = options.auth_endpoint
        self._http = http

    def __call__(self, socket_id: str, channels: list[str]) -> dict[str, ChannelOutcome]:
        """Authorize ``channels``; one outcome per channel, never raises."""
        names = list(dict.fromkeys(channels))
        status: int | None = None
        try:
            if self._batch_authorizer is not None:
                try:
                    response = self._batch_authorizer(socket_id, names)
                except Exception as exc:  # noqa: BLE001 - the user's code failed
                    raise _HttpFailure(
                        None, f"batch_authorizer raised {type(exc).__name__}: {shorten(str(exc))}"
                    ) from exc
            else:
                assert self._url is not None
                form = {"socket_id": socket_id}
                form.update({f"channel_name[{i}]": name for i, name in enumerate(names)})
                response = self._http.post(self._url, form)
                status = 200
            if not isinstance(response, Mapping):
                raise _HttpFailure(status, f"batch auth response is not an object: {shorten(response)}")
        except _HttpFailure as failure:
            outcomes: dict[str, ChannelOutcome] = {}
            for name in names:
                error = SubscriptionError(name, failure.status, failure.message)
                error.__cause__ = failure.__cause__
                outcomes[name] = error
            return outcomes
        return {name: _batch_entry(name, response.get(name), status) for name in names}


def _batch_entry(channel: str, entry: Any, status: int | None) -> ChannelOutcome:
    if entry is None:
        return SubscriptionError(channel, status, "batch auth response has no entry")
    entry_status = entry.get("status") if isinstance(entry, Mapping) else None
    if isinstance(entry, Mapping) and isinstance(entry_status, int) and entry_status != 200 \
            and "auth" not in entry:
        message = shorten(str(entry.get("error") or entry.get("message") or "rejected"))
        return SubscriptionError(channel, entry_status, message)
    try:
        return parse_authorization(channel, entry, status)
    except SubscriptionError as error:
        return error


class CallableUserAuthorizer:
    """The ``user_authorizer`` option: ``user_authorizer(socket_id) -> dict``."""

    def __init__(self, authorizer: Callable[[str], Mapping[str, Any]]) -> None:
        self._authorizer = authorizer

    def __call__(self, socket_id: str) -> UserAuthorization:
        try:
            response = self._authorizer(socket_id)
        except AuthenticationError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise AuthenticationError(
                None, f"user_authorizer raised {type(exc).__name__}: {shorten(str(exc))}"
            ) from exc
        return parse_user_authorization(response, status=None)


class EndpointUserAuthorizer:
    """The ``user_auth_endpoint`` option: a form POST of ``socket_id``."""

    def __init__(self, http: Http, url: str) -> None:
        self._http = http
        self._url = url

    def __call__(self, socket_id: str) -> UserAuthorization:
        try:
            body = self._http.post(self._url, {"socket_id": socket_id})
        except _HttpFailure as failure:
            raise AuthenticationError(failure.status, failure.message) from failure.__cause__
        return parse_user_authorization(body, status=200)


# ---- the client's authorizer: picks the strategies ------------------------------------------

ChannelStrategy = Callable[[str, str], Authorization]
UserStrategy = Callable[[str], UserAuthorization]


def _missing_channel_auth(channel: str, socket_id: str) -> Authorization:
    raise SubscriptionError(
        channel, None,
        "this channel needs authorization: give Pusher a secret, an authorizer or an auth_endpoint",
    )


def _missing_user_auth(socket_id: str) -> UserAuthorization:
    raise AuthenticationError(
        None, "signin() needs secret with user_data, a user_authorizer or a user_auth_endpoint"
    )


class Authorizer:
    """The strategies chosen by the options of one client.

    ``channel`` and ``user`` are blocking calls; ``channel_is_local``/``user_is_local`` say
    whether they may run on any thread at once (pure signing). ``batch`` is set with
    ``auth_batch``.
    """

    def __init__(self, options: Options) -> None:
        self.http = Http(options)
        self.channel: ChannelStrategy = _missing_channel_auth
        self.channel_is_local = True
        self.batch: BatchAuthorizer | None = None
        if options.secret:
            self.channel = LocalSigner(options).channel
        elif options.auth_batch and (options.batch_authorizer or options.auth_endpoint):
            self.batch = BatchAuthorizer(options, self.http)
            self.channel = self._single_from_batch
            self.channel_is_local = False
        elif options.authorizer is not None:
            self.channel = CallableAuthorizer(options.authorizer)
            self.channel_is_local = False
        elif options.auth_endpoint:
            self.channel = EndpointAuthorizer(self.http, options.auth_endpoint)
            self.channel_is_local = False
        self.user: UserStrategy = _missing_user_auth
        self.user_is_local = True
        if options.secret and options.user_data is not None:
            self.user = LocalSigner(options).user
        elif options.user_authorizer is not None:
            self.user = CallableUserAuthorizer(options.user_authorizer)
            self.user_is_local = False
        elif options.user_auth_endpoint:
            self.user = EndpointUserAuthorizer(self.http, options.user_auth_endpoint)
            self.user_is_local = False

    def _single_from_batch(self, channel: str, socket_id: str) -> Authorization:
        assert self.batch is not None
        outcome = self.batch(socket_id, [channel])[channel]
        if isinstance(outcome, SubscriptionError):
            raise outcome
        return outcome

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()


# ---- HTTP ----------------------------------------------------------------------------------


class _HttpFailure(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Http:
    """POSTs to auth endpoints with the ``auth`` params, headers and basic auth, the TLS and
    proxy options and ``auth_timeout``. ``requests`` is imported on first use. Redirects are
    not followed, so credentials never reach another origin: a 3xx is a failure."""

    def __init__(self, options: Options) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._session: requests.Session | None = None

    def post(self, url: str, form: dict[str, str]) -> Any:
        """POST ``form``; the JSON body. Raises ``_HttpFailure`` with the status (0 when the
        endpoint could not be reached)."""
        import requests

        options = self._options
        auth = dict(options.auth or {})
        try:
            form.update(_evaluate(auth.get("params")) or {})
            headers = _evaluate(auth.get("headers")) or {}
        except Exception as exc:  # noqa: BLE001 - a failing token refresh, say
            raise _HttpFailure(
                None, f"auth params/headers callable raised {type(exc).__name__}: {shorten(str(exc))}"
            ) from exc
        basic = None
        if auth.get("username") is not None and auth.get("password") is not None:
            basic = (auth["username"], auth["password"])
        with self._lock:
            if self._session is None:
                self._session = _new_session(options)
            session = self._session
        try:
            response = session.post(
                url,
                data=form,
                headers=headers,
                auth=basic,
                timeout=options.auth_timeout,
                allow_redirects=False,
                stream=True,
                # explicit, so REQUESTS_CA_BUNDLE in the environment cannot override it
                verify=options.ca_bundle or True,
            )
            try:
                body = response.raw.read(MAX_AUTH_BODY + 1, decode_content=True)
            finally:
                response.close()
        except requests.RequestException as exc:
            # the cause first: requests' message ends with it, past any length limit
            raise _HttpFailure(0, f"auth endpoint unreachable ({network_cause(exc)}): "
                                  f"{shorten(str(exc))}") from exc
        except Exception as exc:  # noqa: BLE001 - urllib3 errors while reading the body
            raise _HttpFailure(0, f"auth endpoint failed: {type(exc).__name__}: {shorten(str(exc))}") from exc
        text = body.decode("utf-8", "replace")
        if 300 <= response.status_code < 400:
            raise _HttpFailure(
                response.status_code,
                f"auth endpoint redirected to {shorten(response.headers.get('location', ''))}; "
                "redirects are not followed, so that credentials never reach another origin",
            )
        if response.status_code != 200:
            raise _HttpFailure(response.status_code, shorten(text.strip() or response.reason or ""))
        if len(body) > MAX_AUTH_BODY:
            raise _HttpFailure(200, f"auth response larger than {MAX_AUTH_BODY} bytes")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _HttpFailure(200, f"auth endpoint answered non-JSON: {shorten(text)}") from exc

    def close(self) -> None:
        """Close pooled connections."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


def _new_session(options: Options) -> requests.Session:
    """A requests session with the TLS and proxy options applied."""
    import requests
    from requests.adapters import HTTPAdapter

    class ContextAdapter(HTTPAdapter):
        """Applies one ``ssl.SSLContext`` to every HTTPS request."""

        def __init__(self, context: ssl.SSLContext) -> None:
            self._context = context
            super().__init__()

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = self._context
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    if options.proxy:
        session.proxies = {"http": options.proxy, "https": options.proxy}
    if options.ssl_context is not None:
        session.mount("https://", ContextAdapter(options.ssl_context))
    return session


def _evaluate(value: Any) -> dict[str, Any] | None:
    """Params and headers may be dicts or callables returning dicts (rotating credentials)."""
    if callable(value):
        value = value()
    return dict(value) if value else None


# ---- responses -------------------------------------------------------------------------------


def parse_authorization(channel: str, body: Any, status: int | None) -> Authorization:
    """Check a channel auth response (presence ``channel_data`` is kept verbatim); raise
    :class:`SubscriptionError` when it is unusable."""
    if not isinstance(body, Mapping) or not isinstance(body.get("auth"), str):
        raise SubscriptionError(channel, status, f"auth response has no 'auth' string: {shorten(body)}")
    channel_data = body.get("channel_data")
    if channel_data is not None and not isinstance(channel_data, str):
        channel_data = json.dumps(channel_data, separators=(",", ":"))
    kind = channel_kind(channel)
    if kind is ChannelKind.PRESENCE and channel_data is None:
        raise SubscriptionError(
            channel, status, "auth response for a presence channel has no channel_data"
        )
    shared_secret: bytes | None = None
    if kind is ChannelKind.PRIVATE_ENCRYPTED:
        raw = body.get("shared_secret")
        if not isinstance(raw, str):
            raise SubscriptionError(
                channel, status, "auth response for an encrypted channel has no shared_secret"
            )
        try:
            shared_secret = encryption.decode_shared_secret(raw)
        except ValueError as exc:
            raise SubscriptionError(channel, status, str(exc)) from exc
    return Authorization(body["auth"], channel_data, shared_secret)


def parse_user_authorization(body: Any, status: int | None) -> UserAuthorization:
    """Check a user auth response: ``{"auth": ..., "user_data": "<json string>"}``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("auth"), str):
        raise AuthenticationError(status, f"user auth response has no 'auth' string: {shorten(body)}")
    user_data = body.get("user_data")
    if not isinstance(user_data, str):
        if isinstance(user_data, Mapping):
            user_data = json.dumps(user_data, separators=(",", ":"))
        else:
            raise AuthenticationError(status, "user auth response has no user_data")
    return UserAuthorization(body["auth"], user_data)
