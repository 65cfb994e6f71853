"""Chunked events put back together (pure): ``chunked-<event>`` and
``client-chunked-<name>`` parts, per channel and id (:class:`rxpusher._chunks.Reassembler`).

:meth:`Core.route <rxpusher._core.core.Core.route>` sends the parts here, under the lock:
each part is delivered as itself, then taken by the reassembler; a complete message is
delivered as ``<event>`` on its channel and the global streams. Malformed, duplicate and
oversized parts are reported as ``ProtocolError``; the ``CHUNKS`` timer drops the messages
still incomplete after ``chunk_timeout``. Leaving a channel forgets its messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _protocol as protocol
from .._chunks import Reassembler
from .._exceptions import ProtocolError
from .._protocol import Event
from .effects import CancelTimer, Report, SetTimer, Timer

if TYPE_CHECKING:
    from .._options import Options
    from .channels import Subscriptions


class Chunked:
    """The messages being put back together; effects go to ``out``."""

    def __init__(self, options: Options, out: list[Any], subscriptions: Subscriptions,
                 clock: Callable[[], float]) -> None:
        self.out = out
        self.subscriptions = subscriptions
        self.clock = clock
        self.reassembler = Reassembler(options.max_message_size, options.chunk_timeout)
        subscriptions.left = self.left

    def receive(self, event: Event, frame: str) -> None:
        """A part on a (not encrypted) channel."""
        name = event.channel
        assert name is not None
        out, subs = self.out, self.subscriptions
        out.append(subs.deliver(event, name))  # observers of the parts see each one
        try:
            whole = self.reassembler.add(name, event.name, event.data, frame, self.clock(),
                                         event.user_id)
        except ProtocolError as bad:
            out.append(Report(bad))
            whole = None
        for dropped in self.reassembler.evicted():
            out.append(Report(dropped))
        self._schedule()
        if whole is None:
            return
        try:
            data = protocol.decode_data(whole.text)
        except RecursionError:
            out.append(Report(ProtocolError(
                f"chunked {whole.event} on {name} is nested too deeply to decode", frame)))
            return
        out.append(subs.deliver(Event(whole.event, name, data, whole.user_id), name))

    def expire(self) -> None:
        """The ``CHUNKS`` timer fired: drop what is incomplete after ``chunk_timeout``."""
        for error in self.reassembler.expire(self.clock()):
            self.out.append(Report(error))
        self._schedule()

    def left(self, channel: str) -> None:
        """Nothing wants ``channel`` any more: forget its messages in progress."""
        if self.reassembler.drop(channel):
            self._schedule()

    def _schedule(self) -> None:
        deadline = self.reassembler.deadline()
        if deadline is None:
            self.out.append(CancelTimer(Timer.CHUNKS))
        else:
            self.out.append(SetTimer(Timer.CHUNKS, max(0.0, deadline - self.clock())))
