"""NATS JetStream: each entry published with its id as ``Nats-Msg-Id``, so that the stream
stores it once within its duplicate window, whoever publishes it again. Uses nats-py (extra
``rxpusher[nats]``), which is asyncio-only: it runs on an event loop of the sink's own, in a
thread of its own; the writer thread waits for it, never a client's reader thread."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .._retry import Backoff
from ._entries import Template, nats_body
from ._sink import Backend, BrokerSink, SeqSpec, seconds

__all__ = ["JetStreamSink", "DEFAULT_STREAM"]

DEFAULT_STREAM = "PUSHER"
"""The stream created when ``stream=None`` and no stream captures the subjects yet."""

SCAN_LIMIT = 1_000
"""Messages read back at most to find the last seq of a channel on a shared subject."""

TARGET_LIMIT = 1_000
"""Subjects of one channel read at most to find its last seq (``{event}`` in the subject)."""

T = TypeVar("T")


def _seq_of(body: bytes, channel: str, event: str | None) -> int | None:
    """The seq of a message body when it is an event of ``channel`` (and ``event``)."""
    try:
        record = json.loads(body)
    except (TypeError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("type") != "event":
        return None
    seq = record.get("seq")
    if (isinstance(seq, int) and not isinstance(seq, bool) and record.get("channel") == channel
            and (event is None or record.get("event") == event)):
        return seq
    return None


def _import_nats() -> Any:
    try:
        import nats
        import nats.js.errors
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("JetStreamSink needs nats-py: pip install 'rxpusher[nats]'") from exc
    return nats


class _Loop:
    """An asyncio event loop running in a daemon thread of its own until :meth:`stop`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever,
                                        name="rxpusher-bridge-nats-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coroutine`` on the loop; wait at most ``timeout`` seconds for it."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        if self._thread is threading.current_thread():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self.loop.close()


class _JetStreamBackend(Backend):
    broker = "nats"

    def __init__(self, url: str, template: Template, stream: str | None, window: float,
                 timeout: float) -> None:
        self._url = url
        self._template = template
        self._stream = stream
        self._window = window
        self._timeout = timeout
        self._loop: _Loop | None = None
        self._nc: Any = None
        self._js: Any = None
        self.stream_name: str | None = None

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._loop is None:
            self._loop = _Loop()
        return self._loop.run(coroutine, self._timeout * 2 if timeout is None else timeout)

    def connect(self) -> None:
        self._run(self._connect())

    async def _connect(self) -> None:
        nats = _import_nats()

        async def quiet(*_: Any) -> None:
            """nats-py's own error log would repeat what the sink reports."""

        # One attempt (nats-py's max_reconnect_attempts counts the first one; 0 would retry
        # for ever), no reconnects of its own: the sink reconnects with its backoff.
        nc = await nats.connect(self._url, connect_timeout=self._timeout, allow_reconnect=False,
                                max_reconnect_attempts=1, reconnect_time_wait=0.0,
                                error_cb=quiet, disconnected_cb=quiet, closed_cb=quiet)
        try:
            js = nc.jetstream(timeout=self._timeout)
            self.stream_name = await self._ensure_stream(js, nats)
        except BaseException:
            await nc.close()
            raise
        self._nc, self._js = nc, js

    async def _ensure_stream(self, js: Any, nats: Any) -> str:
        not_found = nats.js.errors.NotFoundError
        if self._stream is not None:
            try:
                await js.stream_info(self._stream)
                return self._stream
            except not_found:
                pass
            name = self._stream
        else:
            try:
                found: str = await js.find_stream_name_by_subject(
                    self._template.render("channel", "event"))
                return found
            except not_found:
                name = DEFAULT_STREAM
        await js.add_stream(name=name, subjects=[self._template.capture()],
                            duplicate_window=self._window)
        return name

    def write(self, entries: list[tuple[str, dict[str, Any]]]) -> int:
        return self._run(self._publish(entries), self._timeout * 2 + 0.01 * len(entries))

    async def _publish(self, entries: list[tuple[str, dict[str, Any]]]) -> int:
        js = self._js
        futures = []
        for subject, record in entries:
            # no wait_stall: a batch stays far below nats-py's pending limit, and the whole
            # call is bounded by the caller (wait_stall costs a task per message)
            futures.append(await js.publish_async(
                subject, nats_body(record), headers={"Nats-Msg-Id": record["id"]}))
        acks = await asyncio.wait_for(asyncio.gather(*futures), self._timeout)
        return sum(0 if ack.duplicate else 1 for ack in acks)

    def last_seq(self, target: str, channel: str, event: str | None) -> int | None:
        return self._run(self._last_seq(target, channel, event))

    async def _last_seq(self, subject: str, channel: str, event: str | None) -> int | None:
        nats = _import_nats()
        try:
            message = await self._js.get_last_msg(self.stream_name, subject)
        except nats.js.errors.NotFoundError:
            return None
        found = _seq_of(message.data, channel, event)
        position = message.seq
        scanned = 0
        # the subject is shared with other channels or entries: walk back a bounded way
        while found is None and position and position > 1 and scanned < SCAN_LIMIT:
            position -= 1
            scanned += 1
            try:
                message = await self._js.get_msg(self.stream_name, position)
            except nats.js.errors.NotFoundError:
                continue
            if message.subject == subject:
                found = _seq_of(message.data, channel, event)
        return found

    def targets(self, pattern: str) -> list[str]:
        return self._run(self._subjects(pattern))

    async def _subjects(self, pattern: str) -> list[str]:
        info = await self._js.stream_info(self.stream_name, subjects_filter=pattern)
        subjects = info.state.subjects or {}
        return list(subjects)[:TARGET_LIMIT]

    def close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if nc is not None:
            try:
                loop.run(nc.close(), self._timeout)
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        loop.stop()


