"""Bridges to brokers: write a Pusher feed into Redis Streams or NATS JetStream, effectively
once, for a fleet of workers to read.

>>> from rxpusher import Pusher
>>> from rxpusher.bridge import RedisStreamSink
>>> pusher = Pusher("APP_KEY", cluster="eu")                        # doctest: +SKIP
>>> sink = RedisStreamSink("redis://localhost:6379/0")              # doctest: +SKIP
>>> pusher.channel("prices").events().subscribe(sink)              # doctest: +SKIP

:class:`RedisStreamSink` (extra ``rxpusher[redis]``) and :class:`JetStreamSink` (extra
``rxpusher[nats]``) are Rx observers of :class:`~rxpusher.Event` items (``pusher.events()``,
``channel.events()``) or of a sequenced feed's data (``feed.events``, with ``seq=``). Each
entry carries ``type``, ``id``, ``channel``, ``event``, ``data`` (the JSON text),
``user_id``, ``seq`` (when known) and ``received_at``; writes are idempotent on ``id``, so a
restarted bridge or two bridges on the same feed write each event once. Interruptions and
gaps are entries too. While the broker is down the sink buffers (bounded by ``max_buffer``),
reconnects with the client's backoff, and reports :class:`~rxpusher.BridgeError` on the
client's ``errors``. ``close()`` flushes within ``flush_timeout``. The guide's section
"Bridges to brokers" says what "effectively once" covers and where it stops.
"""

from .._exceptions import BridgeError
from ._jetstream import JetStreamSink
from ._redis_streams import RedisStreamSink
from ._sink import BridgeStats

__all__ = ["RedisStreamSink", "JetStreamSink", "BridgeStats", "BridgeError"]
