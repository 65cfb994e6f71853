"""Reconnect policy as a value object: capped exponential backoff with jitter."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """How long to wait before reconnect attempt number ``failures``.

    The delay grows as ``initial * multiplier ** failures`` up to ``maximum``. With
    ``jitter`` the delay is drawn uniformly from the upper half of that value, so a
    fleet of clients does not reconnect in lockstep. ``max_attempts`` None (the
    default) never gives up. Times are seconds; ``initial`` and ``maximum`` must be > 0.
    """

    initial: float = 1.0
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: bool = True
    max_attempts: int | None = None
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("initial", "maximum", "multiplier"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"Backoff {name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"Backoff {name} must be finite, got {value!r}")
        if self.initial <= 0 or self.maximum <= 0:
            raise ValueError(
                f"Backoff initial and maximum must be > 0 seconds, got initial={self.initial!r}, "
                f"maximum={self.maximum!r} (a zero delay would reconnect in a tight loop)")
        if self.multiplier < 1:
            raise ValueError("Backoff multiplier must be >= 1")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise ValueError("Backoff max_attempts must be >= 0 or None")

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failed attempts (0 = first retry)."""
        exponent = min(failures, 64)
        capped = min(self.maximum, self.initial * self.multiplier**exponent)
        if not self.jitter:
            return capped
        return self.rng.uniform(capped / 2, capped)

    def gives_up(self, failures: int) -> bool:
        """True when ``failures`` consecutive failures exhaust ``max_attempts``."""
        return self.max_attempts is not None and failures >= self.max_attempts
