"""The ``rxpusher`` command line (also ``python -m rxpusher``)."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from reactivex import Observable
from reactivex import operators as ops

from . import __version__
from ._cliutil import (
    add_verbosity,
    configure_logging,
    escape,
    non_negative_float,
    port_number,
    positive_float,
    positive_int,
    sigterm_as_interrupt,
)
from ._internal import rest
from ._internal.neterrors import network_cause
from ._replay import load_recording, replay
from ._states import Health
from ._channels import Channel
from ._client import Pusher
from ._exceptions import ConnectionRefused, ServerError
from ._protocol import CloseAction, Event, close_action
from ._backfill import http_backfill, seq_field
from ._sequenced import ChannelBackfill, Gap, sequenced
from .server.serve import DESCRIPTION as SERVE_DESCRIPTION
from .server.serve import EPILOG as SERVE_EPILOG
from .server.serve import add_arguments as add_serve_arguments
from .server.serve import run as run_serve

#: ``--local``: the defaults of ``rxpusher serve``.
LOCAL = {"app_id": "1", "key": "app-key", "secret": "app-secret", "host": "127.0.0.1"}
LOCAL_PORT = 6001
#: Environment variables read when an option is not given (as in the official SDKs' docs).
ENV = {"app_id": "PUSHER_APP_ID", "key": "PUSHER_APP_KEY", "secret": "PUSHER_APP_SECRET",
       "host": "PUSHER_HOST", "cluster": "PUSHER_CLUSTER"}
#: Also accepted for the cluster: Laravel's spelling.
CLUSTER_ALIAS = "PUSHER_APP_CLUSTER"
#: Exit status when stdout was closed by its reader (``| head``): 128 + SIGPIPE, the status a
#: shell reports for a Unix tool stopped by a closed pipe.
EXIT_BROKEN_PIPE = 141

SETTINGS_HELP = """settings: an option wins over --local, --local over the environment:
  PUSHER_APP_KEY, PUSHER_APP_SECRET, PUSHER_APP_ID, PUSHER_HOST, PUSHER_CLUSTER
  (or PUSHER_APP_CLUSTER). Prefer PUSHER_APP_SECRET or --secret-file to --secret: a
  command line is visible to other users of the machine (ps)."""

EPILOG_LISTEN = f"""examples:
  rxpusher listen APP_KEY --cluster eu --channel prices
  rxpusher listen --local --channel private-orders --event order-created
  PUSHER_APP_SECRET=... rxpusher listen APP_KEY --cluster eu --channel private-orders
  rxpusher listen app-key --host 127.0.0.1 --port 6001 --no-tls \\
      --channel presence-room --secret-file ./secret --channel-data '{{"user_id": "1"}}'
  rxpusher listen APP_KEY --channel prices --event new-price --seq seq \\
      --backfill-url https://backend.example/missed
  rxpusher listen APP_KEY --channel orders --seq seq

output: one JSON line per event on stdout: channel, event, data, user_id and
received_at (UTC, ISO 8601); connection states and errors go to stderr, with
anything the server sent escaped.

--seq FIELD: each --event is delivered in the order of data[FIELD] (consecutive
integers set by the publisher), each seq once, across reconnects; without --event
every event of the channel is, numbered by one seq (the channel-wide sequence;
pusher:* protocol events are not part of it). A range that cannot be recovered is
one "[gap CHANNEL EVENT: FIRST..LAST missing]" line on stderr ("[gap CHANNEL: ..]"
without --event). --backfill-url URL fetches what is missing with a GET of
URL?channel=..&event=..&after=..&before=.. (before left out: up to now; event left
out without --event: every event) that answers a JSON list of event data.

{SETTINGS_HELP}

exit status: 0 after --count events, 1 when the connection is refused or every
channel fails, 2 for a usage error, 130 after Ctrl-C, 141 when stdout is closed."""

EPILOG_TRIGGER = f"""examples:
  rxpusher trigger --local prices new-price '{{"price": 10}}'
  rxpusher trigger --local --chunked reports report - < report.json
  rxpusher trigger --app-id 1 --key app-key --secret-file ./secret \\
      --host 127.0.0.1 --port 6001 --no-tls prices new-price '{{"price": 10}}'

