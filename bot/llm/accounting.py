"""What every model provider records per call, in one place: the request's call log, request and
latency metrics, tokens and the estimated cost from the configured price table."""

from __future__ import annotations

from bot import calllog
from bot.config import Settings
from bot.metrics import Metrics


class ModelAccounting:
    def __init__(self, model: str, settings: Settings, metrics: Metrics | None) -> None:
        self._model = model
        self._settings = settings
        self._metrics = metrics
        if metrics is not None:
            metrics.init_model(model)

    def call(self, outcome: str, seconds: float) -> None:
        log = calllog.current()
        if log is not None:
            log.model(seconds)
        if self._metrics is not None:
            self._metrics.model_requests.labels(self._model, outcome).inc()
            self._metrics.model_seconds.labels(self._model).observe(seconds)

    def usage(self, prompt: int, completion: int) -> None:
        if self._metrics is None:
            return
        self._metrics.model_tokens.labels(self._model, "prompt").inc(prompt)
        self._metrics.model_tokens.labels(self._model, "completion").inc(completion)
        p, c = self._settings.price_per_token(self._model)
        self._metrics.model_cost.labels(self._model).inc(prompt * p + completion * c)
