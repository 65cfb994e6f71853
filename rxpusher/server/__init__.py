"""A Pusher Channels protocol 7 server for development and tests.

``LocalServer`` runs it in a background thread (a context manager), ``PusherServer`` on your
own asyncio loop, ``serve`` in the foreground. It speaks the WebSocket protocol of pusher-js
and the HTTP API of the official server SDKs, on one port, and can inject faults.
Needs the ``websockets`` package (``pip install 'rxpusher[server]'``).

``LocalServer`` and ``PusherServer`` are imported lazily, on first use: importing
``rxpusher.server`` (as pytest does with the plugin ``rxpusher.server.pytest_plugin`` in every
environment where rxpusher is installed) needs nothing beyond rxpusher's own dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .app import App
from .serve import main, serve
from .signatures import channel_auth, user_auth

if TYPE_CHECKING:
    from .local import LocalServer
    from .server import PusherServer

__all__ = ["App", "LocalServer", "PusherServer", "channel_auth", "main", "serve", "user_auth"]

_HOMES = {
    "LocalServer": ".local",
    "PusherServer": ".server",
}


def __getattr__(name: str) -> Any:
    """Import ``name`` from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(home, __name__)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"rxpusher.server.{name} needs the server extra (missing: {exc.name}): "
            "pip install 'rxpusher[server]'", name=exc.name) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