{SETTINGS_HELP}

exit status: 0 when the server accepted the event, 1 when it did not or cannot be
reached (one line on stderr), 2 for a usage error."""


EPILOG_BRIDGE = f"""examples:
  rxpusher bridge APP_KEY --cluster eu --channel prices --to redis://localhost:6379/0
  rxpusher bridge --local --channel prices --to nats://localhost:4222 --subject 'feed.{{channel}}'
  rxpusher bridge APP_KEY --cluster eu --channel prices --to redis://localhost:6379/0 \\
      --seq seq --backfill-url https://app.example/missing
  rxpusher bridge APP_KEY --cluster eu --channel prices --event tick --seq seq \\
      --to redis://localhost:6379/0

every entry: type (event, interruption or gap), id, channel, event, data (JSON
text), user_id, seq (with --seq) and received_at. Writes are idempotent on id
(<channel>:<seq> with --seq, else a digest of channel, event and data), so a
restarted bridge, or two bridges on one feed, write each event once.

--seq FIELD: each channel's events in the order of data[FIELD], each seq once: the
one --event NAME given, or without --event every event of the channel numbered by
one seq (each entry keeps its event's name; a backfilled one is named by the
"event" string of its data, else by the last name received live on the channel).
A restart resumes after the channel's last seq in the broker; --backfill-url
fetches what was missed (event left out of the query without --event).

{SETTINGS_HELP}

