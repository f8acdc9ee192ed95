"""Caps on what one request may ask for, and a per-client request rate limit.

A search service on a laptop shares its few CPU cores between every caller: one client that
asks for 10,000 hits, sends a 1 MB query or fires requests in a loop would starve everyone
else, so each of those is refused early with a 4xx instead of being queued.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["Limits", "RateLimiter"]


@dataclass(frozen=True)
class Limits:
    """What one request may ask for (``max_k`` hits, ``max_query_chars`` of query text) and
    how fast one client may ask (``rate`` requests per second on average, bursts of
    ``burst``; ``rate=0`` turns the rate limit off)."""

    max_k: int = 100
    max_query_chars: int = 512
    max_samples: int = 200
    rate: float = 20.0
    burst: int = 60

    def __post_init__(self) -> None:
        if self.max_k < 1 or self.max_query_chars < 1 or self.max_samples < 2:
            raise ValueError("max_k and max_query_chars must be >= 1, max_samples >= 2")
        if self.rate < 0 or self.burst < 1:
            raise ValueError("rate must be >= 0 and burst >= 1")


class RateLimiter:
    """A token bucket per client key: ``burst`` tokens, refilled at ``rate`` per second.

    Thread-safe (requests arrive on several worker threads). Buckets of clients idle long
    enough to be full again are dropped, so the table cannot grow without bound.
    """

    def __init__(self, rate: float, burst: int, *, clock=time.monotonic) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0.0 when the request may go ahead (one token is spent), else the seconds to wait
        before the next one would be allowed."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            if len(self._buckets) > 10_000:
                self._forget_idle(now)
        return wait

    def _forget_idle(self, now: float) -> None:
        refill = self.burst / self.rate
        self._buckets = {
            k: (t, last) for k, (t, last) in self._buckets.items() if now - last < refill
        }
