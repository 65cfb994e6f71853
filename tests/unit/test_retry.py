"""The Backoff policy object: exact growth, cap, jitter bounds, give-up."""

from __future__ import annotations

import random

import pytest

from rxpusher import Backoff


def test_default_backoff_is_1s_to_30s_doubling_with_jitter() -> None:
    b = Backoff()
    assert (b.initial, b.maximum, b.multiplier, b.jitter, b.max_attempts) == (1.0, 30.0, 2.0, True, None)


def test_delay_without_jitter_doubles_from_initial() -> None:
    b = Backoff(jitter=False)
    assert [b.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_delay_without_jitter_is_capped_at_maximum() -> None:
    b = Backoff(jitter=False)
    assert [b.delay(n) for n in range(5, 9)] == [30.0, 30.0, 30.0, 30.0]


def test_huge_failure_counts_do_not_overflow() -> None:
    assert Backoff(jitter=False).delay(10_000) == 30.0


def test_custom_initial_multiplier_and_maximum() -> None:
    b = Backoff(initial=0.5, multiplier=3.0, maximum=10.0, jitter=False)
    assert [b.delay(n) for n in range(4)] == [0.5, 1.5, 4.5, 10.0]


@pytest.mark.parametrize("failures", range(8))
def test_jitter_stays_within_the_upper_half_of_the_capped_delay(failures: int) -> None:
    b = Backoff(jitter=True, rng=random.Random(failures))
    capped = Backoff(jitter=False).delay(failures)
    for _ in range(200):
        delay = b.delay(failures)
        assert capped / 2 <= delay <= capped


def test_jitter_actually_varies_the_delay() -> None:
    b = Backoff(jitter=True, rng=random.Random(1))
    assert len({b.delay(3) for _ in range(20)}) > 1


def test_never_gives_up_by_default() -> None:
    assert not Backoff().gives_up(10**6)


def test_gives_up_after_max_attempts() -> None:
    b = Backoff(max_attempts=3)
    assert [b.gives_up(n) for n in range(5)] == [False, False, False, True, True]


@pytest.mark.parametrize(
    "kwargs", [{"initial": -1}, {"maximum": -1}, {"multiplier": 0.5}, {"max_attempts": -1}]
)
def test_invalid_backoff_values_raise_value_error(kwargs) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


@pytest.mark.parametrize("field", ["initial", "maximum"])
@pytest.mark.parametrize("value", [0, 0.0, -1.0])
def test_a_zero_or_negative_delay_is_rejected(field: str, value: float) -> None:
    """Backoff(initial=0) reconnected in a tight loop (2,000 attempts a second)."""
    with pytest.raises(ValueError, match="must be > 0"):
        Backoff(**{field: value})
