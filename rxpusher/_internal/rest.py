"""A minimal client of the Pusher HTTP API (trigger), signed as the server SDKs sign."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import requests


def signed_query(method: str, path: str, body: bytes, key: str, secret: str,
                 timestamp: int | None = None) -> dict[str, str]:
    """The auth query parameters of a Pusher HTTP API request."""
    query = {
        "auth_key": key,
        "auth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "auth_version": "1.0",
    }
    if body:
        query["body_md5"] = hashlib.md5(body).hexdigest()
    canonical = "&".join(f"{k}={query[k]}" for k in sorted(query))
    to_sign = f"{method}\n{path}\n{canonical}"
    query["auth_signature"] = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return query


def trigger(base_url: str, app_id: str, key: str, secret: str, channels: list[str], event: str,
            data: Any, socket_id: str | None = None, timeout: float = 10.0) -> requests.Response:
    """POST one event to ``channels``; ``data`` is sent as given when a string, else as JSON."""
    path = f"/apps/{app_id}/events"
    payload: dict[str, Any] = {
        "name": event,
        "channels": channels,
        "data": data if isinstance(data, str) else json.dumps(data),
    }
    if socket_id:
        payload["socket_id"] = socket_id
    body = json.dumps(payload, separators=(",", ":")).encode()
    query = signed_query("POST", path, body, key, secret)
    return requests.post(
        base_url.rstrip("/") + path,
        params=query,
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=timeout,
    )