class JetStreamSink(BrokerSink):
    """An Rx observer that publishes what it receives to NATS JetStream, effectively once.

    Observe ``pusher.events()`` or ``channel.events()`` (``Event`` items), or a sequenced
    feed's ``events`` with ``seq=`` (and ``channel=``/``event=``). Each entry is one message
    on ``subject`` (``{channel}`` and ``{event}`` replaced; ``.``, ``*``, ``>`` and blanks in
    names become ``_``) whose body is a JSON object with ``type``, ``id``, ``channel``,
    ``event``, ``data`` (JSON text), ``user_id``, ``seq`` (when known) and ``received_at``,
    published with ``Nats-Msg-Id: <id>``: JetStream stores an id once within the stream's
    duplicate window. ``stream`` names the stream (created when missing, capturing the
    subject's literal prefix, with ``dedupe_window`` as its duplicate window); None finds the
    stream that captures the subject, or creates ``PUSHER``. Interruptions and gaps, buffering
    (``max_buffer``), reconnecting, error reporting and ``close()`` are as for
    :class:`RedisStreamSink`.
    """

    broker = "nats"

    def __init__(self, url: str, *, subject: str = "pusher.{channel}.{event}",
                 stream: str | None = None, seq: SeqSpec | None = None,
                 channel: str | None = None, event: str | None = None,
                 dedupe_window: float = 600.0, max_buffer: int = 100_000,
                 flush_timeout: float = 10.0, reconnect: Backoff | None = None,
                 timeout: float = 5.0) -> None:
        if not isinstance(url, str) or not url.startswith(("nats://", "tls://")):
            raise ValueError(f"url must be a nats:// or tls:// URL, got {url!r}")
        if stream is not None and (not isinstance(stream, str) or not stream
                                   or any(c in stream for c in " .*>")):
            raise ValueError(f"stream must be a JetStream stream name or None, got {stream!r}")
        _import_nats()
        template = Template(subject, "subject", subject=True)
        self._stream = stream
        self._window = seconds("dedupe_window", dedupe_window)
        self._timeout = seconds("timeout", timeout)
        super().__init__(url, template, seq=seq, channel=channel, event=event,
                         max_buffer=max_buffer, flush_timeout=flush_timeout, reconnect=reconnect)

    def _call_timeout(self) -> float:
        return self._timeout * 2 + 1.0

    def _make_backend(self) -> Backend:
        return _JetStreamBackend(self.url, self._template, self._stream, self._window,
                                 self._timeout)