exit status: 0 after SIGINT or SIGTERM once everything was written, 1 when the
connection is refused or entries could not be written before --flush-timeout,
2 for a usage error."""


class UsageError(Exception):
    """A user error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``rxpusher`` command."""
    parser = argparse.ArgumentParser(
        prog="rxpusher",
        description="Pusher Channels from the command line: watch channels, trigger events.",
    )
    parser.add_argument("--version", action="version", version=f"rxpusher {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    listen = commands.add_parser(
        "listen",
        help="print every event of some channels as JSON lines",
        description="Subscribe to channels and print one JSON line per event on stdout; "
        "connection states go to stderr.",
        epilog=EPILOG_LISTEN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _key_argument(listen)
    listen.add_argument("--channel", "-c", action="append", required=True,
                        help="channel to subscribe to (repeatable)")
    listen.add_argument("--event", "-e", action="append",
                        help="only print these events (repeatable); default: every event")
    listen.add_argument("--count", type=positive_int, help="exit after printing this many events")
    _subscriber_arguments(listen)
    listen.add_argument("--channel-data", help='presence member data with the secret, as JSON: '
                        '\'{"user_id": "1", "user_info": {...}}\'')
    listen.add_argument("--record", metavar="FILE", type=Path,
                        help="also record every frame to FILE (play it with `rxpusher replay`)")
    listen.add_argument("--health", action="store_true",
                        help="print a health snapshot to stderr every second")
    listen.add_argument("--seq", metavar="FIELD",
                        help="deliver each --event (without --event: every event of the "
                        "channel, one seq) in the order of data[FIELD], each seq once; print "
                        "gaps on stderr")
    listen.add_argument("--backfill-url", metavar="URL",
                        help="with --seq: fetch missing events with GET "
                        "URL?channel=..&event=..&after=..&before=.. (a JSON list of data; "
                        "event left out without --event)")
    add_verbosity(listen, "connection attempts and their causes")

    replay = commands.add_parser(
        "replay",
        help="play a recording made with `listen --record` and print it as listen does",
        description="Play a recording through the client and print one JSON line per event "
        "on stdout, as `listen` does; exits 0 after the last frame.",
    )
    replay.add_argument("file", type=Path, help="the recording (JSON lines)")
    replay.add_argument("--speed", type=non_negative_float, default=1.0,
                        help="playback speed (default 1: recorded timing; 0: as fast as possible)")
    replay.add_argument("--channel", "-c", action="append",
                        help="only this channel (repeatable); default: every channel recorded")
    replay.add_argument("--event", "-e", action="append",
                        help="only print these events (repeatable); default: every event")
    replay.add_argument("--count", type=positive_int, help="exit after printing this many events")

    trigger = commands.add_parser(
        "trigger",
        help="send an event through a server's HTTP API",
        description="Trigger an event on a channel through the HTTP API of Pusher or any "
        "compatible server.",
        epilog=EPILOG_TRIGGER,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    trigger.add_argument("--app-id", help="app id (default: PUSHER_APP_ID, or 1 with --local)")
    trigger.add_argument("--key", help="app key (default: PUSHER_APP_KEY, or app-key with --local)")
    _secret_arguments(trigger.add_mutually_exclusive_group(), "sign the request")
    _server_arguments(trigger)
    trigger.add_argument("--chunked", action="store_true",
                         help="data above Pusher's 10 KB limit goes out as chunked-EVENT parts "
                              "(Pusher's chunking recipe), which rxpusher delivers as EVENT")
    trigger.add_argument("channel")
    trigger.add_argument("event")
    trigger.add_argument("data", help="event data: JSON, or any string; - reads it from stdin")

    bridge = commands.add_parser(
        "bridge",
        help="write the events of some channels to Redis Streams or NATS JetStream",
        description="Subscribe to channels and write every event to a broker, effectively "
        "once (idempotent on each event's id), until SIGINT or SIGTERM; then flush and exit.",
        epilog=EPILOG_BRIDGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _key_argument(bridge)
    bridge.add_argument("--channel", "-c", action="append", required=True,
                        help="channel to bridge (repeatable)")
    bridge.add_argument("--to", required=True, metavar="URL",
                        help="the broker: redis://HOST:PORT/DB or nats://HOST:PORT")
    names = bridge.add_mutually_exclusive_group()
    names.add_argument("--stream", metavar="TEMPLATE",
                       help="Redis stream name (default pusher:{channel})")
    names.add_argument("--subject", metavar="TEMPLATE",
                       help="NATS subject (default pusher.{channel}.{event})")
    bridge.add_argument("--seq", metavar="FIELD",
                        help="sequence each channel on this data field (consecutive integers): "
                             "each seq once, in order; a restart resumes after the channel's "
                             "last seq written")
    bridge.add_argument("--event", "-e", action="append",
                        help="only these events (repeatable; with --seq: once, the sequenced "
                             "event; default every event of the channel, one seq)")
    bridge.add_argument("--backfill-url", metavar="URL",
                        help="with --seq: GET URL?channel=..&event=..&after=..&before=.. answers "
                             "a JSON list of the missing events' data (event left out without "
                             "--event)")
    bridge.add_argument("--max-buffer", type=positive_int, default=100_000,
                        help="entries kept while the broker is down (default 100000; beyond, "
                             "the oldest are dropped and a gap entry records them)")
    bridge.add_argument("--flush-timeout", type=non_negative_float, default=10.0,
                        help="seconds to write what is buffered at exit (default 10)")
    bridge.add_argument("--health", type=positive_float, metavar="N",
                        help="print a health line to stderr every N seconds")
    _subscriber_arguments(bridge)
    add_verbosity(bridge, "connection attempts and their causes")

    demo = commands.add_parser(
        "demo",
        help="live market demo on a local server (no account needed)",
        description="Start a local Pusher-compatible server and a synthetic market feed "
        "(one channel per stock symbol), subscribe with rxpusher and show a live view built "
        "from Rx operators: prices, moving averages, throughput and presence.",
        epilog="example:\n  rxpusher demo --seconds 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--seconds", type=positive_float, default=10.0,
                      help="stop after this many seconds (default 10)")

    serve = commands.add_parser(
        "serve",
        help="run a local Pusher-compatible server",
        description=SERVE_DESCRIPTION,
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_arguments(serve)
    return parser


def _key_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", nargs="?",
                        help="the app key (default: PUSHER_APP_KEY, or app-key with --local)")


def _subscriber_arguments(parser: argparse.ArgumentParser) -> None:
    """Where a subscribing command connects and how it authorizes private channels."""
    _server_arguments(parser)
    auth = parser.add_mutually_exclusive_group()
    _secret_arguments(auth, "sign private/presence subscriptions locally with the app secret")
    auth.add_argument("--auth-endpoint", help="URL of your channel authorization endpoint")


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--local", action="store_true",
                        help="the server of 'rxpusher serve' with its defaults: 127.0.0.1:6001, "
                             "no TLS, app id 1, key app-key, secret app-secret")
    parser.add_argument("--cluster",
                        help="Pusher cluster (default: PUSHER_CLUSTER, else mt1)")
    parser.add_argument("--host", help="server host (overrides --cluster; default: PUSHER_HOST)")
    parser.add_argument("--port", type=port_number,
                        help="server port (default 443, or 80 with --no-tls)")
    parser.add_argument("--no-tls", action="store_true", help="plain ws:// and http://")


def _secret_arguments(group: argparse._MutuallyExclusiveGroup, purpose: str) -> None:
    group.add_argument("--secret", help=f"app secret: {purpose} (visible in ps: prefer "
                                        "PUSHER_APP_SECRET or --secret-file)")
    group.add_argument("--secret-file", type=Path,
                       help="read the app secret from this file (its first line)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:  # reported by the command's own parser, as `python -m rxpusher.server` does
        _command_parser(parser, args.command).error(
            f"unrecognized arguments: {' '.join(extras)}")
    sigterm_as_interrupt()
    try:
        if args.command == "listen":
            return listen(args)
        if args.command == "bridge":
            return bridge_command(args)
        if args.command == "demo":
            return demo(args)
        if args.command == "serve":
            return run_serve(args)
        if args.command == "replay":
            return replay_command(args)
        return trigger(args)
    except UsageError as exc:
        print(f"rxpusher: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    return parser  # pragma: no cover - every command has a sub-parser


# ---- settings: option, then --local, then the environment -----------------------------------


def _setting(args: argparse.Namespace, name: str) -> str | None:
    given = getattr(args, name, None)
    if given:
        return str(given)
    if args.local:
        return LOCAL[name]
    return os.environ.get(ENV[name]) or None


def _secret(args: argparse.Namespace) -> str | None:
    if args.secret:
        return str(args.secret)
    if args.secret_file is not None:
        try:
            text: str = args.secret_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read --secret-file {args.secret_file}: "
                             f"{exc.strerror or exc}") from None
        secret = text.splitlines()[0].strip() if text.strip() else ""
        if not secret:
            raise UsageError(f"--secret-file {args.secret_file} is empty")
        return secret
    return _setting(args, "secret")


def _required(value: str | None, option: str, name: str) -> str:
    if not value:
        raise UsageError(f"no {option.lstrip('-').replace('-', ' ')}: give {option}, set "
                         f"{ENV[name]} or use --local")
    return value


def _endpoint(args: argparse.Namespace) -> tuple[str | None, str, int | None, bool]:
    """``(host, cluster, port, tls)`` of the server."""
    tls = not (args.no_tls or args.local)
    host = _setting(args, "host")
    cluster = args.cluster or os.environ.get(ENV["cluster"]) or os.environ.get(CLUSTER_ALIAS)
    port: int | None = args.port or (LOCAL_PORT if args.local else None)
    return host, cluster or "mt1", port, tls


def _subscriber_settings(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The app key and the client options of a subscribing command (listen, bridge)."""
    options = _connection_options(args)
    key = _required(args.key or _setting(args, "key"), "KEY", "key")
    if args.auth_endpoint:
        options["auth_endpoint"] = args.auth_endpoint
    else:
        secret = _secret(args)
        if secret:
            options["secret"] = secret
    return key, options


