"""Encrypted channels (pure): opening events with the channel key, and its rotation.

An event that does not open with the key in use triggers one re-authorization (the key may
have rotated: :class:`~rxpusher._core.effects.Authorize` with ``rotation``). Events that
arrive meanwhile are held, in order, and delivered after the held ones once the new key is
there (:func:`rotated`). If the new key does not open them either they are dropped and
reported as ``DecryptionError``.

Every encrypted event is decided here, under the session lock, and delivered as a
:class:`~rxpusher._core.effects.Deliver` effect through the lane: an event that arrives while
held ones are being released is queued behind them, never ahead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _encryption as encryption
from .._exceptions import DecryptionError, SubscriptionError
from .._protocol import Authorization, Event
from .effects import Authorize, Report

if TYPE_CHECKING:
    from .channels import Subscriptions


def receive(subs: Subscriptions, event: Event) -> None:
    """An event of an encrypted channel: deliver it decrypted, hold it, or renew the key."""
    name = event.channel
    assert name is not None
    channel = subs.channels.get(name)
    if channel is None:
        return
    if channel.rotation is not None:
        channel.rotation.append(event)
        return
    key = channel.key
    if key is not None:
        try:
            data = encryption.decrypt(key, event.data)
        except ValueError as exc:
            problem = str(exc)
        else:
            channel.key_fresh = False
            subs.out.append(subs.deliver(event._replace(data=data), name))
            return
    else:
        problem = "no key for this channel"
    socket_id = subs.connection.socket_id
    if channel.key_fresh or not socket_id or subs.authorizer.channel_is_local:
        subs.out.append(Report(DecryptionError(name, event.name, problem)))
        return
    channel.rotation = [event]
    token = channel.auth = subs.token()
    subs.out.append(Authorize(name, socket_id, token, rotation=True))


def rotated(subs: Subscriptions, name: str, token: int,
            outcome: Authorization | SubscriptionError) -> None:
    """The re-authorization after a failed decryption came back: release the held events."""
    channel = subs.channels.get(name)
    if channel is None:
        return
    if channel.auth == token:
        channel.auth = None
        if isinstance(outcome, Authorization):
            channel.key = outcome.shared_secret
    channel.key_fresh = True
    held, channel.rotation = channel.rotation or [], None
    key = channel.key
    if isinstance(outcome, SubscriptionError):
        subs.out.append(Report(outcome))
    for event in held:
        try:
            if key is None:
                raise ValueError("no key for this channel")
            data = encryption.decrypt(key, event.data)
        except ValueError as exc:
            subs.out.append(Report(DecryptionError(name, event.name, str(exc))))
            continue
        channel.key_fresh = False  # the new key works: a later failure is another rotation
        subs.out.append(subs.deliver(event._replace(data=data), name))
    subs.forget_if_idle(channel)
