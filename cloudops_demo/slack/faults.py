"""Injected Web API failures: rate limits (HTTP 429 + Retry-After) and ``ok:false`` errors.

Seeded so that a probabilistic rate limit fails the same calls on every run, which keeps
tests that use it reproducible.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from .webapi import Reply


@dataclass
class _RateRule:
    every: int
    probability: float
    times: int
    retry_after: int
    seen: int = 0


@dataclass
class _FailRule:
    error: str
    times: int


class Faults:
    """Per-method fault plan consulted before each Web API call is handled."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._rate: dict[str, _RateRule] = {}
        self._fail: dict[str, list[_FailRule]] = {}
        self._accept_then_fail: dict[str, int] = {}

    def rate_limit(self, method: str, *, every: int, probability: float, retry_after: int, times: int) -> None:
        """Throttle ``method``: every N-th call, with a probability, and/or the next ``times`` calls.

        With none of the three given, only the next call is throttled, which is what a
        "retry once" test wants.
        """
        if every <= 0 and probability <= 0 and times <= 0:
            times = 1
        with self._lock:
            self._rate[method] = _RateRule(every, probability, times, retry_after)

    def fail(self, method: str, error: str, *, times: int) -> None:
        with self._lock:
            self._fail.setdefault(method, []).append(_FailRule(error, times))

    def accept_then_fail(self, method: str, *, times: int) -> None:
        """The next ``times`` calls take effect but answer HTTP 500, as when Slack times out internally."""
        with self._lock:
            self._accept_then_fail[method] = times

    def after(self, method: str, reply: Reply) -> Reply:
        """The answer to send for a call that was handled: ``reply``, or a 500 in its place."""
        with self._lock:
            left = self._accept_then_fail.get(method, 0)
            if left <= 0 or reply.status != 200 or not reply.body.get("ok"):
                return reply
            self._accept_then_fail[method] = left - 1
        return Reply({"ok": False, "error": "internal_error"}, status=500)

    def clear(self, method: str | None = None) -> None:
        with self._lock:
            if method is None:
                self._rate.clear()
                self._fail.clear()
                self._accept_then_fail.clear()
            else:
                self._rate.pop(method, None)
                self._fail.pop(method, None)
                self._accept_then_fail.pop(method, None)

    def check(self, method: str) -> Reply | None:
        """The injected answer for this call, or None to let the real handler run."""
        with self._lock:
            rule = self._rate.get(method)
            if rule is not None:
                rule.seen += 1
                limited = False
                if rule.times > 0:
                    rule.times -= 1
                    limited = True
                if rule.every > 0 and rule.seen % rule.every == 0:
                    limited = True
                if rule.probability > 0 and self._rng.random() < rule.probability:
                    limited = True
                if limited:
                    return Reply(
                        {"ok": False, "error": "ratelimited"},
                        status=429,
                        headers={"Retry-After": str(int(rule.retry_after))},
                    )
            fails = self._fail.get(method)
            if fails:
                first = fails[0]
                first.times -= 1
                if first.times <= 0:
                    fails.pop(0)
                return Reply({"ok": False, "error": first.error})
        return None
