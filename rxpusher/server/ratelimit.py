"""A token bucket limiting how many client events one connection may send."""

from __future__ import annotations

from collections.abc import Callable


class TokenBucket:
    """Allows ``rate`` actions per second, with bursts of up to ``rate`` actions."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._clock = clock
        self._tokens = rate
        self._last = clock()

    def take(self) -> bool:
        """Consume one token; False when none is left."""
        now = self._clock()
        self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
