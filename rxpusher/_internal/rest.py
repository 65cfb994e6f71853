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


MAX_BATCH = 10
"""Events in one ``batch_events`` request (Pusher's limit)."""


def _post(base_url: str, path: str, payload: dict[str, Any], key: str, secret: str,
          timeout: float) -> requests.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    query = signed_query("POST", path, body, key, secret)
    return requests.post(
        base_url.rstrip("/") + path,
        params=query,
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=timeout,
    )


def _event(event: str, channels: list[str], data: Any, socket_id: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": event,
        "channels": channels,
        "data": data if isinstance(data, str) else json.dumps(data),
    }
    if socket_id:
        payload["socket_id"] = socket_id
    return payload


def trigger(base_url: str, app_id: str, key: str, secret: str, channels: list[str], event: str,
            data: Any, socket_id: str | None = None, timeout: float = 10.0) -> requests.Response:
    """POST one event to ``channels``; ``data`` is sent as given when a string, else as JSON."""
    return _post(base_url, f"/apps/{app_id}/events", _event(event, channels, data, socket_id),
                 key, secret, timeout)


def trigger_chunked(base_url: str, app_id: str, key: str, secret: str, channels: list[str],
                    event: str, data: Any, socket_id: str | None = None,
                    timeout: float = 10.0) -> list[requests.Response]:
    """Send ``data`` as Pusher's chunking recipe does: one event when its JSON text fits
    the 10 KB limit, else ``chunked-<event>`` parts, :data:`MAX_BATCH` per ``batch_events``
    request, in order. Stops at the first answer that is not a success and returns the
    answers so far (the last one is the failure)."""
    from .._chunks import CHUNK_LIMIT, chunked_name, split

    text = data if isinstance(data, str) else json.dumps(data)
    if len(text.encode()) <= CHUNK_LIMIT:
        return [trigger(base_url, app_id, key, secret, channels, event, text, socket_id, timeout)]
    name = chunked_name(event)
    items = []  # batch_events takes one channel per event
    for part in split(text):
        for channel in channels:
            item = _event(name, [], part, socket_id)
            del item["channels"]
            item["channel"] = channel
            items.append(item)
    answers = []
    for start in range(0, len(items), MAX_BATCH):
        batch = items[start:start + MAX_BATCH]
        answer = _post(base_url, f"/apps/{app_id}/batch_events", {"batch": batch}, key, secret,
                       timeout)
        answers.append(answer)
        if answer.status_code >= 300:
            break
    return answers
