"""The ``rxpusher`` command line (also ``python -m rxpusher``)."""

from __future__ import annotations

import argparse
import functools
import json
import sys
import threading
from collections.abc import Sequence
from typing import Any

from reactivex import operators as ops

from . import __version__
from ._internal import rest
from .client import Pusher
from .exceptions import ConnectionRefused
from .protocol import Event

EPILOG_LISTEN = """examples:
  rxpusher listen APP_KEY --cluster eu --channel prices
  rxpusher listen app-key --host 127.0.0.1 --port 6001 --no-tls \\
      --channel private-orders --secret app-secret --event order-created
  rxpusher listen app-key --host 127.0.0.1 --port 6001 --no-tls \\
      --channel presence-room --secret app-secret --channel-data '{"user_id": "1"}'
"""

EPILOG_TRIGGER = """examples:
  rxpusher trigger --app-id 1 --key app-key --secret app-secret \\
      --host 127.0.0.1 --port 6001 --no-tls prices new-price '{"price": 10}'
"""


class UsageError(Exception):
    """A user error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
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
        description="Subscribe to channels and print one JSON line per event on stdout "
        "(channel, event, data, user_id); connection states go to stderr.",
        epilog=EPILOG_LISTEN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listen.add_argument("key", help="the app key")
    listen.add_argument("--channel", "-c", action="append", required=True,
                        help="channel to subscribe to (repeatable)")
    listen.add_argument("--event", "-e", action="append",
                        help="only print these events (repeatable); default: every event")
    listen.add_argument("--count", type=int, help="exit after printing this many events")
    _server_arguments(listen)
    auth = listen.add_mutually_exclusive_group()
    auth.add_argument("--secret", help="app secret: sign private/presence subscriptions locally")
    auth.add_argument("--auth-endpoint", help="URL of your channel authorization endpoint")
    listen.add_argument("--channel-data", help='presence member data with --secret, as JSON: '
                        '\'{"user_id": "1", "user_info": {...}}\'')

    trigger = commands.add_parser(
        "trigger",
        help="send an event through a server's HTTP API",
        description="Trigger an event on a channel through the HTTP API of Pusher or any "
        "compatible server.",
        epilog=EPILOG_TRIGGER,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    trigger.add_argument("--app-id", required=True)
    trigger.add_argument("--key", required=True)
    trigger.add_argument("--secret", required=True)
    _server_arguments(trigger)
    trigger.add_argument("channel")
    trigger.add_argument("event")
    trigger.add_argument("data", help="event data: JSON, or any string")

    demo = commands.add_parser(
        "demo",
        help="live market demo on a local server (no account needed)",
        description="Start a local Pusher-compatible server and a synthetic market feed "
        "(one channel per stock symbol), subscribe with rxpusher and show a live view built "
        "from Rx operators: prices, moving averages, throughput and presence.",
        epilog="example:\n  rxpusher demo --seconds 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--seconds", type=float, default=10.0,
                      help="stop after this many seconds (default 10)")

    serve = commands.add_parser(
        "serve",
        help="run a local Pusher-compatible server",
        description="Run a local Pusher Channels server (WebSocket endpoint and HTTP API on "
        "one port) for development and tests.",
        epilog="example:\n  rxpusher serve --port 6001 --app-id 1 --key app-key --secret app-secret",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=6001, help="port (default 6001)")
    serve.add_argument("--app-id", default="1", help="numeric app id (default 1)")
    serve.add_argument("--key", default="app-key", help="app key (default app-key)")
    serve.add_argument("--secret", default="app-secret", help="app secret (default app-secret)")
    return parser


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", default="mt1", help="Pusher cluster (default mt1)")
    parser.add_argument("--host", help="server host (overrides --cluster)")
    parser.add_argument("--port", type=int, help="server port (default 443, or 80 with --no-tls)")
    parser.add_argument("--no-tls", action="store_true", help="plain ws:// and http://")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "listen":
            return listen(args)
        if args.command == "demo":
            return demo(args)
        if args.command == "serve":
            return serve(args)
        return trigger(args)
    except UsageError as exc:
        print(f"rxpusher: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _connection_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"use_tls": not args.no_tls}
    if args.host:
        options["host"] = args.host
    else:
        options["cluster"] = args.cluster
    if args.port:
        options["ws_port" if args.no_tls else "wss_port"] = args.port
    return options


def listen(args: argparse.Namespace) -> int:
    """``rxpusher listen``: print events until Ctrl-C, --count, or a refused connection."""
    options = _connection_options(args)
    if args.secret:
        options["secret"] = args.secret
    if args.auth_endpoint:
        options["auth_endpoint"] = args.auth_endpoint
    if args.channel_data:
        try:
            options["channel_data"] = json.loads(args.channel_data)
        except ValueError as exc:
            raise UsageError(f"--channel-data is not JSON: {exc}") from exc
    try:
        pusher = Pusher(args.key, auto_connect=False, **options)
        channels = [pusher.channel(name) for name in args.channel]
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from exc

    done = threading.Event()
    outcome: dict[str, Any] = {"status": 0, "printed": 0}
    lock = threading.Lock()

    failed_channels = [0]

    def fail(error: Exception) -> None:
        # SubscriptionErrors are printed from pusher.errors; a refusal ends the command, and
        # so does the failure of every channel (nothing left to listen to).
        with lock:
            failed_channels[0] += 1
            give_up = isinstance(error, ConnectionRefused) or failed_channels[0] == len(channels)
        if isinstance(error, ConnectionRefused) and not done.is_set():
            print(f"rxpusher: {error}", file=sys.stderr, flush=True)
        if give_up:
            outcome["status"] = 1
            done.set()

    def emit(event: Event) -> None:
        line = json.dumps(
            {"channel": event.channel, "event": event.name, "data": event.data,
             "user_id": event.user_id}
        )
        with lock:
            print(line, flush=True)
            outcome["printed"] += 1
            if args.count and outcome["printed"] >= args.count:
                done.set()

    wanted = set(args.event or ())

    def printable(event: Event) -> bool:
        if wanted:
            return event.name in wanted
        return not event.name.startswith("pusher:")

    subscriptions = []
    for channel in channels:
        events = channel.events().pipe(ops.filter(printable))
        subscriptions.append(events.subscribe(emit, on_error=fail))
        subscriptions.append(channel.state.subscribe(functools.partial(_print_state, channel.name)))
    pusher.state.subscribe(lambda state: print(f"[{state}]", file=sys.stderr, flush=True))
    pusher.errors.subscribe(
        lambda e: None if isinstance(e, ConnectionRefused) else print(
            f"rxpusher: {e}", file=sys.stderr, flush=True)
    )
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
    return int(outcome["status"])


def demo(args: argparse.Namespace) -> int:
    """``rxpusher demo``: the live market view for ``--seconds``."""
    from . import _demo

    if args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    return 0 if _demo.run(args.seconds) >= 0 else 1


def serve(args: argparse.Namespace) -> int:
    """``rxpusher serve``: the local server in the foreground until Ctrl-C."""
    if not args.app_id.isdigit():
        raise UsageError("--app-id must be digits (the official server SDKs reject others)")
    try:
        from .server import serve as run_server
    except ImportError as exc:
        raise UsageError(f"the server needs its extra: pip install 'rxpusher[server]' ({exc})") from exc
    try:
        run_server(args.host, args.port, args.app_id, args.key, args.secret)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    return 0


def _print_state(channel: str, state: str) -> None:
    print(f"[{channel}: {state}]", file=sys.stderr, flush=True)


def trigger(args: argparse.Namespace) -> int:
    """``rxpusher trigger``: one event through the HTTP API."""
    scheme = "http" if args.no_tls else "https"
    host = args.host or f"api-{args.cluster}.pusher.com"
    port = args.port or (80 if args.no_tls else 443)
    try:
        data: Any = json.loads(args.data)
    except ValueError:
        data = args.data
    try:
        response = rest.trigger(f"{scheme}://{host}:{port}", args.app_id, args.key, args.secret,
                                [args.channel], args.event, data)
    except Exception as exc:  # noqa: BLE001 - network errors are user-facing here
        print(f"rxpusher: could not reach {host}:{port}: {exc}", file=sys.stderr)
        return 1
    try:
        answer = response.json()
    except ValueError:
        answer = None
    # soketi answers some failures with 200 and {"error": ..., "code": 401}
    failed = response.status_code >= 300 or (isinstance(answer, dict) and "error" in answer)
    if failed:
        code = answer.get("code", response.status_code) if isinstance(answer, dict) else response.status_code
        print(f"rxpusher: the server answered {code}: {response.text.strip()}", file=sys.stderr)
        return 1
    print(response.text.strip() or "{}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
