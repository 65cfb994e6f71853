"""A Pusher Channels protocol 7 server for development and tests.

``LocalServer`` runs it in a background thread (a context manager), ``PusherServer`` on your
own asyncio loop, ``serve`` in the foreground. It speaks the WebSocket protocol of pusher-js
and the HTTP API of the official server SDKs, on one port, and can inject faults.
Needs the ``websockets`` package (``pip install rxpusher[server]``).
"""

from .app import App
from .local import LocalServer
from .serve import main, serve
from .server import PusherServer
from .signatures import channel_auth, user_auth

__all__ = ["App", "LocalServer", "PusherServer", "channel_auth", "main", "serve", "user_auth"]
