"""``rxpusher bridge``: the channels of one client into one broker until SIGINT/SIGTERM.

The command line parses its options (``rxpusher._cli``) and hands a :class:`Plan` and the
client here. Without ``--seq`` one sink observes every channel's events; with ``--seq FIELD``
each channel gets a sequenced feed (``rxpusher.sequenced``) of its ``--event``, or without
``--event`` of all its events numbered by one seq (``event=None``, the entries named by
``named_events``), and a sink of its own, resumed after the last seq already in the broker
for that channel (``start=``), so that with ``--backfill-url`` a restart loses nothing.
"""

from __future__ import annotations

import argparse
import functools
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from reactivex import Observable
from reactivex import operators as ops

from .._backfill import http_backfill, seq_field
from .._client import Pusher
from .._cliutil import escape
from .._exceptions import BridgeError, ConnectionRefused, PusherError
from .._protocol import Event
from .._retry import Backoff
from .._sequenced import sequenced
from .._states import Health
from ._entries import Template
from ._jetstream import _import_nats
from ._redis_streams import _import_redis
from ._sink import BrokerSink

__all__ = ["Plan", "run"]

Say = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """What ``rxpusher bridge`` was asked to do."""

    url: str
    channels: tuple[str, ...]
    stream: str | None
    subject: str | None
    seq: str | None
    events: tuple[str, ...]
    backfill_url: str | None
    max_buffer: int
    flush_timeout: float
    health: float | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        """The plan of parsed arguments; ``ValueError`` for a combination that cannot work."""
        url: str = args.to
        redis = url.startswith(("redis://", "rediss://", "unix://"))
        nats = url.startswith(("nats://", "tls://"))
        if not (redis or nats):
            raise ValueError(f"--to must be a redis:// or nats:// URL, not {url!r}")
        if redis and args.subject:
            raise ValueError("--subject is for nats:// brokers; Redis takes --stream")
        if nats and args.stream:
            raise ValueError("--stream is for redis:// brokers; NATS takes --subject")
        if redis:
            _import_redis()  # ImportError (a usage error) naming the extra to install
        else:
            _import_nats()
        if args.stream:
            Template(args.stream, "--stream")
        if args.subject:
            Template(args.subject, "--subject", subject=True).capture()
        events = tuple(dict.fromkeys(args.event or ()))
        if args.backfill_url and not args.seq:
            raise ValueError("--backfill-url needs --seq FIELD")
        if args.seq and len(events) > 1:
            raise ValueError("--seq sequences one --event NAME, or without --event every "
                             "event of the channel (one seq numbers them all)")
        return cls(url, tuple(dict.fromkeys(args.channel)), args.stream, args.subject, args.seq,
                   events, args.backfill_url, args.max_buffer, args.flush_timeout, args.health)

    def sink(self, reconnect: Backoff, channel: str | None = None,
             event: str | None = None) -> BrokerSink:
        """A sink on the broker of ``--to``."""
        from . import JetStreamSink, RedisStreamSink

        common: dict[str, Any] = {"seq": self.seq, "channel": channel, "event": event,
                                  "max_buffer": self.max_buffer,
                                  "flush_timeout": self.flush_timeout, "reconnect": reconnect}
        if self.url.startswith(("nats://", "tls://")):
            if self.subject:
                common["subject"] = self.subject
            return JetStreamSink(self.url, **common)
        if self.stream:
            common["stream"] = self.stream
        return RedisStreamSink(self.url, **common)