def _connection_options(args: argparse.Namespace) -> dict[str, Any]:
    host, cluster, port, tls = _endpoint(args)
    options: dict[str, Any] = {"use_tls": tls}
    if host:
        options["host"] = host
    else:
        options["cluster"] = cluster
    if port:
        options["wss_port" if tls else "ws_port"] = port
    return options


# ---- output that survives a closed pipe -------------------------------------------------------


def _say(text: str) -> None:
    """One line on stderr; a closed stderr is not an error worth a traceback."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):
        pass


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


# ---- listen -----------------------------------------------------------------------------------


def listen(args: argparse.Namespace) -> int:
    """``rxpusher listen``: print events until Ctrl-C, --count, a refused connection or a
    closed stdout."""
    configure_logging(args.verbose, quiet=logging.ERROR)  # problems: printed from errors
    key, options = _subscriber_settings(args)
    if args.channel_data:
        try:
            options["channel_data"] = json.loads(args.channel_data)
        except ValueError as exc:
            raise UsageError(f"--channel-data is not JSON: {exc}") from exc
    presence = [name for name in args.channel if name.startswith("presence-")]
    if presence and "secret" in options and "channel_data" not in options:
        raise UsageError(f"{escape(presence[0])} is a presence channel: signing it with the "
                         "secret needs --channel-data '{\"user_id\": \"1\"}' (the member "
                         "this client joins as)")
    if args.backfill_url and not args.seq:
        raise UsageError("--backfill-url needs --seq FIELD")
    try:
        backfill = http_backfill(args.backfill_url) if args.backfill_url else None
        pusher = Pusher(key, auto_connect=False, **options)
        channels = [pusher.channel(name) for name in args.channel]
        streams = _sequenced_streams(channels, args.event or [], args.seq, backfill) \
            if args.seq else None
        recording = pusher.record(args.record) if args.record else None
    except (ValueError, TypeError) as exc:
        raise UsageError(escape(str(exc))) from exc
    except OSError as exc:
        raise UsageError(f"cannot record to {escape(str(args.record))}: {exc.strerror}") from exc
    if args.health:
        pusher.health(1.0).subscribe(lambda h: _say(_health_line(h)))
    try:
        return _print_events(pusher, channels, args, until_disconnected=False, streams=streams)
    finally:
        if recording is not None:
            recording.dispose()


def _sequenced_streams(channels: list[Channel], events: list[str], field: str,
                       backfill: ChannelBackfill | None) -> list[Observable[Event]]:
    """``--seq FIELD``: one sequenced stream per channel and event, as :class:`Event`s
    (without ``--event``: one per channel, of every event: the channel-wide sequence);
    each gap is one line on stderr."""
    seq = seq_field(field)
    streams: list[Observable[Event]] = []
    for channel in channels:
        if not events:
            wide = sequenced(channel, None, seq=seq, backfill=backfill)
            wide.gaps.subscribe(lambda gap: _say(_gap_line(gap)))
            streams.append(wide.named_events)
        for event in dict.fromkeys(events):
            feed = sequenced(channel, event, seq=seq, backfill=backfill)
            feed.gaps.subscribe(lambda gap: _say(_gap_line(gap)))
            streams.append(feed.events.pipe(ops.map(
                functools.partial(_as_event, event, channel.name))))
    return streams


def _as_event(name: str, channel: str, data: Any) -> Event:
    return Event(name, channel, data)


def _gap_line(gap: Gap) -> str:
    last = "?" if gap.last is None else str(gap.last)
    count = "" if gap.last is None else f" ({gap.last - gap.first + 1})"
    event = "" if gap.event is None else f" {escape(gap.event)}"  # None: channel-wide
    return f"[gap {escape(gap.channel)}{event}: {gap.first}..{last} missing{count}]"


def _health_line(health: Health) -> str:
    age = "-" if health.last_frame_age is None else f"{health.last_frame_age:.1f}s"
    up = "-" if health.connected_for is None else f"{health.connected_for:.0f}s"
    return (f"[health] {health.state} up={up} reconnects={health.reconnects} "
            f"frames={health.frames} bytes={health.bytes} "
            f"rate={health.frames_per_second:.1f}/s last={age}")


def replay_command(args: argparse.Namespace) -> int:
    """``rxpusher replay FILE``: print a recording as ``listen`` would, then exit 0."""
    try:
        frames = load_recording(args.file)
    except OSError as exc:
        raise UsageError(f"cannot read {escape(str(args.file))}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(escape(str(exc))) from exc
    names = args.channel or list(dict.fromkeys(_recorded_channels(frames)))
    pusher = replay(args.file, speed=args.speed or None, auto_connect=False)
    try:
        channels = [pusher.channel(name) for name in names]
    except ValueError as exc:
        pusher.close()
        raise UsageError(escape(str(exc))) from exc
    played = [0]  # frames come before the events they carry, in order: the index is t
    pusher.frames.subscribe(lambda _: played.__setitem__(0, played[0] + 1))

    def recorded_at() -> dict[str, Any]:
        index = min(max(played[0] - 1, 0), len(frames) - 1)
        return {"recorded_at": frames[index][0] if frames else 0.0}

    return _print_events(pusher, channels, args, until_disconnected=True, quiet=True,
                         stamp=recorded_at)


def _recorded_channels(frames: list[tuple[float, str]]) -> list[str]:
    names = []
    for _, frame in frames:
        try:
            channel = json.loads(frame).get("channel")
        except (ValueError, AttributeError, RecursionError):
            continue
        if isinstance(channel, str) and channel and not channel.startswith("#"):
            names.append(channel)
    return names


def _received_at() -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"received_at": now}


def _print_events(pusher: Pusher, channels: list[Channel], args: argparse.Namespace, *,
                  until_disconnected: bool, quiet: bool = False,
                  streams: list[Observable[Event]] | None = None,
                  stamp: Callable[[], dict[str, Any]] = _received_at) -> int:
    """Print the events of ``channels`` (or of ``streams``, made from them) as JSON lines
    until Ctrl-C, ``--count``, a refused connection, a closed stdout or
    (``until_disconnected``) the end of the connection. ``stamp`` gives each line its time
    field (``received_at``, or a replay's ``recorded_at``)."""
    done = threading.Event()
    outcome: dict[str, Any] = {"status": 0, "printed": 0}
    lock = threading.Lock()
    failed_channels = [0]

    def fail(error: Exception) -> None:
        # SubscriptionErrors are printed from pusher.errors; a refusal ends the command, and
        # so does the failure of every channel (nothing left to listen to).
        with lock:
            failed_channels[0] += 1
            give_up = isinstance(error, ConnectionRefused) or failed_channels[0] == len(sources)
        if isinstance(error, ConnectionRefused) and not done.is_set():
            _say(f"rxpusher: {escape(str(error))}")
        if give_up:
            with lock:
                if not done.is_set():
                    outcome["status"] = 1
            done.set()

    def emit(event: Event) -> None:
        line = json.dumps(
            {"channel": event.channel, "event": event.name, "data": event.data,
             "user_id": event.user_id, **stamp()}
        )
        with lock:
            if done.is_set():
                return
            try:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            except BrokenPipeError:  # the reader is gone (| head): stop, as Unix tools do
                outcome["status"] = EXIT_BROKEN_PIPE
                done.set()
                return
            outcome["printed"] += 1
            if args.count and outcome["printed"] >= args.count:
                done.set()

    wanted = set(args.event or ())

    def printable(event: Event) -> bool:
        if wanted:
            return event.name in wanted
        return not event.name.startswith("pusher:")

    sources = streams if streams is not None else [
        channel.events().pipe(ops.filter(printable)) for channel in channels]
    subscriptions = [events.subscribe(emit, on_error=fail) for events in sources]
    for channel in channels:
        if not quiet:
            subscriptions.append(
                channel.state.subscribe(functools.partial(_print_state, channel.name)))
    if not quiet:
        pusher.state.subscribe(lambda state: _say(f"[{state}]"))
    if until_disconnected:
        pusher.state.subscribe(lambda state: done.set() if state == "disconnected" else None)
    pusher.errors.subscribe(
        lambda e: None if _said_elsewhere(e) else _say(f"rxpusher: {escape(str(e))}"))
    try:
        pusher.connect()
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        outcome["status"] = 130
    finally:
        for subscription in subscriptions:
            subscription.dispose()
        pusher.close()
    if outcome["status"] == EXIT_BROKEN_PIPE:
        _silence_stdout()
    return int(outcome["status"])


def _said_elsewhere(error: Exception) -> bool:
    """A refusal is printed when it ends the command, and so is the ``pusher:error`` that
    announced it (same text): one line for a wrong key."""
    if isinstance(error, ConnectionRefused):
        return True
    return isinstance(error, ServerError) and error.code is not None \
        and close_action(error.code) is CloseAction.REFUSED


def _print_state(channel: str, state: str) -> None:
    _say(f"[{escape(channel)}: {state}]")


# ---- bridge -----------------------------------------------------------------------------------


def bridge_command(args: argparse.Namespace) -> int:
    """``rxpusher bridge``: write the channels' events to a broker until SIGINT/SIGTERM."""
    from .bridge import _command

    configure_logging(args.verbose)
    key, options = _subscriber_settings(args)
    try:
        plan = _command.Plan.from_args(args)
        pusher = Pusher(key, auto_connect=False, **options)
    except (ValueError, TypeError, ImportError) as exc:
        raise UsageError(escape(str(exc))) from exc
    return _command.run(pusher, plan, say=_say)


# ---- demo -------------------------------------------------------------------------------------


def demo(args: argparse.Namespace) -> int:
    """``rxpusher demo``: the live market view for ``--seconds``."""
    from . import _demo

    return 0 if _demo.run(args.seconds) >= 0 else 1


# ---- trigger ----------------------------------------------------------------------------------


def trigger(args: argparse.Namespace) -> int:
    """``rxpusher trigger``: one event through the HTTP API; a failure is one line on stderr
    (never the signed URL)."""
    app_id = _required(_setting(args, "app_id"), "--app-id", "app_id")
    key = _required(_setting(args, "key"), "--key", "key")
    secret = _required(_secret(args), "--secret", "secret")
    host, cluster, port, tls = _endpoint(args)
    host = host or f"api-{cluster}.pusher.com"
    port = port or (443 if tls else 80)
    text = sys.stdin.read() if args.data == "-" else args.data
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = text
    where = escape(f"{host}:{port}")
    base_url = f"{'https' if tls else 'http'}://{host}:{port}"
    try:
        if args.chunked:
            answers = rest.trigger_chunked(base_url, app_id, key, secret, [args.channel],
                                           args.event, data)
            response = answers[-1]
        else:
            response = rest.trigger(base_url, app_id, key, secret, [args.channel], args.event,
                                    data)
    except requests.RequestException as exc:
        _say(f"rxpusher: error: cannot reach {where}: {network_cause(exc)}")
        return 1
    try:
        answer = response.json()
    except ValueError:
        answer = None
    # soketi answers some failures with 200 and {"error": ..., "code": 401}
    failed = response.status_code >= 300 or (isinstance(answer, dict) and "error" in answer)
    if failed:
        code = response.status_code
        message = response.text
        if isinstance(answer, dict):
            code = answer.get("code", code)
            message = str(answer.get("error") or answer.get("message") or message)
        _say(f"rxpusher: error: {where} answered {escape(str(code))}: {_short(message)}")
        return 1
    print(response.text.strip() or "{}")
    return 0


def _short(text: str, limit: int = 200) -> str:
    """First line of ``text``, escaped and at most ``limit`` characters."""
    lines = text.strip().splitlines()
    first = escape(lines[0] if lines else "(empty answer)")
    return first if len(first) <= limit else first[: limit - 3] + "..."


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
