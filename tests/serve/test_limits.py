"""The per-client token bucket and the bounds of Limits, on a fake clock."""

from __future__ import annotations

import pytest

from minicoil.serve.limits import Limits, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_requests_refill_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.allow("a") == pytest.approx(0.5)  # one token takes 1/rate seconds
    assert limiter.allow("b") == 0.0  # clients have their own buckets
    clock.now += 0.5
    assert limiter.allow("a") == 0.0
    assert limiter.allow("a") > 0
    clock.now += 60  # a long pause refills to the burst, not beyond
    assert [limiter.allow("a") for _ in range(4)][-1] > 0


def test_rate_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.allow("a") == 0.0 for _ in range(100))


@pytest.mark.parametrize(
    "bad", [{"max_k": 0}, {"max_query_chars": 0}, {"max_samples": 1}, {"rate": -1}, {"burst": 0}]
)
def test_limits_refuse_meaningless_bounds(bad: dict) -> None:
    with pytest.raises(ValueError):
        Limits(**bad)
