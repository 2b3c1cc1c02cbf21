"""Per-key token buckets, in process (one uvicorn worker serves the API)."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """``per_minute`` requests a minute per key, bursting up to the same number; 0 disables."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: int) -> int | None:
        """None when allowed; otherwise the seconds to wait (for ``Retry-After``)."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return None
            self._buckets[key_id] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
