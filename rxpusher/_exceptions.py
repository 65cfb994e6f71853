"""The exceptions rxpusher raises or reports on ``Pusher.errors``.

Every exception the library produces derives from :class:`PusherError`. Failures
reported on ``errors`` that wrap another exception (an observer that raised, an
auth call that failed) carry that exception as ``__cause__``. Where each one goes:

=========================  ===============================================================
exception                  where it reaches you
=========================  ===============================================================
ServerRefusedError         ``errors``; then ``on_error`` of every channel stream and every
                           ``pusher.events(...)`` stream; raised by ``wait_*``
ConnectAttemptError        ``errors`` (one per failed attempt, rate-limited)
RetriesExhaustedError      ``errors`` when ``Backoff(max_attempts=...)`` gives up; raised by
                           ``wait_connected``
SubscriptionError          ``errors``; ``on_error`` of that channel's streams; raised by
                           ``wait_subscribed``
AuthenticationError        ``errors`` (sign-in failed); raised by ``user.wait_signed_in``
ProtocolError              ``errors`` (a frame that is not a usable Pusher message, a bad or
                           late part of a chunked event)
ServerError                ``errors`` (the server sent ``pusher:error``)
RateLimitError             ``errors`` (the server rejected a client event: 4301); a
                           ``ServerError``
DecryptionError            ``errors`` (an encrypted event dropped)
ObserverError              ``errors`` (your observer or callback raised)
InternalError              ``errors`` (rxpusher itself failed: please report it)
BufferOverflowError        ``on_error`` of a slow observer (``scheduler=``, ``aio``); ``errors``;
                           raised by ``channel.trigger`` (``client_event_queue`` is full)
SendError                  raised by ``channel.trigger()`` when the event cannot go out;
                           ``errors`` when a protocol frame cannot be sent
MissingDependencyError     raised when a feature needs an extra that is not installed
BridgeError                ``errors`` of the client a ``rxpusher.bridge`` sink is bound to,
                           and the sink's own ``errors`` (a broker failure)
ClosedError                raised by calls made after ``close()``
=========================  ===============================================================
"""

from __future__ import annotations

from ._states import AttemptCause

__all__ = [
    "AuthenticationError",
    "BackfillError",
    "BridgeError",
    "BufferOverflowError",
    "ClosedError",
    "ConnectAttemptError",
    "ConnectionRefused",
    "DecryptionError",
    "EmptySequenceError",
    "InternalError",
    "MissingDependencyError",
    "ObserverError",
    "ProtocolError",
    "PusherError",
    "RateLimitError",
    "RetriesExhaustedError",
    "SendError",
    "ServerError",
    "ServerRefusedError",
    "SubscriptionError",
]


class PusherError(Exception):
    """Base class of every error raised or reported by rxpusher."""


class ClosedError(PusherError):
    """The client is closed: ``connect()``, ``reconnect()``, ``channel()``, ``subscribe()``,
    ``record()``, ``wait_connected()`` and ``wait_subscribed()`` cannot run after ``close()``."""


class InternalError(PusherError):
    """The library itself failed while handling something; ``__cause__`` is the original
    exception. Never raised for an observer's exception (that is :class:`ObserverError`)."""


class ProtocolError(PusherError):
    """A frame that cannot be decoded as a Pusher protocol message.

    ``frame`` holds the raw frame as received.
    """

    def __init__(self, message: str, frame: str) -> None:
        super().__init__(message)
        self.frame = frame


class ServerRefusedError(PusherError):
    """The server closed the connection with a code that forbids reconnecting (4001-4099,
    >= 4300): a wrong app key, a disabled app, over quota. ``code`` and ``reason`` are
    those of the close frame. The client stays ``disconnected`` until ``connect()``.

    Also importable as ``ConnectionRefused`` (its first name). Not to be confused with the
    builtin ``ConnectionRefusedError`` (nothing listens on the port): that is a
    :class:`ConnectAttemptError`.
    """

    def __init__(self, code: int, reason: str) -> None:
        hint = ""
        if code == 4001:
            hint = " (check the app key, and that cluster= or host= is the app's)"
        elif code == 4009:
            hint = (" (the server requires user authentication: call pusher.signin(), with "
                    "user_auth_endpoint, user_authorizer or secret + user_data)")
        super().__init__(
            f"connection refused by the server ({code}): {reason or 'no reason given'}{hint}")
        self.code = code
        self.reason = reason


ConnectionRefused = ServerRefusedError


class ConnectAttemptError(PusherError):
    """A connection attempt failed before the Pusher handshake completed; the client backs
    off and tries again. ``cause`` says why: ``"refused"`` (nothing listens), ``"dns"``,
    ``"tls"`` (certificate verification or handshake), ``"timeout"`` (``connect_timeout``
    for the upgrade and the handshake together), ``"handshake"`` (the server's answer was
    not a usable ``pusher:connection_established``), ``"proxy"`` (the ``proxy`` refused or
    could not be found) or ``"network"``. ``url`` is where."""

    def __init__(self, url: str, cause: AttemptCause | str, message: str) -> None:
        hint = ""
        if url.startswith("wss://") and (
                (cause == "tls" and any(sign in message.lower() for sign in _PLAIN_PORT_SIGNS))
                or (cause == "timeout" and ".pusher.com" not in url.split("/")[2])):
            # some plain servers answer a TLS hello with an error, others wait for ever
            hint = (" (if that port serves plain ws://, pass use_tls=False, or --no-tls on "
                    "the command line)")
        super().__init__(f"cannot connect to {url} ({cause}): {message}{hint}")
        self.url = url
        self.cause = AttemptCause(cause)


