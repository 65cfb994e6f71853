"""A backfill over HTTP for :func:`rxpusher.sequenced`, as the CLI's ``--backfill-url`` does
it (``rxpusher listen --seq`` and ``rxpusher bridge --seq``):

``GET URL?channel=..&event=..&after=..&before=..`` (``before`` left out when it is None: up
to now; ``event`` left out for a channel-wide sequence, ``event`` None: every event of the
channel) answers a JSON list of event data. The call is bounded in time (one deadline for
connecting and reading) and in size; any other answer raises, which the sequenced stream
reports as a ``BackfillError`` and a ``Gap``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from ._auth import shorten

__all__ = ["MAX_ANSWER_BYTES", "BackfillAnswerError", "http_backfill", "seq_field"]

MAX_ANSWER_BYTES = 16 * 1024 * 1024
"""The largest answer read (16 MiB); a longer one is an error."""

_CHUNK = 64 * 1024


class BackfillAnswerError(ValueError):
    """The backfill endpoint answered something other than a JSON list in time."""


def http_backfill(url: str, *, timeout: float = 10.0, max_bytes: int = MAX_ANSWER_BYTES,
                  headers: dict[str, str] | None = None,
                  session: requests.Session | None = None,
                  ) -> Callable[[str, str | None, int, int | None], list[Any]]:
    """A ``backfill(channel, event, after, before)`` for :func:`rxpusher.sequenced` that
    GETs ``url`` with those four query parameters and returns the JSON list it answers
    (``event`` None, a channel-wide sequence, and ``before`` None are left out).

    Raises ``BackfillAnswerError`` (a ``ValueError``) for a status other than 200, a body
    over ``max_bytes`` or that is not a JSON list, and ``TimeoutError`` past ``timeout``
    seconds in all; network errors are ``requests`` exceptions."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"the backfill URL must be http:// or https://, got {url!r}")
    http = session or requests.Session()

    def backfill(channel: str, event: str | None, after: int, before: int | None) -> list[Any]:
        params: dict[str, str | int] = {"channel": channel}
        if event is not None:
            params["event"] = event
        params["after"] = after
        if before is not None:
            params["before"] = before
        deadline = time.monotonic() + timeout
        with http.get(url, params=params, headers=headers, timeout=timeout, stream=True) as answer:
            body = bytearray()
            for chunk in answer.iter_content(_CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise BackfillAnswerError(f"the answer is larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the answer took longer than {timeout} s")
            if answer.status_code != 200:
                first = body[:200].decode("utf-8", "replace").strip().splitlines()
                raise BackfillAnswerError(
                    f"HTTP {answer.status_code}: {shorten(first[0] if first else '(empty)')}")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise BackfillAnswerError(f"the answer is not JSON: {shorten(str(exc))}") from exc
        if not isinstance(data, list):
            raise BackfillAnswerError(f"the answer is a JSON {type(data).__name__}, not a list")
        return data

    return backfill


def seq_field(field: str) -> Callable[[Any], int]:
    """The ``seq`` of ``--seq FIELD``: ``data[FIELD]`` of an object (JSON-number strings
    are not accepted: the stream reports them as ``ProtocolError``)."""
    if not isinstance(field, str) or not field:
        raise ValueError("the seq field must be a non-empty name")

    def seq(data: Any) -> int:
        if not isinstance(data, dict):
            raise TypeError(f"the data is a {type(data).__name__}, not an object with {field!r}")
        if field not in data:
            raise KeyError(f"the data has no {field!r}")
        value: int = data[field]
        return value

    return seq
