"""Running the ``rxpusher`` command line in tests: the command, and its output line by line
as it comes (``lines_of``), waited for with a deadline (``wait_line``)."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from typing import IO

__all__ = ["CLI", "lines_of", "wait_line"]

CLI = [sys.executable, "-m", "rxpusher"]


def lines_of(stream: IO[str]) -> "queue.Queue[str | None]":
    """The lines of ``stream`` as they come, then ``None`` at its end."""
    q: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        try:
            for line in stream:
                q.put(line.rstrip("\n"))
        except (ValueError, OSError):  # the test closed the stream while this thread read it
            pass
        finally:
            q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def wait_line(q: "queue.Queue[str | None]", predicate: Callable[[str], bool],
              timeout: float = 15.0) -> str:
    seen = []
    while True:
        try:
            line = q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no matching line within {timeout}s; saw {seen}") from None
        if line is None:
            raise AssertionError(f"the stream ended without a matching line; saw {seen}")
        seen.append(line)
        if predicate(line):
            return line
