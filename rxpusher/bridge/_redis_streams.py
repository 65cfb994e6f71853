"""Redis Streams: entries added with XADD by a script that first claims the entry's id for the
dedupe window (``SET key NX PX window``), atomically, so that a restarted bridge or a second
bridge on the same feed adds each entry once. Uses redis-py (extra ``rxpusher[redis]``)."""

from __future__ import annotations

from typing import Any

from .._retry import Backoff
from ._entries import Template, redis_fields
from ._sink import Backend, BrokerSink, SeqSpec, seconds

__all__ = ["RedisStreamSink", "ADD_ONCE", "dedupe_key"]

ADD_ONCE = """
local window = ARGV[1]
local maxlen = tonumber(ARGV[2])
local added = {}
local at = 3
for i = 1, #KEYS, 2 do
  local n = tonumber(ARGV[at])
  at = at + 1
  if redis.call('SET', KEYS[i + 1], '1', 'NX', 'PX', window) then
    local command = {'XADD', KEYS[i]}
    if maxlen > 0 then
      table.insert(command, 'MAXLEN')
      table.insert(command, '~')
      table.insert(command, maxlen)
    end
    table.insert(command, '*')
    for j = at, at + n - 1 do
      table.insert(command, ARGV[j])
    end
    redis.call(unpack(command))
    added[#added + 1] = 1
  else
    added[#added + 1] = 0
  end
  at = at + n
end
return added
"""
"""Adds entries, each only when its id is new within the window, atomically. KEYS: per entry
its stream and its id's dedupe key. ARGV: the window in ms, MAXLEN (0: none), then per entry
the number of field/value strings and those strings. Returns 1 (added) or 0 (a duplicate)
per entry."""

PER_CALL = 100
"""Entries per script call (a script holds the server while it runs: keep each call short)."""

SCAN_LIMIT = 10_000
"""Entries read back from the end of a stream at most to find the last seq of a channel."""

TARGET_LIMIT = 1_000
"""Streams of one channel read at most to find its last seq (``{event}`` in the stream)."""


def dedupe_key(stream: str, entry_id: str) -> str:
    """The key that holds ``entry_id`` of ``stream`` for the dedupe window."""
    return f"rxpusher:dedupe:{stream}:{entry_id}"


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "RedisStreamSink needs redis-py: pip install 'rxpusher[redis]'") from exc
    return redis


class _RedisBackend(Backend):
    broker = "redis"

    def __init__(self, url: str, maxlen: int | None, window_ms: int, timeout: float) -> None:
        self._url = url
        self._maxlen = maxlen or 0
        self._window = window_ms
        self._timeout = timeout
        self._client: Any = None
        self._script: Any = None

    def connect(self) -> None:
        redis = _import_redis()
        client = redis.Redis.from_url(self._url, socket_timeout=self._timeout,
                                      socket_connect_timeout=self._timeout,
                                      decode_responses=True)
        try:
            client.ping()
            self._script = client.register_script(ADD_ONCE)
        except BaseException:
            client.close()
            raise
        self._client = client

    def write(self, entries: list[tuple[str, dict[str, Any]]]) -> int:
        pipe = self._client.pipeline(transaction=False)
        for offset in range(0, len(entries), PER_CALL):
            keys: list[str] = []
            args: list[Any] = [self._window, self._maxlen]
            for stream, record in entries[offset:offset + PER_CALL]:
                fields = redis_fields(record)
                keys += (stream, dedupe_key(stream, record["id"]))
                args.append(len(fields))
                args += fields
            self._script(keys=keys, args=args, client=pipe)
        return sum(int(added) for answer in pipe.execute() for added in answer)

    def last_seq(self, target: str, channel: str, event: str | None) -> int | None:
        end = "+"
        scanned = 0
        while scanned < SCAN_LIMIT:
            page = self._client.xrevrange(target, max=end, min="-", count=200)
            if not page:
                return None
            for entry_id, fields in page:
                if (fields.get("type") == "event" and fields.get("channel") == channel
                        and (event is None or fields.get("event") == event)
                        and fields.get("seq", "").lstrip("-").isdigit()):
                    return int(fields["seq"])
            scanned += len(page)
            end = "(" + page[-1][0]
        return None

    def targets(self, pattern: str) -> list[str]:
        found: list[str] = []
        for key in self._client.scan_iter(match=pattern, count=500, _type="STREAM"):
            found.append(key)
            if len(found) >= TARGET_LIMIT:
                break
        return found

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass


class RedisStreamSink(BrokerSink):
    """An Rx observer that writes what it receives to Redis Streams, effectively once.

    Observe ``pusher.events()`` or ``channel.events()`` (``Event`` items), or a sequenced
    feed's ``events`` with ``seq=`` (the data field, or a function of the data, holding
    the seq; ``channel=``/``event=`` name the feed's channel and event). Each entry is added
    with XADD to ``stream`` (``{channel}`` and ``{event}`` are replaced) with the fields
    ``type`` (``event``), ``id``, ``channel``, ``event``, ``data`` (JSON text), ``user_id``
    (empty when None), ``seq`` (when known) and ``received_at`` (UTC ISO 8601). ``id`` is
    ``<channel>:<seq>`` with a seq, else a digest of channel, event and data; an entry whose id
    the stream got within ``dedupe_window`` seconds is not added again. The channel's
    interruptions (``type`` ``interruption``: ``lost_at``, ``resubscribed_at``) and gaps
    (``type`` ``gap``: ``first``, ``last``, ``count``, ``reason``) are entries too.

    While Redis is unreachable, at most ``max_buffer`` entries wait; beyond that the oldest
    are dropped and a ``gap`` entry (``reason`` ``buffer_full``) records them. Failures are
    reported as :class:`~rxpusher.BridgeError` on the ``errors`` of the client whose stream
    the sink observes (and on the sink's :attr:`errors`); the sink retries with ``reconnect``
    (default: that client's backoff). ``maxlen`` trims the stream (``MAXLEN ~``).
    :meth:`close` (or ``dispose()``, ``with``) writes what is left within ``flush_timeout``.
    """

    broker = "redis"

    def __init__(self, url: str, *, stream: str = "pusher:{channel}", maxlen: int | None = None,
                 seq: SeqSpec | None = None, channel: str | None = None,
                 event: str | None = None, dedupe_window: float = 600.0,
                 max_buffer: int = 100_000, flush_timeout: float = 10.0,
                 reconnect: Backoff | None = None, timeout: float = 5.0) -> None:
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"url must be a redis://, rediss:// or unix:// URL, got {url!r}")
        if maxlen is not None and (not isinstance(maxlen, int) or isinstance(maxlen, bool)
                                   or maxlen < 1):
            raise ValueError(f"maxlen must be an integer >= 1 or None, got {maxlen!r}")
        _import_redis()
        self._maxlen = maxlen
        self._window_ms = max(1, int(seconds("dedupe_window", dedupe_window) * 1000))
        self._timeout = seconds("timeout", timeout)
        super().__init__(url, Template(stream, "stream"), seq=seq, channel=channel, event=event,
                         max_buffer=max_buffer, flush_timeout=flush_timeout, reconnect=reconnect)

    def _call_timeout(self) -> float:
        return self._timeout * 2 + 1.0

    def _make_backend(self) -> Backend:
        return _RedisBackend(self.url, self._maxlen, self._window_ms, self._timeout)
