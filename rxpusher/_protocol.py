"""Pusher Channels protocol 7: frames, event names, close codes and channel names."""


import enum
import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from ._exceptions import ProtocolError, SubscriptionError

__all__ = ["Event", "PROTOCOL_VERSION"]

PROTOCOL_VERSION = 7

CONNECTION_ESTABLISHED = "pusher:connection_established"
ERROR = "pusher:error"
PING = "pusher:ping"
PONG = "pusher:pong"
SUBSCRIBE = "pusher:subscribe"
UNSUBSCRIBE = "pusher:unsubscribe"
SIGNIN = "pusher:signin"
SUBSCRIPTION_SUCCEEDED = "pusher:subscription_succeeded"
SUBSCRIPTION_ERROR = "pusher:subscription_error"
SUBSCRIPTION_COUNT = "pusher:subscription_count"
MEMBER_ADDED = "pusher:member_added"
MEMBER_REMOVED = "pusher:member_removed"
SIGNIN_SUCCESS = "pusher:signin_success"
SIGNIN_ERROR = "pusher:signin_error"
CLIENT_EVENT_REJECTED = 4301
INTERNAL_PREFIX = "pusher_internal:"
INTERNAL_SUBSCRIPTION_SUCCEEDED = "pusher_internal:subscription_succeeded"
INTERNAL_SUBSCRIPTION_COUNT = "pusher_internal:subscription_count"
INTERNAL_MEMBER_ADDED = "pusher_internal:member_added"
INTERNAL_MEMBER_REMOVED = "pusher_internal:member_removed"
WATCHLIST_EVENTS = "pusher_internal:watchlist_events"
CLIENT_EVENT_PREFIX = "client-"


class Event(NamedTuple):
    """One decoded protocol message.

    ``data`` is the JSON value of the payload (decoded once more when the payload
    arrives as a JSON string), else the raw string. ``channel`` and ``user_id``
    are None when the frame has none.
    """

    name: str
    channel: str | None
    data: Any
    user_id: str | None = None


MAX_TEXT = 200
"""Server-provided text is cut to this many characters in messages and logs."""


