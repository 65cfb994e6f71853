"""The one application a local server hosts: credentials and per-app limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class App:
    """Credentials and settings of the Pusher app served by a local server.

    ``app_id`` must be numeric for the official server SDKs to accept it.
    """

    app_id: str = "1"
    key: str = "app-key"
    secret: str = "app-secret"
    #: Seconds announced in ``pusher:connection_established`` (Pusher itself says 120).
    activity_timeout: int = 120
    #: Send ``pusher_internal:subscription_count`` to the subscribers of non-presence
    #: channels whenever their number changes (an opt-in app setting on Pusher).
    subscription_count: bool = False
    #: Client events a connection may send per second before ``pusher:error`` 4301.
    client_events_per_second: float = 10.0
    #: Seconds a cache channel remembers its last event (Pusher keeps it 30 minutes).
    cache_ttl: float = 1800.0
