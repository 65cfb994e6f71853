"""Network failures in a few words (``connection refused``, ``unknown host``, ...), found
in an exception's causes, contexts and urllib3 ``reason``s: requests' own messages are
long, quote the URL, and put the cause last, where a length limit cuts it off."""

from __future__ import annotations

import socket
import ssl


def _causes() -> tuple[tuple[type[BaseException], str], ...]:
    import requests  # imported when a failure is described, not with rxpusher

    return (
        (requests.exceptions.ProxyError, "the proxy failed"),
        (ConnectionRefusedError, "connection refused"),
        (socket.gaierror, "unknown host"),
        (ssl.SSLCertVerificationError, "TLS certificate not trusted"),
        (ssl.SSLError, "TLS handshake failed"),
        (TimeoutError, "timed out"),
        (requests.Timeout, "timed out"),
        (requests.exceptions.InvalidURL, "invalid host or port"),
        (requests.exceptions.SSLError, "TLS handshake failed"),
        (ConnectionResetError, "connection reset"),
    )


def network_cause(error: BaseException) -> str:
    """What went wrong, in a few words."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    chain: list[BaseException] = []
    while pending:  # the error, its causes and contexts, and urllib3's ``reason``
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        chain.append(current)
        linked: list[object] = [current.__cause__, current.__context__,
                                getattr(current, "reason", None), *current.args]
        pending.extend(item for item in linked if isinstance(item, BaseException))
    for kind, words in _causes():
        if any(isinstance(item, kind) for item in chain):
            return words
    return f"{type(error).__name__} (network error)"
