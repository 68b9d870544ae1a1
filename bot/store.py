"""Shared-state primitives behind one small interface: dedupe keys, token buckets, counters, texts.

Everything that must hold across replicas goes through a ``Store``. ``MemoryStore`` is the default
for one process; a Redis implementation can replace it without touching callers. Each method is
atomic by itself, so callers never do read-modify-write.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol


class Store(Protocol):
    def first_time(self, key: str, ttl_s: float) -> bool:
        """True if ``key`` was not seen within ``ttl_s`` (and mark it seen)."""

    def take_token(self, key: str, rate_per_s: float, burst: float) -> bool:
        """Token bucket: take one token if available."""

    def incr(self, key: str, amount: int, ttl_s: float) -> int:
        """Add ``amount`` to a counter that expires ``ttl_s`` after creation; return the new value."""

    def get(self, key: str) -> int:
        """Current counter value (0 when absent or expired)."""

    def put_text(self, key: str, value: str, ttl_s: float) -> None:
        """Remember ``value`` under ``key`` for ``ttl_s`` (answers behind buttons, for any replica)."""

    def get_text(self, key: str) -> str | None:
        """The text put under ``key``, or None when absent or expired."""


class MemoryStore:
    """Process-local store; bounded so a flood of unique keys cannot exhaust memory."""

    def __init__(self, max_keys: int = 100_000, max_texts: int = 500) -> None:
        self._lock = threading.Lock()
        self._texts: OrderedDict[str, tuple[str, float]] = OrderedDict()  # key -> (value, expiry)
        self._max_texts = max_texts
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> expiry (monotonic)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last)
        self._counters: dict[str, tuple[int, float]] = {}  # key -> (value, expiry)
        self._max = max_keys

    def first_time(self, key: str, ttl_s: float) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._seen and (len(self._seen) >= self._max or next(iter(self._seen.values())) <= now):
                self._seen.popitem(last=False)
            expiry = self._seen.get(key)
            if expiry is not None and expiry > now:
                return False
            self._seen[key] = now + ttl_s
            self._seen.move_to_end(key)
            return True

    def take_token(self, key: str, rate_per_s: float, burst: float) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate_per_s)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return allowed

    def incr(self, key: str, amount: int, ttl_s: float) -> int:
        now = time.monotonic()
        with self._lock:
            value, expiry = self._counters.get(key, (0, now + ttl_s))
            if expiry <= now:
                value, expiry = 0, now + ttl_s
            value += amount
            self._counters[key] = (value, expiry)
            if len(self._counters) > self._max:
                for k in [k for k, (_, e) in self._counters.items() if e <= now]:
                    del self._counters[k]
            return value

    def get(self, key: str) -> int:
        with self._lock:
            value, expiry = self._counters.get(key, (0, 0.0))
            return value if expiry > time.monotonic() else 0

    def put_text(self, key: str, value: str, ttl_s: float) -> None:
        with self._lock:
            self._texts[key] = (value, time.monotonic() + ttl_s)
            self._texts.move_to_end(key)
            while len(self._texts) > self._max_texts:  # texts are large: a tighter bound than keys
                self._texts.popitem(last=False)

    def get_text(self, key: str) -> str | None:
        with self._lock:
            value, expiry = self._texts.get(key, ("", 0.0))
            return value if expiry > time.monotonic() else None