class RetriesExhaustedError(PusherError):
    """The reconnect policy gave up (``Backoff(max_attempts=...)``): the state is
    ``failed`` until ``connect()``."""


class SendError(PusherError):
    """A frame could not be sent: a client event on a channel that is not subscribed, while
    the connection is down, or a socket that failed while sending (``__cause__``)."""


class MissingDependencyError(PusherError, ImportError):
    """A feature needs an optional dependency that is not installed (PyNaCl for encrypted
    channels: ``pip install 'rxpusher[encryption]'``)."""


_PLAIN_PORT_SIGNS = ("wrong version number", "record layer failure", "unknown protocol",
                     "http request", "packet length too long")


class SubscriptionError(PusherError):
    """A channel subscription failed.

    ``status`` is the HTTP status of the auth call (200 when its body is not valid
    JSON), 0 for a network failure, the status the server sent with its
    ``pusher:subscription_error``, or None when there is none.
    """

    def __init__(self, channel: str, status: int | None, message: str) -> None:
        super().__init__(f"subscription to {channel!r} failed (status {status}): {message}")
        self.channel = channel
        self.status = status
        self.message = message


class AuthenticationError(PusherError):
    """User sign-in failed; ``status`` follows the rules of :class:`SubscriptionError`."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"sign-in failed (status {status}): {message}")
        self.status = status
        self.message = message


class BackfillError(PusherError):
    """The backfill of a sequenced stream (``rxpusher.sequenced``) raised, timed out or
    answered something that is not an iterable of data. ``channel``, ``event``, ``after``
    and ``before`` are the call's arguments (``event`` None for a channel-wide sequence);
    the original exception is ``__cause__``. What it was to bring is reported as a ``Gap``."""

    def __init__(self, channel: str, event: str | None, after: int, before: int | None,
                 message: str) -> None:
        what = "every event" if event is None else repr(event)
        super().__init__(f"backfill of {what} on {channel!r} after {after} before {before} "
                         f"failed: {message}")
        self.channel = channel
        self.event = event
        self.after = after
        self.before = before


class ObserverError(PusherError):
    """An observer or callback (user code) raised while an item was delivered to it.

    The original exception is ``__cause__``; delivery to other observers goes on.
    """


class DecryptionError(PusherError):
    """An event on an encrypted channel could not be decrypted, even after one
    re-authorization, and was dropped. ``channel`` and ``event`` name it."""

    def __init__(self, channel: str, event: str, message: str) -> None:
        super().__init__(f"could not decrypt {event!r} on {channel!r}: {message}")
        self.channel = channel
        self.event = event


class ServerError(PusherError):
    """The server sent ``pusher:error``; ``code`` may be None."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"server error ({code}): {message}")
        self.code = code
        self.message = message


class RateLimitError(ServerError):
    """The server rejected a client event for going over its rate (``pusher:error`` 4301,
    "client event rejected"). The client halves its pace of client events for 10 s; the
    connection stays. ``code`` is 4301."""


class BufferOverflowError(PusherError):
    """A bounded queue is full. Either a consumer fell ``maxsize`` items behind its producer
    and the overflow policy is ``"error"`` (an ``rxpusher.aio.iterate`` iterator, or an
    observer of a client created with ``scheduler=``): raised by the iterator after the items
    already buffered, the subscription released by then. Or ``channel.trigger()`` found
    ``client_event_queue`` client events waiting for their turn: nothing was queued.
    ``maxsize`` is the bound that was exceeded.
    """

    def __init__(self, maxsize: int, message: str | None = None) -> None:
        super().__init__(
            message or f"the consumer fell {maxsize} items behind its observable "
            "(raise maxsize, consume faster, or pick overflow='drop_oldest'/'drop_newest')"
        )
        self.maxsize = maxsize


class EmptySequenceError(PusherError, LookupError):
    """``rxpusher.aio.first`` found that the observable completed without emitting anything."""


class BridgeError(PusherError):
    """A broker sink of :mod:`rxpusher.bridge` could not reach or write to its broker, or
    had to drop entries. ``broker`` is ``"redis"`` or ``"nats"``, ``url`` the broker URL
    without its password; ``__cause__`` is the broker client's exception when there is one.
    The sink keeps its entries buffered (up to ``max_buffer``) and retries with the backoff."""

    def __init__(self, broker: str, url: str, message: str) -> None:
        super().__init__(f"{broker} bridge to {url}: {message}")
        self.broker = broker
        self.url = url
        self.message = message
