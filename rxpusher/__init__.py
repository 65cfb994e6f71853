"""rxpusher: a Pusher Channels (protocol 7) client where the connection is a hot
ReactiveX Observable of frames, and channels, events, presence members and
connection state are Observables derived from it.

>>> from rxpusher import Pusher
>>> pusher = Pusher("APP_KEY", cluster="eu")                     # doctest: +SKIP
>>> pusher.channel("AAPL").events("new-price").subscribe(print)  # doctest: +SKIP
"""

import logging as _logging

from ._replay import replay
from ._states import ChannelState, ConnectionState, Health, Interruption
from ._version import __version__
from .channels import Channel
from .client import Pusher, close_all
from .exceptions import (
    AuthenticationError,
    BufferOverflowError,
    ClosedError,
    ConnectAttemptError,
    ConnectionRefused,
    DecryptionError,
    EmptySequenceError,
    InternalError,
    ObserverError,
    ProtocolError,
    PusherError,
    ServerError,
    ServerRefusedError,
    SubscriptionError,
)
from .presence import Member, Members
from .protocol import Event
from .retry import Backoff
from .user import User

__all__ = [
    "__version__",
    "Pusher",
    "close_all",
    "replay",
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
    "ProtocolError",
    "ObserverError",
    "ServerError",
    "AuthenticationError",
    "DecryptionError",
    "BufferOverflowError",
    "EmptySequenceError",
]

_logging.getLogger("rxpusher").addHandler(_logging.NullHandler())