def shorten(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` as a ``repr``-safe string of at most ``limit`` characters, for messages and logs."""
    value = text if isinstance(text, str) else repr(text)
    value = value.encode("unicode_escape").decode("ascii") if not value.isprintable() else value
    return value if len(value) <= limit else value[:limit] + f"... ({len(value)} characters)"


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
"""What a channel authorization comes back with."""


_scan_once = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

def fast_backend() -> Callable[[str], Any] | None:
    """orjson's ``loads`` when orjson is installed (``pip install rxpusher[fast]``), else
    None. orjson is imported here, at the first decode, not by ``import rxpusher``."""
    global _fast_loads
    if _fast_loads is _import_orjson:
        try:
            from orjson import loads
        except ImportError:  # pragma: no cover - depends on the environment
            _fast_loads = None
        else:
            _fast_loads = loads
    return _fast_loads


def _import_orjson(text: str) -> Any:
    """The first fast decode: imports orjson (or finds it missing), then decodes like it."""
    fast = fast_backend()
    return _std_loads(text) if fast is None else fast(text)


_fast_loads: Callable[[str], Any] | None = _import_orjson
"""orjson's ``loads`` when orjson is installed, else None (until the first decode, a stand-in
that finds out: see :func:`fast_backend`). :func:`loads` reads it at each call, so tests
switch backends by replacing it."""

# orjson is exact for integers in [-2**63, 2**64 - 1] and makes floats of the others, which
# all have 20 digits or more, or a minus sign and 19 or more. Digits, "-", and the characters of
# escapes that may spell them ("\\u0031", "\\u002d") become "0", everything else " ": where
# no run of 20 "0"s exists, no number loses precision, in the text or in a JSON string inside
# it decoded once more.
_DIGIT_MAP = bytes(0x30 if chr(i) in "0123456789-\\udD" else 0x20 for i in range(256))
_LONG_DIGIT_RUN = b"0" * 20


def _std_loads(text: str) -> Any:
    """``json.loads`` for text that is usually compact JSON, without its per-call set-up.

    Anything unusual (leading or trailing whitespace, invalid JSON) falls back to
    ``json.loads``, which gives the same value or raises its usual ``ValueError``."""
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


def _fits_orjson(text: str) -> bool:
    """True when orjson gives the standard library's value for ``text`` and for every JSON
    string inside it decoded once more: no integer beyond orjson's 64 bits (which it would
    turn into a float), escaped or not."""
    return text.encode("utf-8", "surrogatepass").translate(_DIGIT_MAP).find(_LONG_DIGIT_RUN) < 0


MAX_DEPTH = 512
"""The deepest nesting of arrays and objects decoded, whatever the backend and Python's
recursion limit: deeper text is a ``RecursionError`` (a :class:`ProtocolError` for a frame)."""


def _too_deep(text: str) -> bool:
    """True when ``text`` nests arrays/objects deeper than :data:`MAX_DEPTH`. Costs nothing
    for short text and two ``count`` scans for long text; only text with that many brackets
    is scanned character by character (strings skipped)."""
    if len(text) <= MAX_DEPTH or text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _loads(text: str, fast: Callable[[str], Any] | None) -> Any:
    """Decode with ``fast`` (orjson) when given, with the standard library when orjson
    rejects the text, so that values and errors are the standard library's."""
    if _too_deep(text):
        raise RecursionError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if fast is not None:
        try:
            return fast(text)
        except ValueError:
            pass
    return _std_loads(text)


def loads(text: str) -> Any:
    """Decode JSON ``text`` exactly as ``json.loads`` does, with orjson when it is installed.

    orjson is used only where its result is the standard library's. Text that may hold an
    integer outside [-2**63, 2**64 - 1] (which orjson turns into a float: a run of 20
    digits, counting a minus sign) goes to the standard library, and so does text orjson
    rejects (``NaN``, ``Infinity``, numbers that overflow a double, lone surrogates, invalid
    JSON), so values and errors are the standard library's. Both stop at :data:`MAX_DEPTH`
    levels of nesting with ``RecursionError``."""
    fast = _fast_loads
    return _loads(text, fast if fast is not None and _fits_orjson(text) else None)


def decode_data(raw: Any) -> Any:
    """The payload as a JSON value when it is a JSON string, else unchanged.

    Raises ``RecursionError`` for a payload nested too deeply to decode."""
    if isinstance(raw, str):
        try:
            return loads(raw)
        except ValueError:
            return raw
    return raw


_new_event = tuple.__new__


def decode_frame(frame: str) -> Event:
    """Decode one text frame; raise :class:`ProtocolError` when it is not a Pusher message
    (including a frame, or a payload, nested too deeply to decode)."""
    fast = _fast_loads
    if fast is not None and (
        frame.encode("utf-8", "surrogatepass").translate(_DIGIT_MAP).find(_LONG_DIGIT_RUN) >= 0
    ):
        fast = None  # the check covers the payload string inside the frame too
    message: Any = None
    if fast is not None and not _too_deep(frame):
        # orjson's straight path for the usual frame; anything else takes the general one.
        try:
            message = fast(frame)
            data = message["data"]
            if data.__class__ is str:
                if _too_deep(data):
                    raise ValueError("nested too deeply: the general path decides")
                data = fast(data)
            name = message["event"]
        except (ValueError, LookupError, TypeError):
            message = None
        else:
            if name.__class__ is not str:
                message = None
    if message is None:
        message, name, data = _decode_message(frame, fast)
    channel = message.get("channel")
    user_id = message.get("user_id")
    return _new_event(
        Event,
        (
            name,
            channel if channel.__class__ is str else None,
            data,
            None if user_id is None else str(user_id),
        ),
    )


def _decode_message(
    frame: str, fast: Callable[[str], Any] | None
) -> tuple[dict[str, Any], str, Any]:
    """The general path of :func:`decode_frame`: the message, its event name and its data."""
    try:
        message = _loads(frame, fast)
        if message.__class__ is not dict:
            raise ProtocolError("frame is not a JSON object", frame)
        data = message.get("data")
        if data.__class__ is str:
            try:
                data = _loads(data, fast)
            except ValueError:
                pass
    except ValueError as exc:
        raise ProtocolError(f"frame is not JSON: {exc}", frame) from exc
    except RecursionError as exc:
        raise ProtocolError("frame is nested too deeply to decode", frame) from exc
    name = message.get("event")
    if name.__class__ is not str:
        raise ProtocolError("frame has no event name", frame)
    return message, name, data


def encode_frame(event: str, data: Any, channel: str | None = None) -> str:
    """Encode an outgoing message; ``data`` is sent as given (a JSON value). Raises
    ``ValueError`` for data JSON cannot carry (NaN, infinities) and ``TypeError`` for
    values that are not JSON."""
    message: dict[str, Any] = {"event": event, "data": data}
    if channel is not None:
        message["channel"] = channel
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


class CloseAction(enum.Enum):
    """What the connection does after the server closes it with a given code."""

    RECONNECT_WITH_TLS = "tls"
    REFUSED = "refused"
    BACKOFF = "backoff"
    RECONNECT_NOW = "now"


OVER_CONNECTION_QUOTA = 4004
""""Over capacity" / connection limit reached (Pusher, Laravel Reverb, Sockudo): the server
may take connections again later, so the client backs off instead of giving up."""


def close_action(code: int | None) -> CloseAction:
    """The reconnect policy of protocol 7 for a close code (None = no close frame).

    4004 (over the connection quota) backs off like 4100-4199: Reverb and Sockudo send it
    when their connection limit is reached, which passes."""
    if code is None or code < 4000:
        return CloseAction.BACKOFF
    if code == 4000:
        return CloseAction.RECONNECT_WITH_TLS
    if code == OVER_CONNECTION_QUOTA:
        return CloseAction.BACKOFF
    if code < 4100:
        return CloseAction.REFUSED
    if code < 4200:
        return CloseAction.BACKOFF
    if code < 4300:
        return CloseAction.RECONNECT_NOW
    return CloseAction.REFUSED


# ---- channel names ---------------------------------------------------------------

MAX_CHANNEL_NAME_LENGTH = 164
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_\-=@,.;]+$")
SERVER_TO_USER_PREFIX = "#server-to-user-"
_PREFIXES = frozenset(
    {
        "private-",
        "presence-",
        "cache-",
        "private-cache-",
        "presence-cache-",
        "private-encrypted-",
        "private-encrypted-cache-",
    }
)


class ChannelKind(enum.Enum):
    """The channel families of protocol 7, told apart by name prefix."""

    PUBLIC = "public"
    PRIVATE = "private"
    PRIVATE_ENCRYPTED = "private-encrypted"
    PRESENCE = "presence"


def channel_kind(name: str) -> ChannelKind:
    """The family of a channel name (cache channels belong to the family they extend)."""
    if name.startswith("private-encrypted-"):
        return ChannelKind.PRIVATE_ENCRYPTED
    if name.startswith("private-"):
        return ChannelKind.PRIVATE
    if name.startswith("presence-"):
        return ChannelKind.PRESENCE
    return ChannelKind.PUBLIC


def validate_channel_name(name: object) -> str:
    """Return ``name`` when it is a valid channel name, else raise ``ValueError`` saying why."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"channel name must be a non-empty string, got {name!r}")
    if len(name) > MAX_CHANNEL_NAME_LENGTH:
        raise ValueError(
            f"channel name is {len(name)} characters long; the limit is {MAX_CHANNEL_NAME_LENGTH}"
        )
    if not _CHANNEL_NAME.match(name):
        raise ValueError(
            f"channel name {name!r} has characters outside A-Z a-z 0-9 _ - = @ , . ;"
        )
    if name in _PREFIXES:
        raise ValueError(f"channel name {name!r} is only a prefix")
    return name


_SECRET_KEYS = frozenset({"auth", "channel_data", "user_data", "user_info", "hash", "shared_secret"})
_SECRET_MARKERS = ('"auth"', "channel_data", "user_data", "user_info", '"hash"', "shared_secret",
                   '\\"auth\\"', '\\"hash\\"')


def redacted(frame: str) -> str:
    """``frame`` for a log line: auth signatures, channel and user data, presence member
    info and keys replaced by ``"<redacted>"`` (also inside a JSON-encoded ``data`` string)."""
    if not any(marker in frame for marker in _SECRET_MARKERS):
        return frame
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return "<unparsable frame redacted>"
    return json.dumps(_redact(message), separators=(",", ":"))


def _redact(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return "<redacted>"
    if isinstance(value, dict):
        return {k: "<redacted>" if k in _SECRET_KEYS else _redact(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, depth + 1) for v in value]
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            inner = json.loads(value)
        except (ValueError, RecursionError):
            return value
        return json.dumps(_redact(inner, depth + 1), separators=(",", ":"))
    return value
