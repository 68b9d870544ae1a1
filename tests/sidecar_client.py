"""A tiny loopback HTTP client and sidecar builder shared by the sidecar and Prometheus tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.metrics import Metrics
from bot.sidecar.server import Sidecar
from bot.sidecar.status import HealthSource
from bot.state import BotState
from handlers import registry
from handlers.services import Services

TOKEN = "s3cret-sidecar-token"
# An empty ProxyHandler: an HTTP(S)_PROXY in the environment must never see loopback traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def call(url: str, *, token: str | None = None, data: bytes | None = None, method: str | None = None,
         headers: dict[str, str] | None = None) -> Answer:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(req, timeout=15) as resp:
            return Answer(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers), exc.read())


@dataclass
class Running:
    sidecar: Sidecar
    state: BotState
    services: Services
    metrics: Metrics

    @property
    def url(self) -> str:
        return self.sidecar.url

    def query(self, text: str, token: str | None = TOKEN, suffix: str = "") -> Answer:
        return call(f"{self.url}/query{suffix}", token=token, data=json.dumps({"text": text}).encode(),
                    headers={"Content-Type": "application/json"})


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"sidecar_addr": "127.0.0.1:0", "sidecar_token": TOKEN, "aws_max_attempts": 1,
                              "log_aliases": {"worker": "/ecs/worker-prod", "api": "/ecs/api-prod"},
                              # every /query is user "sidecar": keep the per-user bucket out of these tests
                              "rate_user_per_min": 6000.0, "rate_user_burst": 1000.0,
                              "rate_channel_per_min": 6000.0, "rate_channel_burst": 1000.0}
    values.update(overrides)
    return Settings.from_values(values)


@contextmanager
def running_sidecar(*, health: HealthSource | None = None, connected: bool = True,
                    **overrides: Any) -> Iterator[Running]:
    """A sidecar on 127.0.0.1:<free port> over real Services (AWS = whatever AWS_ENDPOINT_URL says)."""
    settings = _settings(**overrides)
    metrics = Metrics("9.9.9", commands=registry.verbs(), aws_operations=registry.aws_operations())
    state = BotState(version="9.9.9")
    state.set_connected(connected)
    services = Services.build(settings, metrics)
    sidecar = Sidecar(settings, services, state, health=health).start()
    try:
        yield Running(sidecar, state, services, metrics)
    finally:
        sidecar.stop()
        services.close()


@contextmanager
def another_sidecar(base: Running, *, health: HealthSource | None = None, **overrides: Any) -> Iterator[Running]:
    """A second sidecar with other settings over ``base``'s Services (building Services takes ~1 s)."""
    sidecar = Sidecar(_settings(**overrides), base.services, base.state, health=health).start()
    try:
        yield Running(sidecar, base.state, base.services, base.metrics)
    finally:
        sidecar.stop()


def sample(metrics_text: str, name: str, labels: dict[str, str]) -> float | None:
    """The value of one sample in Prometheus text output, parsed by prometheus_client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None
