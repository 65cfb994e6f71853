"""Running the server in the foreground: ``serve(...)``, and the one ``serve`` command line
behind both ``rxpusher serve`` and ``python -m rxpusher.server`` (same options, same errors,
same exit statuses).

This module imports the server itself (and ``websockets``) only when it runs, so that the
``rxpusher`` command line can build its ``serve`` parser without the ``server`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .._cliutil import add_verbosity, app_id, configure_logging, listen_port, sigterm_as_interrupt

DEFAULT_PORT = 6001
DESCRIPTION = ("Run a local Pusher Channels server (WebSocket endpoint and HTTP API on one "
               "port) for development and tests.")
EPILOG = """examples:
  rxpusher serve                     # app id 1, key app-key, secret app-secret, port 6001
  rxpusher serve --port 6001 --app-id 1 --key app-key --secret s3cret -v

exit status: 0 after Ctrl-C, 1 when the server cannot start, 2 for a usage error."""


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, app_id: str = "1",
          key: str = "app-key", secret: str = "app-secret") -> None:
    """Run a server for one app until Ctrl-C; prints where clients and SDKs connect."""
    from .app import App
    from .server import PusherServer

    server = PusherServer(App(app_id=app_id, key=key, secret=secret), host, port)

    async def run() -> None:
        await server.start()
        print(f"Pusher Channels server (protocol 7) for app {app_id}\n"
              f"  WebSocket: ws://{host}:{server.port}/app/{key}\n"
              f"  HTTP API:  http://{host}:{server.port}/apps/{app_id}\n"
              "Press Ctrl-C to stop.", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options (``--host --port --app-id --key --secret -v``) to a parser."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=listen_port, default=DEFAULT_PORT,
                        help=f"port of the WebSocket endpoint and the HTTP API, 0 for any free "
                             f"port (default {DEFAULT_PORT})")
    parser.add_argument("--app-id", type=app_id, default="1", help="numeric app id (default 1)")
    parser.add_argument("--key", default="app-key", help="app key (default app-key)")
    parser.add_argument("--secret", default="app-secret",
                        help="app secret (default app-secret)")
    add_verbosity(parser, "connections, subscriptions and events")


def build_parser(prog: str = "rxpusher serve") -> argparse.ArgumentParser:
    """The parser of ``python -m rxpusher.server`` (``rxpusher serve`` adds the same options
    to its sub-command with :func:`add_arguments`)."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve as the parsed ``args`` say; returns the exit status."""
    configure_logging(args.verbose, "rxpusher.server")
    try:
        from . import server as _  # noqa: F401 - fails here without the server extra
    except ImportError as exc:
        print(f"rxpusher serve: error: the server needs its extra: "
              f"pip install 'rxpusher[server]' ({exc})", file=sys.stderr)
        return 1
    try:
        serve(args.host, args.port, args.app_id, args.key, args.secret)
    except OSError as exc:
        print(f"rxpusher serve: error: cannot listen on {args.host}:{args.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``--host --port --app-id --key --secret -v``) and serve."""
    args = build_parser().parse_args(argv)
    sigterm_as_interrupt()
    return run(args)
