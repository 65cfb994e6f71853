"""Shared by the command lines (``rxpusher`` and ``python -m rxpusher.server``): argument
types that fail as argparse errors (exit status 2), ``-v`` logging, and escaping of text
that came from a server before it reaches a terminal."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import TextIO

MAX_PORT = 65535


def _integer(text: str, what: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None


def port_number(text: str) -> int:
    """argparse type: a TCP port to connect to, 1-65535."""
    port = _integer(text, "port")
    if not 1 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"port must be between 1 and {MAX_PORT}, not {port}")
    return port


def listen_port(text: str) -> int:
    """argparse type: a TCP port to listen on, 0-65535 (0: any free port)."""
    port = _integer(text, "port")
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"port must be between 0 (any free port) and {MAX_PORT}, not {port}")
    return port


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _integer(text, "value")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number of seconds > 0."""
    value = _finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {text}")
    return value


def app_id(text: str) -> str:
    """argparse type: a numeric app id (the official server SDKs reject others)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(
            f"app id must be digits (the official server SDKs reject others), not {text!r}")
    return text


def add_verbosity(parser: argparse.ArgumentParser, what: str) -> None:
    """``-v`` (``what``), ``-vv`` (also every frame), as ``args.verbose`` (a count)."""
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help=f"-v: log {what} on stderr; -vv: also every frame")


def escape(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (escape sequences, carriage
    returns, bidi overrides, ...) are shown as ``\\xNN`` / ``\\uNNNN`` instead of acting."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


class EscapingFormatter(logging.Formatter):
    """Formats log records with :func:`escape` applied: messages may quote a server."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(escape(line) for line in super().format(record).split("\n"))


def configure_logging(verbosity: int, logger: str = "rxpusher",
                      stream: TextIO | None = None, quiet: int = logging.WARNING) -> None:
    """Send ``logger``'s records to stderr: INFO with ``-v``, DEBUG with ``-vv``, else only
    those of level ``quiet`` and above (warnings and errors by default)."""
    level = quiet if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(EscapingFormatter("%(asctime)s %(name)s: %(message)s"))
    target = logging.getLogger(logger)
    for old in [h for h in target.handlers if isinstance(h.formatter, EscapingFormatter)]:
        target.removeHandler(old)  # called again (in the same process): replace, not add
    target.addHandler(handler)
    target.setLevel(level)



def sigterm_as_interrupt() -> None:
    """Handle SIGTERM (``kill``, ``timeout``, systemd, ``docker stop``) as Ctrl-C: it raises
    ``KeyboardInterrupt`` in the main thread, so every command stops the way it does on
    SIGINT (recordings flushed and closed, the client closed)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)
