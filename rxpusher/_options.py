"""Client options: their defaults, validation and the WebSocket URL they lead to."""

from __future__ import annotations

import importlib.util

import dataclasses
import difflib
import math
import ssl
from collections.abc import Callable, Mapping
from typing import Any

from reactivex import abc

from ._internal.handoff import DEFAULT_MAXSIZE, OVERFLOW_POLICIES, Overflow
from ._chunks import DEFAULT_CHUNK_TIMEOUT
from ._internal.wsframes import DEFAULT_MAX_MESSAGE_SIZE
from ._pacing import DEFAULT_CLIENT_EVENT_QUEUE, DEFAULT_CLIENT_EVENT_RATE
from ._version import __version__
from ._protocol import PROTOCOL_VERSION
from ._exceptions import MissingDependencyError
from ._retry import Backoff

ChannelAuthorizer = Callable[[str, str], Mapping[str, Any]]
BatchAuthorizer = Callable[[str, list[str]], Mapping[str, Mapping[str, Any]]]
UserAuthorizer = Callable[[str], Mapping[str, Any]]

CLIENT_NAME = "python-rxpusher"
_SECRET_OPTIONS = frozenset({"secret", "encryption_master_key", "channel_data", "user_data"})


@dataclasses.dataclass(frozen=True)
class Options:
    """Every option ``Pusher(key, **options)`` accepts; the options table of
    ``docs/guide.md`` gives their meaning.

    ``transport`` (a factory of transports) and ``timer_scheduler`` (where the
    activity, pong, unavailable and reconnect timers run) are seams for tests:
    :mod:`rxpusher.testing` provides a scripted transport, and
    ``reactivex.testing.TestScheduler`` runs the timers in virtual time.
    """

    key: str
    cluster: str = "mt1"
    host: str | tuple[str, ...] | None = None
    ws_port: int = 80
    wss_port: int = 443
    use_tls: bool = True
    path: str = ""
    secret: str | None = None
    channel_data: Mapping[str, Any] | None = None
    user_data: Mapping[str, Any] | None = None
    encryption_master_key: str | None = None
    auth_endpoint: str | None = None
    auth: Mapping[str, Any] | None = None
    authorizer: ChannelAuthorizer | None = None
    auth_batch: bool = False
    batch_authorizer: BatchAuthorizer | None = None
    user_auth_endpoint: str | None = None
    user_authorizer: UserAuthorizer | None = None
    auth_timeout: float = 10.0
    ssl_context: ssl.SSLContext | None = None
    ca_bundle: str | None = None
    proxy: str | None = None
    activity_timeout: float = 120.0
    pong_timeout: float = 30.0
    unavailable_timeout: float = 10.0
    connect_timeout: float = 10.0
    reconnect: Backoff = dataclasses.field(default_factory=Backoff)
    scheduler: abc.SchedulerBase | None = None
    scheduler_maxsize: int = DEFAULT_MAXSIZE
    scheduler_overflow: Overflow = "error"
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    chunk_timeout: float = DEFAULT_CHUNK_TIMEOUT
    client_event_rate: float | None = DEFAULT_CLIENT_EVENT_RATE
    client_event_queue: int = DEFAULT_CLIENT_EVENT_QUEUE
    io: str = "shared"
    auto_connect: bool = True
    transport: Callable[[], Any] | None = None
    timer_scheduler: abc.SchedulerBase | None = None

    def __repr__(self) -> str:
        shown = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value == field.default:
                continue
            if field.name in _SECRET_OPTIONS:
                value = "***"
            elif field.name == "auth" and isinstance(value, Mapping):
                value = {k: "***" if k in ("password", "headers", "params") else v
                         for k, v in value.items()}
            shown.append(f"{field.name}={value!r}")
        return f"Options({', '.join(shown)})"

    @classmethod
    def from_kwargs(cls, key: Any, kwargs: dict[str, Any]) -> Options:
        """Validate the constructor arguments; ``ValueError``/``TypeError`` name the culprit."""
        if not isinstance(key, str) or not key:
            raise ValueError("Pusher needs an app key: a non-empty string")
        if "encrypted" in kwargs:
            if "use_tls" in kwargs and bool(kwargs["use_tls"]) != bool(kwargs["encrypted"]):
                raise ValueError("use_tls and its alias encrypted disagree")
            kwargs = dict(kwargs)
            kwargs["use_tls"] = bool(kwargs.pop("encrypted"))
        known = {f.name for f in dataclasses.fields(cls)} - {"key"}
        for name in kwargs:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"Pusher() got an unknown option {name!r}{hint}")
        if isinstance(kwargs.get("host"), (list, tuple)):
            kwargs = dict(kwargs)
            kwargs["host"] = tuple(kwargs["host"])
            if not kwargs["host"]:
                raise ValueError("host must be a host name or a non-empty list of them")
        options = cls(key=key, **kwargs)
        options._validate()
        return options

    def switched(self, *, key: str | None = None, cluster: str | None = None,
                 host: str | list[str] | tuple[str, ...] | None = None,
                 ws_port: int | None = None, wss_port: int | None = None) -> Options:
        """These options moved to another app key and/or cluster or host
        (``Pusher.switch_cluster``): what is given replaces what was; a ``cluster`` without
        a ``host`` drops the host, so that the cluster's host is used. Validated like the
        constructor's arguments (``ValueError``/``TypeError``)."""
        changes: dict[str, Any] = {}
        if key is not None:
            if not isinstance(key, str) or not key:
                raise ValueError("switch_cluster needs a non-empty app key")
            changes["key"] = key
        if cluster is not None:
            changes["cluster"] = cluster
            changes["host"] = None
        if host is not None:
            changes["host"] = tuple(host) if isinstance(host, (list, tuple)) else host
            if changes["host"] == ():
                raise ValueError("host must be a host name or a non-empty list of them")
        if ws_port is not None:
            changes["ws_port"] = ws_port
        if wss_port is not None:
            changes["wss_port"] = wss_port
        if not changes:
            raise ValueError("switch_cluster needs a key, cluster, host, ws_port or wss_port")
        options = dataclasses.replace(self, **changes)
        options._validate()
        return options

    def _validate(self) -> None:
        for name in ("activity_timeout", "pong_timeout", "unavailable_timeout", "auth_timeout",
                     "connect_timeout", "chunk_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"{name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive, finite number of seconds, got {value!r}")
        for name in ("ws_port", "wss_port"):
            port = getattr(self, name)
            if not isinstance(port, int) or isinstance(port, bool):
                raise TypeError(f"{name} must be an int, got {port!r}")
            if not 0 < port < 65536:
                raise ValueError(f"{name} must be between 1 and 65535, got {port!r}")
        for name in ("cluster", "path"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str, got {getattr(self, name)!r}")
        if self.host is not None:
            if not isinstance(self.host, (str, tuple)):
                raise TypeError(f"host must be a host name or a list of them, got {self.host!r}")
            hosts = (self.host,) if isinstance(self.host, str) else self.host
            for host in hosts:
                if not isinstance(host, str) or not host.strip():
                    raise TypeError(f"host must be a host name or a list of them, got {host!r}")
                _reject_url(host)
                split_host_port(host, 80)
        else:
            _check_cluster(self.cluster)
        for name in ("secret", "encryption_master_key", "auth_endpoint", "user_auth_endpoint",
                     "ca_bundle", "proxy"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        for name in ("use_tls", "auto_connect", "auth_batch"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        for name in ("authorizer", "batch_authorizer", "user_authorizer", "transport"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable, got {value!r}")
        for name in ("scheduler", "timer_scheduler"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, abc.SchedulerBase):
                raise TypeError(f"{name} must be a reactivex scheduler, got {value!r}")
        rate = self.client_event_rate
        if rate is not None:
            if not isinstance(rate, (int, float)) or isinstance(rate, bool):
                raise TypeError(f"client_event_rate must be a number per second or None, got {rate!r}")
            if not math.isfinite(rate) or rate <= 0:
                raise ValueError(
                    f"client_event_rate must be a positive, finite number or None, got {rate!r}")
        for name in ("scheduler_maxsize", "max_message_size", "client_event_queue"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.scheduler_overflow not in OVERFLOW_POLICIES:
            raise ValueError(
                f"scheduler_overflow must be one of {sorted(OVERFLOW_POLICIES)}, "
                f"got {self.scheduler_overflow!r}"
            )
        if self.io not in ("shared", "dedicated"):
            raise ValueError(f"io must be 'shared' or 'dedicated', got {self.io!r}")
        if not isinstance(self.reconnect, Backoff):
            raise TypeError("reconnect must be an rxpusher.Backoff")
        if self.encryption_master_key is not None:
            from ._encryption import decode_master_key

            decode_master_key(self.encryption_master_key)
        if self.auth is not None and not isinstance(self.auth, Mapping):
            raise TypeError("auth must be a dict with params, headers, username, password")
        for name in ("channel_data", "user_data"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
        if self.channel_data is not None and "user_id" not in self.channel_data:
            raise ValueError("channel_data needs a user_id")
        if self.ssl_context is not None and not isinstance(self.ssl_context, ssl.SSLContext):
            raise TypeError("ssl_context must be an ssl.SSLContext")
        for name in ("auth_endpoint", "user_auth_endpoint"):
            url = getattr(self, name)
            if url is not None and not str(url).startswith(("http://", "https://")):
                raise ValueError(f"{name} must be an absolute http(s) URL, got {url!r}")
        if self.proxy is not None and "://" not in self.proxy:
            raise ValueError("proxy must be a URL such as http://host:3128 or socks5://host:1080")
        if self.proxy is not None and self.proxy.lower().startswith("socks") \
                and importlib.util.find_spec("python_socks") is None:
            raise MissingDependencyError(
                f"a {self.proxy.split(':', 1)[0]}:// proxy needs the socks extra: "
                "pip install 'rxpusher[socks]'")

    @property
    def hosts(self) -> tuple[str, ...]:
        """The WebSocket hosts, tried in turn when an attempt fails."""
        if self.host is None:
            return (f"ws-{self.cluster}.pusher.com",)
        return (self.host,) if isinstance(self.host, str) else self.host

    def url(self, use_tls: bool | None = None, host_index: int = 0) -> str:
        """The WebSocket URL; ``use_tls`` overrides the option (close code 4000 forces TLS),
        ``host_index`` picks one of several hosts."""
        tls = self.use_tls if use_tls is None else use_tls
        hosts = self.hosts
        host, port = split_host_port(hosts[host_index % len(hosts)],
                                     self.wss_port if tls else self.ws_port)
        if ":" in host:
            host = f"[{host}]"  # an IPv6 literal
        path = self.path.rstrip("/")
        if path and not path.startswith("/"):
            path = "/" + path
        return (
            f"{'wss' if tls else 'ws'}://{host}:{port}{path}/app/{self.key}"
            f"?protocol={PROTOCOL_VERSION}&client={CLIENT_NAME}&version={__version__}"
        )


def _reject_url(host: str) -> None:
    """``host="wss://ws-eu.pusher.com:443"`` built ``wss://[wss://...]``: say what to pass."""
    scheme, sep, rest = host.strip().partition("://")
    if not sep and "/" not in host:
        return
    if not sep:
        raise ValueError(f"host must be a host name with an optional :port, got {host!r}; "
                         "pass a path prefix as path=...")
    netloc = rest.split("/", 1)[0]
    tls = scheme.lower() in ("wss", "https")
    hint = f"host={netloc!r}" if netloc else "host='HOST[:PORT]'"
    if scheme.lower() in ("ws", "http"):
        hint += ", use_tls=False"
    name = netloc.split(":", 1)[0]
    if name.startswith("ws-") and name.endswith(".pusher.com"):
        hint = f"cluster={name[3:-len('.pusher.com')]!r} (or {hint})"
    raise ValueError(f"host takes a host name, not a URL: got {host!r}; pass {hint}"
                     + ("" if tls or scheme.lower() in ("ws", "http") else
                        " (the scheme comes from use_tls)"))


def _check_cluster(cluster: str) -> None:
    """``cluster="ws-eu.pusher.com"`` built ``ws-ws-eu.pusher.com.pusher.com``."""
    if cluster and all(c.isalnum() or c == "-" for c in cluster):
        return
    name = cluster.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if name.startswith("ws-") and name.endswith(".pusher.com"):
        hint = f"cluster={name[3:-len('.pusher.com')]!r}"
    else:
        hint = f"host={name!r} for your own server" if name else "cluster='eu', say"
    raise ValueError(f"cluster takes a Pusher cluster name such as 'eu' or 'mt1', got "
                     f"{cluster!r}; pass {hint}")


def split_host_port(entry: str, default_port: int) -> tuple[str, int]:
    """``"node1:6001"`` -> ``("node1", 6001)``; an entry without a port takes
    ``default_port``. ``[::1]:6001`` and bare IPv6 literals work too."""
    entry = entry.strip()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
    else:
        host, port_text = entry, ""
    if not host:
        raise ValueError(f"host entry {entry!r} has no host name")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"host entry {entry!r} has a bad port")
    return host, int(port_text)
