"""Channel handles: streams, callbacks and client events of one channel name.

A :class:`Channel` holds no state of its own; it asks the client's session, which owns
the subscription. The first observer of any of its streams (or a callback binding, or
``Pusher.subscribe``) sends ``pusher:subscribe``; the last one to leave sends
``pusher:unsubscribe``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, overload

from reactivex import Observable, abc

from . import _protocol as protocol
from ._chunks import CHUNK_LIMIT, chunked_name, split
from ._states import ChannelState, Interruption
from ._presence import Member, Members
from ._protocol import ChannelKind, Event
from ._router import ANY_EVENT, MEMBER_ADDED, MEMBER_REMOVED, MEMBERS, observable

if TYPE_CHECKING:
    from ._session import ClientSession

__all__ = ["Channel"]


class Channel:
    """A Pusher channel. Get it from ``Pusher.channel(name)`` or ``Pusher.subscribe(name)``.

    Its streams are cold views on the one hot connection: subscribing to any of them
    (``events``, ``members``, ``member_added``, ``member_removed``) or binding a callback
    subscribes the channel on the server; ``state`` does not. Two handles of the same
    name on the same client are equal and interchangeable.
    """

    __slots__ = ("name", "kind", "_session", "__weakref__")

    def __init__(self, name: str, session: ClientSession) -> None:
        self.name = name
        """The channel name."""
        self.kind = protocol.channel_kind(name)
        self._session = session

    def __repr__(self) -> str:
        return f"<Channel {self.name!r} {self._session.channel_state(self.name)}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Channel):
            return NotImplemented
        return self.name == other.name and self._session is other._session

    def __hash__(self) -> int:
        return hash((self.name, id(self._session)))

    # ---- state ----------------------------------------------------------------------------

    @property
    def state(self) -> Observable[ChannelState]:
        """The subscription state now and at every change (a :class:`ChannelState`:
        ``unsubscribed``, ``pending``, ``subscribed``, ``failed``). Observing it does not
        subscribe the channel; completes on ``Pusher.close``."""
        session, name = self._session, self.name
        return observable(lambda observer: session.observe_channel_state(name, observer))

    @property
    def interruptions(self) -> Observable[Interruption]:
        """An :class:`Interruption` each time this channel, subscribed before its connection
        was lost, is subscribed again: events published in that window may be missing, so
        refetch what you need. Observing it does not subscribe the channel."""
        session, name = self._session, self.name
        return observable(lambda observer: session.observe_interruptions(name, observer))

    @property
    def subscribed(self) -> bool:
        """True while the server has confirmed the subscription."""
        return self._session.channel_state(self.name) is ChannelState.SUBSCRIBED

    @property
    def subscription_count(self) -> int | None:
        """The latest ``pusher:subscription_count`` the server sent, or None."""
        return self._session.subscription_count(self.name)

    def wait_subscribed(self, timeout: float | None = None) -> None:
        """Block until the server confirmed the subscription (at once if it has). Does not
        subscribe: something else (an observer, ``Pusher.subscribe``) must want the channel.

        Raises the channel's :class:`SubscriptionError` when the subscription failed,
        :class:`ServerRefusedError` when the server refused the connection, :class:`ClosedError`
        after ``close()``, and ``TimeoutError`` after ``timeout`` seconds."""
        self._session.wait_subscribed(self.name, timeout)

    # ---- streams ---------------------------------------------------------------------------

    @overload
    def events(self, name: None = None) -> Observable[Event]: ...

    @overload
    def events(self, name: str) -> Observable[Any]: ...

    def events(self, name: str | None = None) -> Observable[Any]:
        """Decoded data of every ``name`` event on this channel; with no name, every
        :class:`Event` of the channel. Errors with :class:`SubscriptionError` when the
        subscription fails and with :class:`ServerRefusedError` when the server refuses the
        connection; completes on ``Pusher.unsubscribe`` and ``Pusher.close``."""
        if name is None:
            return self._stream(ANY_EVENT, project=False)
        if not isinstance(name, str) or not name:
            raise ValueError("event name must be a non-empty string or None")
        return self._stream(name, project=True)

    @property
    def members(self) -> Observable[Members]:
        """A :class:`Members` snapshot now (once subscribed) and after every change."""
        self._require_presence()
        return self._stream(MEMBERS, project=False)

    @property
    def member_added(self) -> Observable[Member]:
        """Every :class:`Member` that joins this presence channel."""
        self._require_presence()
        return self._stream(MEMBER_ADDED, project=False)

    @property
    def member_removed(self) -> Observable[Member]:
        """Every :class:`Member` that leaves this presence channel."""
        self._require_presence()
        return self._stream(MEMBER_REMOVED, project=False)

    def _stream(self, key: Hashable, project: bool, terminates: bool = True) -> Observable[Any]:
        session, name = self._session, self.name
        return observable(lambda observer: session.attach(
            name, key, observer, project=project, terminates=terminates))

    def _require_presence(self) -> None:
        if self.kind is not ChannelKind.PRESENCE:
            raise TypeError(f"{self.name!r} is not a presence channel")

    # ---- callbacks (the pusher-js API) ----------------------------------------------------------

    def bind(self, event: str, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(data)`` for every ``event`` on this channel (subscribes it).

        The binding survives subscription errors: it sees ``pusher:subscription_error``.
        Raises :class:`ClosedError` after ``Pusher.close``.
        """
        if not isinstance(event, str) or not event:
            raise ValueError("event name must be a non-empty string")
        stream = self._stream(event, project=True, terminates=False)
        self._session.bind(self.name, event, callback, lambda on_next: stream.subscribe(on_next))

    def bind_all(self, callback: Callable[[str, Any], Any]) -> None:
        """Call ``callback(event_name, data)`` for every event on this channel."""
        stream = self._stream(ANY_EVENT, project=False, terminates=False)
        self._session.bind(self.name, None, callback, lambda on_next: stream.subscribe(on_next))

    def unbind(self, event: str | None = None, callback: Callable[..., Any] | None = None) -> None:
        """Remove bindings: of ``event`` (or every event), of ``callback`` (or every one)."""
        self._session.unbind(self.name, event, callback)

    # ---- client events -----------------------------------------------------------------------

    def trigger(self, event: str, data: Any, *, chunked: bool = False) -> None:
        """Send a client event (``client-*``) to the other subscribers of this private or
        presence channel.

        Client events are paced to ``client_event_rate`` (Pusher's 10 per second per
        connection by default): beyond it they wait, in order, and go out at that rate;
        ``trigger`` returns at once. With ``chunked=True``, data whose JSON is larger than
        Pusher's 10 KB limit is sent as ``client-chunked-<name>`` parts that receiving
        rxpusher clients deliver as ``event`` (pusher-js with ``bindWithChunking``).

        Raises ``ValueError`` for another name or channel kind, or for data JSON cannot
        carry (NaN), :class:`SendError` when the channel is not subscribed, the client not
        connected (nothing is queued then) or the socket fails, :class:`BufferOverflowError`
        when ``client_event_queue`` events are already waiting, and :class:`ClosedError`
        after ``Pusher.close``."""
        if not isinstance(event, str) or not event.startswith(protocol.CLIENT_EVENT_PREFIX):
            raise ValueError(f"client event names start with 'client-', got {event!r}")
        if self.kind is ChannelKind.PRIVATE_ENCRYPTED:
            raise ValueError("client events cannot be sent on encrypted channels")
        if self.kind not in (ChannelKind.PRIVATE, ChannelKind.PRESENCE):
            raise ValueError(
                f"client events can only be sent on private- and presence- channels, not {self.name!r}"
            )
        messages: list[tuple[str, Any]] = [(event, data)]
        if chunked:
            text = json.dumps(data, separators=(",", ":"), allow_nan=False)
            if len(text.encode()) > CHUNK_LIMIT:
                name = chunked_name(event)
                messages = [(name, part) for part in split(text)]
        self._session.trigger(self.name, messages)
