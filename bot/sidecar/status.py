"""What GET /status reports, and the AWS health view behind it that never makes a probe wait on AWS.

Orchestrators call /status every few seconds and give up after a second or two; an sts call that
hangs on a black-holed endpoint (connect timeout x retries) must not turn into a failed probe and a
restarted pod. So the sts check runs on its own daemon thread: /status waits for it briefly when
the cached value is stale and otherwise reports the last known value (``reachable: null`` before
the first answer).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from bot.aws.health import AwsHealth
from bot.config import Settings
from bot.state import BotState
from handlers.services import Services

log = structlog.get_logger("cloudops.sidecar")

_UNKNOWN = AwsHealth(None, "", None, None, "")


class HealthSource(Protocol):
    """``bot.aws.health.AwsHealthProbe`` or a test double."""

    def get(self) -> AwsHealth: ...


class AwsHealthView:
    """The last known AWS health, refreshed in the background at most once per ``ttl_s``."""

    def __init__(self, source: HealthSource, ttl_s: float, wait_s: float = 0.5) -> None:
        self._source = source
        self._ttl = ttl_s
        self._wait = wait_s
        self._lock = threading.Lock()
        self._last = _UNKNOWN
        self._fresh_until = 0.0
        self._worker: threading.Thread | None = None

    def current(self) -> AwsHealth:
        """Fresh cache → at once; stale → start (or join) one refresh and wait at most ``wait_s``."""
        with self._lock:
            if time.monotonic() < self._fresh_until:
                return self._last
            worker = self._worker
            if worker is None or not worker.is_alive():
                worker = threading.Thread(target=self._refresh, name="sidecar-aws-probe", daemon=True)
                self._worker = worker
                worker.start()
        worker.join(self._wait)
        with self._lock:
            return self._last

    def _refresh(self) -> None:
        try:
            health = self._source.get()
        except Exception as exc:  # a bug in the probe must not take /status down with it
            log.exception("aws_probe_failed")
            with self._lock:
                previous = self._last
            health = AwsHealth(False, previous.account, previous.last_success, time.time(),
                               f"health probe failed: {type(exc).__name__}")
        with self._lock:
            self._last = health
            self._fresh_until = time.monotonic() + self._ttl

    def close(self, timeout_s: float = 1.0) -> None:
        """Give a probe in progress a moment to finish; it is a daemon thread, so it cannot block exit."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout_s)


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def status_document(settings: Settings, services: Services, state: BotState,
                    aws: AwsHealth) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body). 503 only when the bot cannot serve users: Slack down past the grace period.

    AWS or model trouble is "degraded" with 200: the bot still answers (with evidence or a clear
    error), and restarting the pod would not fix an AWS outage.
    """
    down_for = state.down_for()
    llm = services.llm
    model_error = services.scrub(llm.last_error) if llm is not None and llm.last_error else ""
    if not state.slack_connected and down_for > settings.slack_grace_s:
        overall = "down"
    elif aws.reachable is False or model_error:
        overall = "degraded"
    else:
        overall = "ok"
    body: dict[str, Any] = {
        "status": overall,
        "version": state.version,
        "uptime_s": round(max(0.0, time.time() - state.started), 1),
        "slack": {
            "connected": state.slack_connected,
            "down_for_s": round(down_for, 1),
            "last_envelope_at": _iso(state.last_envelope),
        },
        "aws": {
            "reachable": aws.reachable,
            "account": aws.account,
            "last_success": _iso(aws.last_success),
            "last_failure": _iso(aws.last_failure),
            "last_error": services.scrub(aws.last_error) if aws.last_error else "",
            "region": services.aws.region,
        },
        "model": {
            "configured": llm is not None,
            "model": llm.model if llm is not None else settings.llm_model,
            "last_error": model_error,
        },
        "requests_in_flight": state.in_flight,
        "draining": state.draining,
    }
    return (503 if overall == "down" else 200), body
