"""Client events paced to ``client_event_rate`` (pure).

:meth:`ClientEvents.push` queues the frames of one ``trigger()`` in the pacer
(:class:`rxpusher._pacing.Pacer`) and hands back those that may go out at once: the shell
sends them itself, so that a socket failing right then raises from ``trigger()``. The rest
go out as :class:`~rxpusher._core.effects.Send` effects when the ``CLIENT_EVENTS`` timer says
their turn came. What still waits when the connection drops is reported, never sent on the
next connection (its channels are not subscribed there yet, and the moment has passed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._exceptions import SendError
from .._pacing import Pacer
from .._states import ChannelState
from .effects import CancelTimer, Report, Send, SetTimer, Timer

if TYPE_CHECKING:
    from .._options import Options
    from .channels import Subscriptions


class ClientEvents:
    """The pacer of one client's client events; effects go to ``out``."""

    def __init__(self, options: Options, out: list[Any], subscriptions: Subscriptions,
                 clock: Callable[[], float]) -> None:
        self.out = out
        self.subscriptions = subscriptions
        self.clock = clock
        self.pacer: Pacer[tuple[str, str]] = Pacer(options.client_event_rate,
                                                   options.client_event_queue)

    def push(self, name: str, texts: list[str]) -> list[str]:
        """Queue the frames of one ``trigger()`` on channel ``name`` (all or none:
        ``BufferOverflowError``); the frames that may be sent now, in order."""
        ready = self.pacer.push([(name, text) for text in texts], self.clock())
        self._schedule()
        return [text for _, text in ready]

    def due(self) -> None:
        """The ``CLIENT_EVENTS`` timer fired: send what may go now."""
        lost = 0
        channels = self.subscriptions.channels
        for name, text in self.pacer.due(self.clock()):
            channel = channels.get(name)
            if channel is None or channel.state is not ChannelState.SUBSCRIBED:
                lost += 1
            else:
                self.out.append(Send(text))
        if lost:
            self.out.append(Report(SendError(
                f"{lost} client event(s) not sent: their channel was left before their turn")))
        self._schedule()

    def rejected(self) -> None:
        """The server rejected a client event (4301): slow down."""
        self.pacer.rejected(self.clock())
        self._schedule()

    def lost(self) -> None:
        """The connection dropped: what waits is dropped, and reported."""
        dropped = self.pacer.clear()
        self.out.append(CancelTimer(Timer.CLIENT_EVENTS))
        if dropped:
            self.out.append(Report(SendError(
                f"{len(dropped)} client events not sent: the connection was lost before "
                "their turn")))

    def _schedule(self) -> None:
        delay = self.pacer.next_due(self.clock())
        if delay is None:
            self.out.append(CancelTimer(Timer.CLIENT_EVENTS))
        else:
            self.out.append(SetTimer(Timer.CLIENT_EVENTS, delay))
