"""Shared plumbing of the examples: where to connect, and how to publish.

By default every example starts :class:`rxpusher.server.LocalServer` (a Pusher-compatible
server in a background thread, no account needed). Pass ``--key`` with ``--cluster`` or
``--host`` to use a real Pusher app, soketi, Sockudo or Reverb instead; give ``--app-id``
and ``--secret`` too when the example publishes events (it then uses the official
``pusher`` server SDK, ``pip install pusher``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


def parser(description: str, seconds: float = 3.0) -> argparse.ArgumentParser:
    """An argument parser with the connection options every example understands."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--seconds", type=float, default=seconds, help="run this long, then exit")
    real = p.add_argument_group("a real server instead of the local one")
    real.add_argument("--key", help="app key (omit to start a local server)")
    real.add_argument("--cluster", help="Pusher cluster, e.g. eu")
    real.add_argument("--host", help="host of a Pusher-compatible server (soketi, ...)")
    real.add_argument("--port", type=int, help="its port")
    real.add_argument("--no-tls", action="store_true", help="ws:// and http:// instead of TLS")
    real.add_argument("--app-id", help="app id, to publish with the official SDK")
    real.add_argument("--secret", help="app secret, to publish and to sign subscriptions")
    return p


@dataclass
class Backend:
    """Where clients connect (``key``, ``client_options``) and how the example publishes."""

    key: str
    client_options: dict[str, Any]
    secret: str | None = None
    sdk_options: dict[str, Any] | None = None
    local: Any = None  # the LocalServer, when there is one
    _sdk: Any = field(default=None, repr=False)

    def sdk(self, **extra: Any) -> Any:
        """The official server SDK (``pusher.Pusher``) for this app."""
        import pusher  # the official server SDK: pip install pusher

        if self.sdk_options is None:
            raise SystemExit("publishing to a real server needs --app-id and --secret")
        return pusher.Pusher(**self.sdk_options, **extra)

    def trigger(self, channel: str, event: str, data: Any) -> None:
        """Publish ``event`` on ``channel`` as a server would."""
        if self.local is not None:
            self.local.trigger(channel, event, data)
            return
        if self._sdk is None:
            self._sdk = self.sdk()
        self._sdk.trigger(channel, event, data)


@contextmanager
def backend(args: argparse.Namespace) -> Iterator[Backend]:
    """The local server (default) or the real one the arguments describe."""
    if not args.key:
        from rxpusher.server import LocalServer

        with LocalServer() as server:
            yield Backend(server.key, server.client_options(), server.secret,
                          server.sdk_options(), local=server)
        return
    options: dict[str, Any] = {"use_tls": not args.no_tls}
    sdk: dict[str, Any] = {"ssl": not args.no_tls}
    if args.host:
        options["host"] = sdk["host"] = args.host
        if args.port:
            options["wss_port" if not args.no_tls else "ws_port"] = sdk["port"] = args.port
    elif args.cluster:
        options["cluster"] = sdk["cluster"] = args.cluster
    sdk_options = None
    if args.app_id and args.secret:
        sdk_options = {"app_id": args.app_id, "key": args.key, "secret": args.secret, **sdk}
    yield Backend(args.key, options, args.secret, sdk_options)
