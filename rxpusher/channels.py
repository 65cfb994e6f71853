"""Channels: one handle per name, with a reference-counted server subscription.

The first observer of any of a channel's streams (or a callback binding, or
``Pusher.subscribe``) sends ``pusher:subscribe``; the last one to leave sends
``pusher:unsubscribe``. Every method whose name starts with ``_on`` or ``_``
runs with the client's lock held unless it says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from . import encryption, protocol
from ._internal.bindings import Bindings
from ._internal.host import ClientHost
from ._internal.hub import ReplayHub
from .auth import Authorization
from .exceptions import PusherError, SubscriptionError
from .presence import Member, Members, Roster
from .protocol import ChannelKind, Event
from .router import ANY_EVENT, Sink

__all__ = ["Channel"]

UNSUBSCRIBED = "unsubscribed"
PENDING = "pending"
SUBSCRIBED = "subscribed"
FAILED = "failed"

_MEMBERS: Hashable = ("members",)
_MEMBER_ADDED: Hashable = ("member_added",)
_MEMBER_REMOVED: Hashable = ("member_removed",)


class Channel:
    """A Pusher channel. Get it from ``Pusher.channel(name)`` or ``Pusher.subscribe(name)``.

    Its streams are cold views on the one hot connection: subscribing to any of
    them (``events``, ``members``, ``member_added``, ``member_removed``) or binding
    a callback subscribes the channel on the server; ``state`` does not.
    """

    def __init__(self, name: str, host: ClientHost) -> None:
        self.name = name
        self.kind = protocol.channel_kind(name)
        self._host = host
        self._observers = 0
        self._pinned = False
        self._closed = False
        self._generation = 0
        self._subscribed_on: str | None = None
        self._subscription_count: int | None = None
        self._state: ReplayHub[str] = ReplayHub(UNSUBSCRIBED, host.report, host.lock)
        self._roster = Roster() if self.kind is ChannelKind.PRESENCE else None
        self._bindings = Bindings(host.lock)
        self._shared_secret: bytes | None = None
        self._key_fresh = False
        self._rotation: list[Event] | None = None
        if self.kind is ChannelKind.PRIVATE_ENCRYPTED:
            encryption.require_nacl()

    def __repr__(self) -> str:
        return f"<Channel {self.name!r} {self._state.value}>"

    # ---- streams ---------------------------------------------------------------------

    @property
    def state(self) -> Observable[str]:
        """The subscription state now and at every change: ``unsubscribed``, ``pending``,
        ``subscribed``, ``failed``. Observing it does not subscribe the channel."""
        return self._host.deliver_on(self._state.observable)

    @property
    def subscribed(self) -> bool:
        """True while the server has confirmed the subscription."""
        return self._state.value == SUBSCRIBED

    @property
    def subscription_count(self) -> int | None:
        """The latest ``pusher:subscription_count`` the server sent, or None."""
        return self._subscription_count

    def events(self, name: str | None = None) -> Observable[Any]:
        """Decoded data of every ``name`` event on this channel; with no name, every
        :class:`Event` of the channel. Errors with :class:`SubscriptionError` when the
        subscription fails and with ``ConnectionRefused`` when the server refuses the
        connection; completes on ``Pusher.unsubscribe`` and ``Pusher.close``."""
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError("event name must be a non-empty string or None")
        if name is None:
            return self._stream(ANY_EVENT, project=False)
        return self._stream(name, project=True)

    @property
    def members(self) -> Observable[Members]:
        """A :class:`Members` snapshot now (once subscribed) and after every change."""
        roster = self._presence_roster()
        return self._stream(
            _MEMBERS, project=False, initial=lambda: roster.snapshot if roster.ready else None
        )

    @property
    def member_added(self) -> Observable[Member]:
        """Every :class:`Member` that joins this presence channel."""
        self._presence_roster()
        return self._stream(_MEMBER_ADDED, project=False)

    @property
    def member_removed(self) -> Observable[Member]:
        """Every :class:`Member` that leaves this presence channel."""
        self._presence_roster()
        return self._stream(_MEMBER_REMOVED, project=False)

    # ---- callbacks (the seed's API) ----------------------------------------------------

    def bind(self, event: str, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(data)`` for every ``event`` on this channel (subscribes it).

        The binding survives subscription errors: it sees ``pusher:subscription_error``.
        """
        self._bindings.bind(event, callback, self._stream(event, project=True, terminates=False))

    def bind_all(self, callback: Callable[[str, Any], Any]) -> None:
        """Call ``callback(event_name, data)`` for every event on this channel."""
        self._bindings.bind(None, callback, self._stream(ANY_EVENT, project=False, terminates=False))

    def unbind(self, event: str | None = None, callback: Callable[..., Any] | None = None) -> None:
        """Remove bindings: of ``event`` (or every event), of ``callback`` (or every one)."""
        self._bindings.unbind(event, callback)

    # ---- client events -----------------------------------------------------------------

    def trigger(self, event: str, data: Any) -> None:
        """Send a client event (``client-*``) to the other subscribers of this private or
        presence channel. Raises ``ValueError`` for another name or channel kind and
        :class:`PusherError` when the channel is not subscribed."""
        if not isinstance(event, str) or not event.startswith(protocol.CLIENT_EVENT_PREFIX):
            raise ValueError(f"client event names start with 'client-', got {event!r}")
        if self.kind is ChannelKind.PRIVATE_ENCRYPTED:
            raise ValueError("client events cannot be sent on encrypted channels")
        if self.kind not in (ChannelKind.PRIVATE, ChannelKind.PRESENCE):
            raise ValueError(
                f"client events can only be sent on private- and presence- channels, not {self.name!r}"
            )
        with self._host.lock:
            if not self.subscribed:
                raise PusherError(f"cannot trigger {event!r}: {self.name!r} is not subscribed")
            sent = self._host.connection.send(protocol.encode_frame(event, data, self.name))
        if not sent:
            raise PusherError(f"cannot trigger {event!r}: the connection is down")

    # ---- reference counting ----------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while something wants this channel subscribed."""
        return self._observers > 0 or self._pinned

    def _stream(
        self,
        key: Hashable,
        project: bool,
        terminates: bool = True,
        initial: Callable[[], Any] | None = None,
    ) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sink = Sink(observer, project, terminates)
            with self._host.lock:
                if self._closed:
                    observer.on_completed()
                    return Disposable()
                self._attach(key, sink)
                first = initial() if initial is not None else None
            if first is not None:
                try:
                    observer.on_next(first)
                except Exception as exc:  # noqa: BLE001
                    self._host.report(exc)
            return Disposable(lambda: self._detach(key, sink))

        return self._host.deliver_on(reactivex.create(subscribe))

    def _attach(self, key: Hashable, sink: Sink) -> None:
        self._host.router.add(self.name, key, sink)
        self._observers += 1
        if (self._observers == 1 and not self._pinned) or self._state.value == FAILED:
            self._subscribe_now()

    def _detach(self, key: Hashable, sink: Sink) -> None:
        with self._host.lock:
            if not self._host.router.remove(self.name, key, sink):
                return
            self._observers -= 1
            if not self.active:
                self._deactivate()

    def _pin(self) -> None:
        if self._pinned:
            if self._state.value == FAILED:
                self._subscribe_now()
            return
        self._pinned = True
        if self._observers == 0 or self._state.value == FAILED:
            self._subscribe_now()

    # ---- the subscription --------------------------------------------------------------

    def _subscribe_now(self) -> None:
        """Subscribe on the current socket, or wait as ``pending`` for one."""
        self._generation += 1
        self._state.set(PENDING)
        socket_id = self._host.connection.socket_id
        if socket_id is None:
            return
        if self.kind is ChannelKind.PUBLIC:
            self._send_subscribe(socket_id, Authorization(""))
            return
        generation = self._generation
        self._host.authorizer.authorize(
            self.name, socket_id, lambda outcome: self._on_authorized(generation, socket_id, outcome)
        )

    def _on_authorized(self, generation: int, socket_id: str, outcome: Any) -> None:
        """Runs on any thread; takes the lock itself."""
        with self._host.lock:
            current = (
                generation == self._generation
                and socket_id == self._host.connection.socket_id
                and self.active
                and not self._closed
            )
            if not current:
                return
            if isinstance(outcome, SubscriptionError):
                failed = outcome
            else:
                self._send_subscribe(socket_id, outcome)
                return
        self._fail(failed, synthesize=True)

    def _send_subscribe(self, socket_id: str, authorization: Authorization) -> None:
        payload: dict[str, Any] = {"channel": self.name}
        if authorization.auth:
            payload["auth"] = authorization.auth
        if authorization.channel_data is not None:
            payload["channel_data"] = authorization.channel_data
            if self._roster is not None:
                self._roster.set_me(authorization.channel_data)
        if self.kind is ChannelKind.PRIVATE_ENCRYPTED:
            self._shared_secret = authorization.shared_secret
            self._key_fresh = False
        if self._host.connection.send(protocol.encode_frame(protocol.SUBSCRIBE, payload)):
            self._subscribed_on = socket_id

    def _deactivate(self) -> None:
        self._generation += 1
        connection = self._host.connection
        if self._subscribed_on is not None and self._subscribed_on == connection.socket_id:
            connection.send(protocol.encode_frame(protocol.UNSUBSCRIBE, {"channel": self.name}))
        self._subscribed_on = None
        self._subscription_count = None
        if self._roster is not None:
            self._host.router.emit(self.name, _MEMBERS, self._roster.clear())
        if self._state.value != FAILED:
            self._state.set(UNSUBSCRIBED)

    def _on_connection_lost(self) -> None:
        self._generation += 1
        self._subscribed_on = None
        self._subscription_count = None
        if self._roster is not None and self._roster.ready:
            self._host.router.emit(self.name, _MEMBERS, self._roster.clear())
        self._state.set(PENDING if self.active else UNSUBSCRIBED)

    # ---- protocol events (called by the client on the reader thread) ------------------------

    def _apply(self, event: Event) -> None:
        """Apply what a protocol event (``pusher_internal:*`` renamed ``pusher:*``) says about
        this channel, before the client delivers it."""
        name = event.name
        router = self._host.router
        if name == protocol.SUBSCRIPTION_SUCCEEDED:
            with self._host.lock:
                if not self.active or self._subscribed_on is None:
                    return  # left meanwhile: _deactivate already sent pusher:unsubscribe
                snapshot = self._roster.reset(event.data) if self._roster is not None else None
                self._state.set(SUBSCRIBED)
            if snapshot is not None:
                router.emit(self.name, _MEMBERS, snapshot)
        elif name in (protocol.MEMBER_ADDED, protocol.MEMBER_REMOVED) and self._roster is not None:
            with self._host.lock:
                adding = name == protocol.MEMBER_ADDED
                member = self._roster.add(event.data) if adding else self._roster.remove(event.data)
                snapshot = self._roster.snapshot
            if member is not None:
                router.emit(self.name, _MEMBERS, snapshot)
                router.emit(self.name, _MEMBER_ADDED if adding else _MEMBER_REMOVED, member)
        elif name == protocol.SUBSCRIPTION_COUNT:
            count = event.data.get("subscription_count") if isinstance(event.data, dict) else None
            if isinstance(count, int):
                self._subscription_count = count

    def _on_subscription_error(self, event: Event) -> None:
        """The server rejected the subscription (already delivered as an event)."""
        data = event.data if isinstance(event.data, dict) else {"error": event.data}
        status = data.get("status")
        message = str(data.get("error") or data.get("message") or data)
        self._fail(
            SubscriptionError(self.name, status if isinstance(status, int) else None, message),
            synthesize=False,
        )

    def _fail(self, error: SubscriptionError, synthesize: bool) -> None:
        """Mark the subscription failed and error this channel's streams (not its bindings).

        ``synthesize`` delivers a ``pusher:subscription_error`` event first, as the
        server would have, for failures detected locally (auth)."""
        with self._host.lock:
            self._generation += 1
            self._subscribed_on = None
            self._state.set(FAILED)
        self._host.report(error)
        if synthesize:
            data = {"type": "AuthError", "error": error.message, "status": error.status}
            self._host.router.dispatch(Event(protocol.SUBSCRIPTION_ERROR, self.name, data))
        self._error_streams(error)

    def _error_streams(self, error: Exception) -> None:
        """Error and drop every Rx stream of this channel; bindings stay."""
        with self._host.lock:
            dropped = self._host.router.drop(self.name, streams_only=True)
            self._observers -= len(dropped)
            if not self.active and self._state.value != FAILED:
                self._deactivate()
        self._host.router.end(dropped, error)

    def _complete(self, final: bool) -> None:
        """Complete every stream and binding of this channel. ``final`` (the client closes)
        also completes ``state`` and ends the handle; otherwise (``Pusher.unsubscribe``) the
        handle stays usable and a new observer subscribes it again."""
        with self._host.lock:
            self._closed = final
            dropped = self._host.router.drop(self.name)
            self._observers = 0
        self._host.router.end(dropped)
        self._bindings.unbind()
        if final:
            self._state.complete()

    # ---- encrypted channels -----------------------------------------------------------------

    def _decrypt(self, event: Event) -> Event | None:
        """The event with its data decrypted, or None when it is held or dropped (reader thread).

        A payload that does not open triggers one re-authorization (the key may have
        rotated); events arriving meanwhile wait for the new key, in order. If the new
        key fails too, the event is dropped and a DecryptionError reported."""
        key = self._shared_secret
        if key is not None and self._rotation is None:
            try:
                data = encryption.decrypt(key, event.data)
            except ValueError as exc:
                problem = str(exc)
            else:
                self._key_fresh = False
                return event._replace(data=data)
        else:
            problem = "no key for this channel"
        with self._host.lock:
            if self._rotation is not None:
                self._rotation.append(event)
                return None
            socket_id = self._host.connection.socket_id or ""
            if self._key_fresh or not socket_id:
                drop = True
            else:
                drop = False
                self._rotation = [event]
                generation = self._generation
        if drop:
            self._host.report(encryption.DecryptionError(self.name, event.name, problem))
            return None
        self._host.authorizer.authorize(
            self.name, socket_id, lambda outcome: self._on_rotated(generation, outcome)
        )
        return None

    def _on_rotated(self, generation: int, outcome: Any) -> None:
        """Re-authorization after a failed decryption came back: retry the held events.

        Events that arrive while the held ones are delivered join the queue, so the
        channel's order is kept."""
        with self._host.lock:
            if generation == self._generation and isinstance(outcome, Authorization):
                self._shared_secret = outcome.shared_secret
            self._key_fresh = True
            key = self._shared_secret
        if isinstance(outcome, SubscriptionError):
            self._host.report(outcome)
        while True:
            with self._host.lock:
                held = self._rotation or []
                self._rotation = [] if held else None
            if not held:
                return
            for event in held:
                try:
                    if key is None:
                        raise ValueError("no key for this channel")
                    data = encryption.decrypt(key, event.data)
                except ValueError as exc:
                    self._host.report(encryption.DecryptionError(self.name, event.name, str(exc)))
                    continue
                self._key_fresh = False
                self._host.router.dispatch(event._replace(data=data))

    def _presence_roster(self) -> Roster:
        if self._roster is None:
            raise TypeError(f"{self.name!r} is not a presence channel")
        return self._roster
