"""Running the server in the foreground: ``serve(...)`` and the ``main(argv)`` behind
``rxpusher serve`` and ``python -m rxpusher.server``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from .app import App
from .server import PusherServer

DEFAULT_PORT = 6001


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, app_id: str = "1",
          key: str = "app-key", secret: str = "app-secret") -> None:
    """Run a server for one app until Ctrl-C; prints where clients and SDKs connect."""
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
    """Add the ``serve`` options (``--host --port --app-id --key --secret``) to a parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port of the WebSocket endpoint and the HTTP API "
                             f"(default {DEFAULT_PORT})")
    parser.add_argument("--app-id", default="1", help="numeric app id (default 1)")
    parser.add_argument("--key", default="app-key", help="app key (default app-key)")
    parser.add_argument("--secret", default="app-secret", help="app secret (default app-secret)")
    parser.add_argument("--verbose", action="store_true", help="log every request and frame")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``--host --port --app-id --key --secret --verbose``) and serve."""
    parser = argparse.ArgumentParser(
        prog="rxpusher serve",
        description="Run a local Pusher Channels server (WebSocket endpoint and HTTP API).",
        epilog="example: rxpusher serve --port 6001 --app-id 1 --key app-key --secret s3cret")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if not args.app_id.isdigit():
        parser.error("--app-id must be numeric (the official server SDKs require it)")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        serve(args.host, args.port, args.app_id, args.key, args.secret)
    except OSError as exc:
        print(f"rxpusher serve: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    return 0
