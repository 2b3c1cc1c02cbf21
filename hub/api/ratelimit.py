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


class AuthThrottle:
    """Failed authentication per client address: the ``allowed``-th bad key in ``window`` seconds locks the
    address out for ``first_lock`` seconds, and each failure after a lockout doubles it (5 s, 10 s, 20 s …
    at most ``max_lock``); while locked out the address
    gets 429 with ``Retry-After`` before its key is even looked at. 0 disables.

    A guesser sending 200 keys in 0.2 s gets ``allowed`` answers of 401 and 429 for the rest; a client
    that mistypes its key a few times is not held up. In process, like the per-key limiter.
    """

    def __init__(self, allowed: int = 10, window: float = 600.0, first_lock: float = 5.0,
                 max_lock: float = 900.0) -> None:
        self.allowed, self.window, self.first_lock, self.max_lock = allowed, window, first_lock, max_lock
        self._fails: dict[str, tuple[int, float, float]] = {}  # address -> (failures, first at, locked until)
        self._lock = threading.Lock()

    def locked(self, address: str) -> int | None:
        """Seconds the address must wait, or None when it may try a key."""
        if self.allowed <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            entry = self._fails.get(address)
            if entry is None:
                return None
            count, first, until = entry
            if now - first > self.window and now >= until:
                del self._fails[address]
                return None
            return max(1, math.ceil(until - now)) if until > now else None

    def failed(self, address: str) -> None:
        if self.allowed <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._fails) > 100_000:
                self._fails.clear()
            count, first, until = self._fails.get(address, (0, now, 0.0))
            if now - first > self.window and now >= until:
                count, first = 0, now
            count += 1
            if count >= self.allowed:
                until = now + min(self.max_lock, self.first_lock * 2.0 ** (count - self.allowed))
            self._fails[address] = (count, first, until)
