"""Run integration tests with a chosen ``io`` mode (see the ``io_mode`` fixture)."""

from __future__ import annotations

from typing import Any

import pytest


def force_io(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """Make every client of the test read its connection with ``io=mode``."""
    import dataclasses

    from rxpusher._transport import WebSocketTransport

    original = WebSocketTransport.from_options.__func__  # type: ignore[attr-defined]

    def from_options(cls: type[WebSocketTransport], options: Any) -> WebSocketTransport:
        return original(cls, dataclasses.replace(options, io=mode))  # type: ignore[no-any-return]

    monkeypatch.setattr(WebSocketTransport, "from_options", classmethod(from_options))