class _Stop:
    """Set by SIGINT/SIGTERM (or a fatal condition, with its exit status)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.status = 0

    def fail(self, status: int) -> None:
        if not self.event.is_set():
            self.status = status
        self.event.set()

    def signal(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()


def run(pusher: Pusher, plan: Plan, *, say: Say) -> int:
    """Bridge until SIGINT/SIGTERM (then flush; 0 when everything was written) or a refused
    connection (1)."""
    stop = _Stop()
    previous = _install(stop)
    sinks: list[BrokerSink] = []
    reconnect = pusher._session.options.reconnect
    try:
        pusher.errors.subscribe(lambda e: _report(e, stop, say))
        channels = [pusher.channel(name) for name in plan.channels]
        for channel in channels:
            channel.state.subscribe(functools.partial(_say_state, say, channel.name))
        if plan.seq is None:
            sink = plan.sink(reconnect)
            sinks.append(sink)
            wanted = set(plan.events)
            for channel in channels:
                events: Observable[Event] = channel.events()
                if wanted:
                    sink.watch(channel)
                    keep: Callable[[Event], bool] = functools.partial(_wanted, wanted)
                    events = events.pipe(ops.filter(keep))
                events.subscribe(sink)
        else:
            _sequence(pusher, plan, channels, sinks, reconnect, stop, say)
        if plan.health:
            pusher.health(plan.health).subscribe(lambda h: say(_health_line(h, sinks)))
        pusher.state.subscribe(lambda state: say(f"[{state}]"))
        if not stop.event.is_set():
            pusher.connect()
            say(f"[bridge] {len(channels)} channel(s) to {sinks[0]._shown_url}")
        while not stop.event.wait(0.2):
            pass
    finally:
        pusher.close()
        flushed = all([sink.close() for sink in sinks])
        _restore(previous)
    if stop.status:
        return stop.status
    if not flushed:
        say("rxpusher: not every entry could be written before --flush-timeout")
        return 1
    say("[bridge] flushed")
    return 0


def _wanted(wanted: set[str], event: Event) -> bool:
    return event.name in wanted


def _say_state(say: Say, channel: str, state: str) -> None:
    say(f"[{escape(channel)}: {state}]")


def _sequence(pusher: Pusher, plan: Plan, channels: list[Any], sinks: list[BrokerSink],
              reconnect: Backoff, stop: _Stop, say: Say) -> None:
    """``--seq``: per channel a sink and a sequenced feed resumed after the broker's last
    seq (asked again with the backoff while the broker does not answer). Without
    ``--event`` the feed is channel-wide (every event, one seq) and the sink observes its
    ``named_events``, so that each entry keeps its event's name."""
    assert plan.seq is not None
    event = plan.events[0] if plan.events else None
    backfill = http_backfill(plan.backfill_url) if plan.backfill_url else None
    for channel in channels:
        sink = plan.sink(reconnect, channel.name, event)
        sinks.append(sink)
        start = _resume(sink, channel.name, event, reconnect, stop, say)
        if stop.event.is_set():
            return
        feed = sequenced(channel, event, seq=seq_field(plan.seq), backfill=backfill,
                         start=start)
        sink.watch(channel)
        feed.gaps.subscribe(sink)
        if event is None:
            feed.named_events.subscribe(sink)
        else:
            feed.events.subscribe(sink)
        what = "every event" if event is None else escape(event)
        say(f"[bridge] {escape(channel.name)} {what}: "
            f"{'from the first event' if start is None else f'resuming after seq {start}'}")


def _resume(sink: BrokerSink, channel: str, event: str | None, reconnect: Backoff, stop: _Stop,
            say: Say) -> int | None:
    failures = 0
    while not stop.event.is_set():
        try:
            return sink.last_seq(channel, event)
        except BridgeError as exc:
            if failures == 0:
                say(f"rxpusher: {escape(str(exc))} (retrying)")
            stop.event.wait(reconnect.delay(failures))
            failures += 1
    return None


def _report(error: PusherError, stop: _Stop, say: Say) -> None:
    say(f"rxpusher: {escape(str(error))}")
    if isinstance(error, ConnectionRefused):
        stop.fail(1)


def _health_line(health: Health, sinks: list[BrokerSink]) -> str:
    from .._cli import _health_line as client_line

    written = sum(s.stats.written for s in sinks)
    duplicates = sum(s.stats.duplicates for s in sinks)
    buffered = sum(s.stats.buffered for s in sinks)
    dropped = sum(s.stats.dropped for s in sinks)
    broker = "up" if sinks and all(s.stats.connected for s in sinks) else "down"
    return (f"{client_line(health)} | broker={broker} written={written} "
            f"duplicates={duplicates} buffered={buffered} dropped={dropped}")


def _install(stop: _Stop) -> dict[int, Any]:
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, stop.signal)
    return previous


def _restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
