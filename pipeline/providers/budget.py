"""A requests- and tokens-per-minute budget shared by a provider's concurrent calls.

Both vendors describe their rate limits as buckets that refill continuously up to the per-minute
limit; staying inside them means a run gets few 429s in the first place (the SDKs retry the ones
that still come, after the ``retry-after`` the API names).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateBudget:
    """``acquire(tokens)`` blocks until one more request and ``tokens`` more tokens fit in the
    per-minute budgets (0 = that budget is not limited); returns the seconds it waited."""

    def __init__(self, requests_per_minute: int = 0, tokens_per_minute: int = 0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limits = {"requests": float(requests_per_minute), "tokens": float(tokens_per_minute)}
        self._level = dict(self.limits)  # a full bucket: the first minute's worth at once
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    @property
    def limited(self) -> bool:
        return any(v > 0 for v in self.limits.values())

    def acquire(self, tokens: int = 0) -> float:
        if not self.limited:
            return 0.0
        # A request larger than the whole bucket waits for a full bucket, not forever.
        need = {"requests": 1.0, "tokens": min(float(tokens), self.limits["tokens"])}
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                for name, limit in self.limits.items():
                    if limit > 0:
                        rate = limit / 60.0
                        self._level[name] = min(limit, self._level[name] + (now - self._last) * rate)
                self._last = now
                short = max(
                    ((need[n] - self._level[n]) / (lim / 60.0)
                     for n, lim in self.limits.items() if lim > 0),
                    default=0.0,
                )
                if short <= 0:
                    for name, limit in self.limits.items():
                        if limit > 0:
                            self._level[name] -= need[name]
                    return waited
            self._sleep(short)
            waited += short
