"""Daily model-token budgets, per user and in total (UTC days). When a budget is spent the bot still
answers, from evidence, and says why; the counters live in the shared store."""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.metrics import Metrics
from bot.store import Store

DAY_S = 86400 + 3600  # counters outlive their day a little so a late charge still lands


class TokenBudget:
    def __init__(self, store: Store, settings: Settings, metrics: Metrics) -> None:
        self._store = store
        self._settings = settings
        self._metrics = metrics

    def _keys(self, user: str, now: datetime) -> tuple[str, str]:
        day = now.strftime("%Y%m%d")
        return f"budget:{day}:user:{user}", f"budget:{day}:total"

    def spent_reason(self, user: str, now: datetime) -> str | None:
        """None while the user may use the model; otherwise the sentence the reply shows."""
        user_key, total_key = self._keys(user, now)
        if self._store.get(total_key) >= self._settings.budget_total_tokens:
            self._metrics.rate_limited.labels("budget").inc()
            return (f"Today's model budget for everyone ({self._settings.budget_total_tokens:,} tokens) is spent, "
                    "so this answer is built from the AWS evidence alone. It resets at 00:00 UTC.")
        if self._store.get(user_key) >= self._settings.budget_user_tokens:
            self._metrics.rate_limited.labels("budget").inc()
            return (f"Your model budget for today ({self._settings.budget_user_tokens:,} tokens) is spent, so this "
                    "answer is built from the AWS evidence alone. It resets at 00:00 UTC.")
        return None

    def charge(self, user: str, tokens: int, now: datetime) -> None:
        user_key, total_key = self._keys(user, now)
        self._store.incr(user_key, tokens, DAY_S)
        self._store.incr(total_key, tokens, DAY_S)
