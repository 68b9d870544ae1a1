"""Observability against the real tools: promtool on live /metrics and on the alert rules, and a real
Prometheus server (Debian's package) scraping a running sidecar on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import yaml

from cloudops_demo.sandbox import SeededIncident
from tests.sidecar_client import Running, call, running_sidecar, sample

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
_MISSING = "not installed (Debian package `prometheus`; `make system-deps` installs it)"
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason=f"promtool {_MISSING}")
DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
ALERTS = ("CloudOpsBotDown", "SlackDisconnected", "HighErrorRatio", "ModelLatencyHigh", "ModelCostHigh",
          "AckLatencyHigh")
HELP_OK = {"kind": "query", "command": "help", "outcome": "ok"}


@pytest.fixture(scope="module")
def side(incident: SeededIncident) -> Iterator[Running]:
    with running_sidecar() as running:
        yield running


def _promtool(*args: str, stdin: bytes | None = None, cwd: Path = DEPLOY) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], input=stdin.decode() if stdin else None, capture_output=True,
                          text=True, cwd=cwd, timeout=60, check=False)


@needs_promtool
def test_promtool_accepts_the_live_metrics(side: Running) -> None:
    side.query("help")
    side.query("status web-1")  # AWS call counters and histograms with real observations
    scraped = call(f"{side.url}/metrics")
    assert scraped.status == 200
    result = _promtool("check", "metrics", stdin=scraped.body)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_scrape_config_and_alert_rules_are_valid() -> None:
    result = _promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


@needs_promtool
def test_alert_unit_tests_pass() -> None:
    result = _promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    defined = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert sorted(defined) == sorted(ALERTS)
    cases = [c for t in yaml.safe_load((DEPLOY / "alerts_test.yml").read_text())["tests"]
             for c in t["alert_rule_test"]]
    for alert in ALERTS:
        outcomes = {bool(c["exp_alerts"]) for c in cases if c["alertname"] == alert}
        assert outcomes == {True, False}, f"{alert} needs a case where it fires and one where it does not"


# One threshold or duration per alert, changed: the unit tests must notice every one.
@needs_promtool
@pytest.mark.parametrize(("alert", "original", "mutated"), [
    ("CloudOpsBotDown", 'up{job="cloudops-bot"} == 0\n        for: 2m', 'up{job="cloudops-bot"} == 0\n        for: 5m'),
    ("SlackDisconnected", "cloudops_slack_connected == 0", "cloudops_slack_connected == 1"),
    ("HighErrorRatio", ") > 0.25", ") > 0.5"),
    ("ModelLatencyHigh", ") > 15", ") > 30"),
    ("ModelCostHigh", "> 20", "> 40"),
    ("AckLatencyHigh", ") > 1\n", ") > 3\n"),
])
def test_alert_unit_tests_catch_a_changed_rule(tmp_path: Path, alert: str, original: str, mutated: str) -> None:
    rules = (DEPLOY / "alerts.yml").read_text()
    assert rules.count(original) == 1, f"{alert}: the mutation no longer matches alerts.yml"
    (tmp_path / "alerts.yml").write_text(rules.replace(original, mutated))
    suite = yaml.safe_load((DEPLOY / "alerts_test.yml").read_text())
    suite["tests"] = [t for t in suite["tests"] if any(c["alertname"] == alert for c in t["alert_rule_test"])]
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(suite))  # only this alert's cases: faster
    result = _promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"{alert}: the unit tests still pass with {mutated!r}"


# --- a real Prometheus server ---------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus(side: Running, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The deploy scrape config pointed at the test's sidecar, scraping every second, with temp storage."""
    if PROMETHEUS is None:
        pytest.skip(f"prometheus server {_MISSING}")
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "cloudops-bot")
    job["static_configs"][0]["targets"] = [urlsplit(side.url).netloc]
    job["scrape_timeout"] = "1s"
    shutil.copy(DEPLOY / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    log_path = tmp_path / "prometheus.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            yield f"http://127.0.0.1:{port}", log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for(check: Callable[[], Any], timeout_s: float = 45.0) -> Any:
    """Poll until ``check`` returns something truthy (scrapes happen every second); None on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = check()
        except (OSError, ValueError, KeyError):
            value = None
        if value:
            return value
        time.sleep(0.25)
    return None


def _instant(base: str, promql: str) -> float | None:
    answer = call(f"{base}/api/v1/query?query={quote(promql)}")
    result = answer.json()["data"]["result"] if answer.status == 200 else []
    return float(result[0]["value"][1]) if len(result) == 1 else None


def test_a_real_prometheus_scrapes_the_sidecar_and_loads_the_alerts(
        side: Running, prometheus: tuple[str, Path]) -> None:
    base, log_path = prometheus
    assert _wait_for(lambda: _instant(base, 'up{job="cloudops-bot"}') == 1), (
        f"the target never came up; prometheus said:\n{log_path.read_text()[-3000:]}")
    before = sample(call(f"{side.url}/metrics").text, "cloudops_requests_total", HELP_OK)
    assert before is not None
    for _ in range(3):
        assert side.query("help").status == 200
    series = 'cloudops_requests_total{job="cloudops-bot",kind="query",command="help",outcome="ok"}'
    assert _wait_for(lambda: _instant(base, series) == before + 3), (
        f"Prometheus shows {_instant(base, series)} for {series}, expected {before + 3}")

    def evaluated_rules() -> dict[str, str] | None:
        groups = call(f"{base}/api/v1/rules").json()["data"]["groups"]
        health = {r["name"]: r["health"] for g in groups for r in g["rules"]}
        return health if health and "unknown" not in health.values() else None

    health = _wait_for(evaluated_rules)
    assert health == dict.fromkeys(ALERTS, "ok"), f"rule health against real bot metrics: {health}"
