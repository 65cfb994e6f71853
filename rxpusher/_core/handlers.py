"""The protocol handler table: ``{event name: handler}`` (pure).

A handler is ``handler(core, attempt, event, frame)``; it runs under the session lock (the
shell steps :meth:`Core.receive`) and appends its effects to ``core.out``. Raising
``PusherError`` reports it on ``errors``; any other exception is reported as a
``ProtocolError`` about that frame. Events without a handler are routed by
:meth:`Core.route`, without the lock.

To handle a new protocol event: write ``def on_x(core, attempt, event, frame)`` here and add
it to :data:`HANDLERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _protocol as protocol
from .._exceptions import ProtocolError, RateLimitError, ServerError, SubscriptionError
from .._protocol import Event, shorten
from .._router import MEMBER_ADDED, MEMBER_REMOVED, MEMBERS
from .._states import AttemptCause, ChannelState, ConnectionState, Interruption
from .effects import Emit, Report, Send

if TYPE_CHECKING:
    from . import Core

Handler = Callable[["Core", int, Event, str], None]


def on_established(core: Core, attempt: int, event: Event, frame: str) -> None:
    data = event.data
    socket_id = data.get("socket_id") if isinstance(data, dict) else None
    conn = core.connection
    if not isinstance(socket_id, str) or not socket_id:
        if conn.state is not ConnectionState.CONNECTED:
            core.abandon_attempt(AttemptCause.HANDSHAKE,
                                 f"handshake without a usable socket id: {shorten(data)}")
        return
    conn.established(socket_id, data.get("activity_timeout"))
    conn.handshake_frame = frame  # a recording started later begins with it
    core.out.append(core.subscriptions.deliver(event, None))
    core.subscriptions.resubscribe(socket_id)
    core.user.connected(socket_id)


def on_server_error(core: Core, attempt: int, event: Event, frame: str) -> None:
    data = event.data if isinstance(event.data, dict) else {"message": event.data}
    code = data.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    rejected = code == protocol.CLIENT_EVENT_REJECTED  # 4301: a client event, not the socket
    error = (RateLimitError if rejected else ServerError)(code, shorten(str(data.get("message", ""))))
    conn = core.connection
    conn.server_error(attempt, error.message)
    left_out = conn.server_errors.admit((error.code, error.message))
    if left_out is not None:
        if left_out:
            error.args = (f"{error.args[0]} (repeated {left_out} times since the last report)",)
        core.out.append(Report(error))
    if rejected:
        core.client_events.rejected()  # the connection stays; the pace halves for 10 s
    elif event.channel is None:
        core.user.refused(error.message or str(code))  # how servers without sign-in answer it
    core.out.append(core.subscriptions.deliver(event, None))


def on_ping(core: Core, attempt: int, event: Event, frame: str) -> None:
    core.out.append(Send(protocol.encode_frame(protocol.PONG, {})))
    core.out.append(core.subscriptions.deliver(event, None))


def _valid_presence(presence: Any) -> bool:
    if not isinstance(presence, dict):
        return False
    by_id = presence.get("hash", {})
    ids = presence.get("ids", [])
    return isinstance(by_id, dict) and isinstance(ids, list)


def on_subscription_succeeded(core: Core, attempt: int, event: Event, frame: str) -> None:
    subs = core.subscriptions
    channel = subs.channels.get(event.channel) if event.channel is not None else None
    if channel is None or not channel.active or (
            channel.subscribed_on is None and core.connection.interactive):
        return  # left meanwhile: pusher:unsubscribe went out already
    roster = channel.roster
    out = core.out
    if roster is not None:
        presence = event.data.get("presence") if isinstance(event.data, dict) else None
        if not _valid_presence(presence):
            out.append(Send(protocol.encode_frame(protocol.UNSUBSCRIBE, {"channel": channel.name})))
            out.append(Report(ProtocolError(
                f"malformed presence data for {channel.name!r}", frame)))
            subs.fail(channel, SubscriptionError(
                channel.name, None, "the server sent malformed presence data"), False)
            return
        snapshot = roster.reset(event.data)
    subs.set_state(channel, ChannelState.SUBSCRIBED)
    if channel.lost_at is not None:
        interruption = Interruption(channel.name, channel.lost_at, subs.wallclock())
        channel.lost_at = None
        out.append(Emit(channel.interruption_sinks, interruption))
    if roster is not None:
        out.append(Emit(subs.streams.router.sinks(channel.name, MEMBERS), snapshot))
    out.append(subs.deliver(event._replace(name=protocol.SUBSCRIPTION_SUCCEEDED), channel.name,
                            False))


def _on_member(core: Core, event: Event, added: bool) -> None:
    subs = core.subscriptions
    channel = subs.channels.get(event.channel) if event.channel is not None else None
    if channel is None or channel.roster is None:
        return
    roster = channel.roster
    member = roster.add(event.data) if added else roster.remove(event.data)
    if member is not None:
        name = channel.name
        router = subs.streams.router
        core.out.append(Emit(router.sinks(name, MEMBERS), roster.snapshot))
        core.out.append(Emit(router.sinks(name, MEMBER_ADDED if added else MEMBER_REMOVED), member))
        public = protocol.MEMBER_ADDED if added else protocol.MEMBER_REMOVED
        core.out.append(subs.deliver(event._replace(name=public), name, False))


def on_member_added(core: Core, attempt: int, event: Event, frame: str) -> None:
    _on_member(core, event, added=True)


def on_member_removed(core: Core, attempt: int, event: Event, frame: str) -> None:
    _on_member(core, event, added=False)


def on_subscription_count(core: Core, attempt: int, event: Event, frame: str) -> None:
    subs = core.subscriptions
    internal = event.name.startswith(protocol.INTERNAL_PREFIX)
    count = event.data.get("subscription_count") if isinstance(event.data, dict) else None
    channel = subs.channels.get(event.channel) if event.channel is not None else None
    if channel is not None and isinstance(count, int) and not isinstance(count, bool):
        channel.count = count
    if channel is not None or not internal:
        core.out.append(subs.deliver(event._replace(name=protocol.SUBSCRIPTION_COUNT),
                                     event.channel, not internal))


def on_subscription_error(core: Core, attempt: int, event: Event, frame: str) -> None:
    subs = core.subscriptions
    data = event.data if isinstance(event.data, dict) else {"error": event.data}
    status = data.get("status")
    message = shorten(str(data.get("error") or data.get("message") or data))
    core.out.append(subs.deliver(event, event.channel))
    channel = subs.channels.get(event.channel) if event.channel is not None else None
    if channel is not None:
        error = SubscriptionError(
            channel.name, status if isinstance(status, int) else None, message)
        subs.fail(channel, error, synthesize=False)


def on_signin_success(core: Core, attempt: int, event: Event, frame: str) -> None:
    if core.user.accepted(event.data):
        core.out.append(core.subscriptions.deliver(event, None))


def on_watchlist(core: Core, attempt: int, event: Event, frame: str) -> None:
    data = event.data
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise ProtocolError("watchlist events without an 'events' list", frame)
    items = []
    for item in events:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
                or not isinstance(item.get("user_ids", []), list):
            raise ProtocolError("malformed watchlist event", frame)
        items.append({"name": item["name"], "user_ids": [str(u) for u in item.get("user_ids", [])]})
    for item in items:
        core.out.append(Emit(core.streams.watchlist, item))


HANDLERS: dict[str, Handler] = {
    protocol.CONNECTION_ESTABLISHED: on_established,
    protocol.ERROR: on_server_error,
    protocol.PING: on_ping,
    protocol.INTERNAL_SUBSCRIPTION_SUCCEEDED: on_subscription_succeeded,
    protocol.INTERNAL_MEMBER_ADDED: on_member_added,
    protocol.INTERNAL_MEMBER_REMOVED: on_member_removed,
    protocol.INTERNAL_SUBSCRIPTION_COUNT: on_subscription_count,
    protocol.SUBSCRIPTION_COUNT: on_subscription_count,
    protocol.SUBSCRIPTION_ERROR: on_subscription_error,
    protocol.SIGNIN_SUCCESS: on_signin_success,
    protocol.WATCHLIST_EVENTS: on_watchlist,
}
"""Protocol events the core handles, by name; every other event is routed as it is."""
