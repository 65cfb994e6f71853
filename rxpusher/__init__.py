"""rxpusher: a Pusher Channels (protocol 7) client where the connection is a hot
ReactiveX Observable of frames, and channels, events, presence members and
connection state are Observables derived from it.

>>> from rxpusher import Pusher
>>> pusher = Pusher("APP_KEY", cluster="eu")                     # doctest: +SKIP
>>> pusher.channel("AAPL").events("new-price").subscribe(print)  # doctest: +SKIP
>>> pusher.run_forever()                      # until close() or Ctrl-C  # doctest: +SKIP

Everything public is importable from here: :class:`Pusher`, :class:`Channel`,
:class:`User`, :class:`Event`, :class:`Member`, :class:`Members`, :class:`Backoff`, the
states, :func:`replay`, :func:`close_all`, :func:`sequenced` (with :class:`Sequenced`,
:class:`Gap`, :class:`SequencedCounters`) and every exception. ``rxpusher.aio`` bridges to
asyncio, ``rxpusher.testing`` drives a client with scripted frames, ``rxpusher.server`` is
a local Pusher-compatible server, ``rxpusher.bridge`` writes a feed into Redis Streams or
NATS JetStream. The guide (``docs/guide.md``) explains each part.

Options of ``Pusher(key, *, ...)`` (keyword-only; a wrong type or value is a
``TypeError``/``ValueError`` naming the option, before any I/O; times in seconds):

| option | default | meaning |
|---|---|---|
| ``cluster`` | ``"mt1"`` | host ``ws-{cluster}.pusher.com`` |
| ``host`` | None | WebSocket host, or a list tried in turn; entries may carry ``:port``; overrides ``cluster`` |
| ``ws_port`` / ``wss_port`` | 80 / 443 | port without / with TLS |
| ``use_tls`` (alias ``encrypted``) | True | ``wss://`` with certificate verification |
| ``path`` | ``""`` | prefix before ``/app/{key}`` |
| ``secret`` | None | app secret: sign private, presence and encrypted subscriptions locally |
| ``channel_data`` | None | presence member data with ``secret``: ``{"user_id": ..., "user_info": {...}}`` |
| ``user_data`` | None | user data for ``signin()`` with ``secret`` |
| ``encryption_master_key`` | None | base64 32-byte key: with ``secret``, derive encrypted-channel keys locally |
| ``auth_endpoint`` | None | URL for channel authorization (form POST ``socket_id``, ``channel_name``) |
| ``auth`` | None | ``{"params", "headers", "username", "password"}`` for the endpoints; params and headers may be callables |
| ``authorizer`` | None | ``(channel_name, socket_id) -> {"auth": ..., "channel_data"?, "shared_secret"?}`` |
| ``auth_batch`` | False | authorize the channels due at the same moment in one request |
| ``batch_authorizer`` | None | ``(socket_id, [channel_names]) -> {channel: {"auth": ...}}`` for ``auth_batch`` |
| ``user_auth_endpoint`` | None | URL for ``signin()`` (form POST ``socket_id``) |
| ``user_authorizer`` | None | ``(socket_id) -> {"auth": ..., "user_data": "<json>"}`` for ``signin()`` |
| ``auth_timeout`` | 10.0 | the time one authorization may take |
| ``ssl_context`` | None | an ``ssl.SSLContext`` for the socket and the auth calls |
| ``ca_bundle`` | None | a CA bundle file for the socket and the auth calls |
| ``proxy`` | None | ``http://host:port`` or ``socks5://host:port`` (extra ``socks``) |
| ``activity_timeout`` | 120.0 | idle time before ``pusher:ping``; the smaller of this and the server's wins |
| ``pong_timeout`` | 30.0 | wait for any frame after a ping before reconnecting |
| ``unavailable_timeout`` | 10.0 | time in ``connecting`` before the state is ``unavailable`` |
| ``connect_timeout`` | 10.0 | one deadline for an attempt: TCP, TLS, upgrade and handshake |
| ``reconnect`` | ``Backoff()`` | the reconnect policy (:class:`Backoff`); close codes still rule |
| ``scheduler`` | None | where observers are called, through a bounded queue per observer; None: the thread that caused the notification, one at a time |
| ``scheduler_maxsize`` | 10_000 | the bound of that queue |
| ``scheduler_overflow`` | ``"error"`` | when it is full: ``"error"``, ``"drop_oldest"``, ``"drop_newest"`` |
| ``max_message_size`` | 10 MiB | the largest message accepted; above it the connection closes with 1009; also the bound of a chunked event put back together |
| ``chunk_timeout`` | 30.0 | the time the parts of one chunked event may take to arrive |
| ``client_event_rate`` | 10.0 | client events sent per second at most (Pusher's limit); beyond it ``trigger()`` queues them, in order; None: no pacing |
| ``client_event_queue`` | 1000 | client events that may wait for their turn; beyond that ``trigger()`` raises ``BufferOverflowError`` |
| ``io`` | ``"shared"`` | ``"shared"``: one I/O thread reads every client of the process; ``"dedicated"``: a reader thread of this client's own |
| ``auto_connect`` | True | connect in the constructor |
| ``transport`` | None | for tests: a transport factory (``rxpusher.testing.ScriptedServer().transport``) |
| ``timer_scheduler`` | None | for tests: the scheduler of every timer (``TestScheduler`` for virtual time) |
"""

import logging as _logging

from ._replay import replay
from ._states import AttemptCause, ChannelState, ConnectionState, Health, Interruption
from ._version import __version__
from ._channels import Channel
from ._client import Pusher, close_all
from ._exceptions import (
    AuthenticationError,
    BackfillError,
    BridgeError,
    BufferOverflowError,
    ClosedError,
    ConnectAttemptError,
    ConnectionRefused,
    DecryptionError,
    EmptySequenceError,
    InternalError,
    MissingDependencyError,
    ObserverError,
    ProtocolError,
    PusherError,
    RateLimitError,
    RetriesExhaustedError,
    SendError,
    ServerError,
    ServerRefusedError,
    SubscriptionError,
)
from ._presence import Member, Members
from ._protocol import Event
from ._retry import Backoff
from ._user import User
from ._sequenced import Gap, Sequenced, SequencedCounters, sequenced

__all__ = [
    "__version__",
    "Pusher",
    "close_all",
    "replay",
    "sequenced",
    "Sequenced",
    "SequencedCounters",
    "Gap",
    "Interruption",
    "Health",
    "Channel",
    "User",
    "Event",
    "Member",
    "Members",
    "Backoff",
    "ConnectionState",
    "ChannelState",
    "PusherError",
    "ClosedError",
    "InternalError",
    "SubscriptionError",
    "ServerRefusedError",
    "ConnectionRefused",
    "ConnectAttemptError",
    "AttemptCause",
    "RetriesExhaustedError",
    "SendError",
    "MissingDependencyError",
    "ProtocolError",
    "ObserverError",
    "ServerError",
    "RateLimitError",
    "AuthenticationError",
    "BackfillError",
    "DecryptionError",
    "BufferOverflowError",
    "EmptySequenceError",
    "BridgeError",
]

_logging.getLogger("rxpusher").addHandler(_logging.NullHandler())
