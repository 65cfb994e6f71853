"""Errors nobody handles: shown once, in one line, instead of vanishing.

reactivex's default ``on_error`` (an observer subscribed without one) re-raises the error it
is given. The library catches that, recognises the error it delivered and wraps it in
:class:`Unhandled` for its report function, so that it is reported as itself, never as an
``ObserverError``. :func:`show` then writes it once to stderr, or, when a handler is
configured on the ``rxpusher`` logger (or above it), logs it there instead.
"""

from __future__ import annotations

import logging
import sys
import weakref
from collections.abc import Callable
from typing import Any

from .._exceptions import ConnectAttemptError, InternalError, ObserverError, PusherError
from .._protocol import shorten

log = logging.getLogger("rxpusher")

HOW_TO_HANDLE = ("pass on_error to subscribe() to handle it, "
                 "or configure a handler on the 'rxpusher' logger")
RETRYING = ("rxpusher retries with backoff; observe pusher.errors or configure a handler on "
            "the 'rxpusher' logger to handle this")


class Unhandled(Exception):
    """Marker passed to a report function: ``error`` reached an observer without an
    ``on_error`` of its own."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def logging_configured() -> bool:
    """True when a record of the ``rxpusher`` logger reaches a real handler."""
    logger: logging.Logger | None = log
    while logger is not None:
        if any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
            return True
        logger = logger.parent if logger.propagate else None
    return False


_shown: weakref.WeakSet[BaseException] = weakref.WeakSet()


def show(error: BaseException, what: str = "unhandled", advice: str = HOW_TO_HANDLE) -> None:
    """One line about ``error``, once per error object: to the logging handlers when some
    are configured, else to stderr (a closed stderr is ignored)."""
    if error in _shown:
        return
    _shown.add(error)
    line = f"rxpusher: {what + ' ' if what else ''}{type(error).__name__}: " \
        f"{shorten(str(error), 500)} ({advice})"
    if logging_configured():
        log.error("%s", line)
        return
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def internal_error(exc: BaseException) -> InternalError:
    """``exc``, a fault of the library itself, as the :class:`InternalError` reported."""
    error = InternalError(f"rxpusher failed: {type(exc).__name__}: {shorten(str(exc))}")
    error.__cause__ = exc
    return error


class Said:
    """What one client said, in its lane: the errors put on ``errors`` (an unhandled one
    already there is not put there again) and the outage last told on stderr."""

    __slots__ = ("_reported", "_told_at")

    def __init__(self) -> None:
        self._reported: weakref.WeakSet[BaseException] = weakref.WeakSet()
        self._told_at: int | None = None  # handshakes when a failed attempt was told

    def reported(self, error: PusherError, core: Any) -> None:
        """``error`` goes on ``errors`` of the client ``core`` runs; when nobody watches
        them, the first failed attempt after each handshake (once per outage) is shown too."""
        self._reported.add(error)
        handshakes = core.connection.handshakes
        if isinstance(error, ConnectAttemptError) and not core.streams.errors \
                and self._told_at != handshakes:
            self._told_at = handshakes
            show(error, "", RETRYING)

    def observer_raised(self, exc: BaseException, emit: Callable[[PusherError], None]) -> None:
        """An observer raised ``exc``: an :class:`ObserverError`, unless it is the error the
        observer was given (:class:`Unhandled`)."""
        if isinstance(exc, Unhandled):
            self.unhandled(exc.error, emit)
            return
        wrapped = ObserverError(f"an observer raised {type(exc).__name__}: {shorten(str(exc))}")
        wrapped.__cause__ = exc
        emit(wrapped)

    def unhandled(self, error: BaseException, emit: Callable[[PusherError], None]) -> None:
        """``error`` reached an observer without ``on_error``: put on ``errors`` unless it is
        there already (refusals and subscription errors are), and shown once."""
        if not isinstance(error, PusherError):
            error = internal_error(error)
        if error not in self._reported:
            emit(error)
        show(error)
