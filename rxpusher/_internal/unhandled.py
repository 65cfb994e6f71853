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

log = logging.getLogger("rxpusher")

HOW_TO_HANDLE = ("pass on_error to subscribe() to handle it, "
                 "or configure a handler on the 'rxpusher' logger")


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
    from .._auth import shorten  # noqa: PLC0415 - _auth imports this module's importers

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
