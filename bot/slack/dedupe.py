"""Drop redelivered events: Slack retries un-acked events with the same ``event_id`` (and maybe a new
envelope id), so ``event_id`` is the key. In-memory with a TTL; a shared store comes with replicas."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class Deduper:
    def __init__(self, ttl_s: float = 3600.0, max_keys: int = 50_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._ttl = ttl_s
        self._max = max_keys
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within the TTL (atomic check-and-set)."""
        now = time.monotonic()
        with self._lock:
            while self._seen and (len(self._seen) > self._max or next(iter(self._seen.values())) < now - self._ttl):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True
