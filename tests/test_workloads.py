"""The services behind the instances, against the session's seeded sandbox: ECS and target health from the
sandbox peer on their real wires, Lambda and RDS from moto. What an on-call engineer needs from each answer:
the failing rollout, the exit code 137, which targets are unhealthy and why; a function's errors and timeout
lines; a database's status and its connection ceiling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.metrics import Metrics
from bot.models import Reply, Request, Source
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.story import DEPLOYER
from handlers import dispatch
from handlers.capabilities.service import describe_ecs_service
from handlers.capability import ToolCall
from handlers.services import Services


@pytest.fixture(scope="module")
def services(incident: SeededIncident) -> Iterator[Services]:
    svc = Services.build(Settings.from_values(aws_max_attempts=2, rate_user_per_min=1000.0, rate_user_burst=1000.0),
                         Metrics())
    yield svc
    svc.close()


def _run(text: str, services: Services) -> tuple[Reply, str]:
    reply, _, outcome = dispatch.handle(Request(text=text, source=Source.COMMAND, user="U-W", channel="C-W"),
                                        services)
    return reply, outcome


def test_service_shows_the_stuck_rollout_the_oom_exits_and_the_unhealthy_targets(services: Services) -> None:
    reply, outcome = _run("service api-prod", services)
    assert outcome == "ok", reply.plain_text()
    by_title = {s.title.split(" (")[0].split(":")[0]: s.text for s in reply.sections}
    assert "running 2/4, pending 2, api-prod:42, rollout IN_PROGRESS" in by_title["Service"]
    assert by_title["Deployments"].startswith("PRIMARY api-prod:42: rollout IN_PROGRESS")
    stopped = by_title["Stopped tasks"].splitlines()
    assert len(stopped) == 5 and all("api exit 137 (OutOfMemoryError" in line for line in stopped)
    targets = next(s for s in reply.sections if s.title.startswith("Targets of api-prod-tg"))
    assert targets.title == "Targets of api-prod-tg: 3 of 4 not healthy"
    assert targets.text.splitlines()[0] == ("10.0.1.23:8080 unhealthy — Target.FailedHealthChecks: "
                                            "Health checks failed with these codes: [502]")
    assert reply.summary == "api-prod: running 2 of 4, 5 task(s) stopped recently, 3 target(s) not healthy."


def test_services_list_puts_the_one_needing_attention_first(services: Services) -> None:
    reply, outcome = _run("service", services)
    assert outcome == "ok"
    lines = reply.sections[0].text.splitlines()
    assert lines[0].startswith("prod/api-prod") and lines[0].endswith("needs attention")
    assert any(line.startswith("prod/worker-prod") and "needs attention" not in line for line in lines)
    assert reply.summary.startswith("1 of 2 ECS services need attention: api-prod")


def test_an_unknown_service_is_a_clear_not_found(services: Services) -> None:
    reply, outcome = _run("service nope-prod", services)
    assert outcome != "ok" and "no ECS service named 'nope-prod'" in reply.plain_text()


def test_lambda_shows_errors_rising_and_the_timeout_lines(services: Services) -> None:
    reply, outcome = _run("lambda checkout 1h", services)
    assert outcome == "ok", reply.plain_text()
    text = reply.plain_text()
    assert "checkout: python3.12, 512 MB, timeout 30s" in text
    errors = next(line for line in text.splitlines() if line.startswith("Errors (sum)"))
    assert "max 9" in errors and "trend rising" in errors
    assert "Task timed out after 30.03 seconds" in text


def test_db_shows_status_and_the_connection_ceiling(services: Services) -> None:
    reply, outcome = _run("db orders-db 1h", services)
    assert outcome == "ok", reply.plain_text()
    text = reply.plain_text()
    assert "orders-db: available, postgres" in text
    connections = next(line for line in text.splitlines() if line.startswith("DatabaseConnections"))
    assert "max 100" in connections and "last 100" in connections
    assert "DB instance created" in text  # RDS's own event list


def test_the_model_tool_gives_the_same_evidence(services: Services) -> None:
    request = Request(text="ask", source=Source.COMMAND, user="U-W", channel="C-W")
    result = describe_ecs_service(ToolCall(services, request, {"service": "api-prod"}))
    assert "api exit 137" in result and "10.0.2.41:8080 unhealthy — Target.Timeout" in result


def test_changes_name_the_deployer_of_api_prod(services: Services) -> None:
    reply, outcome = _run("changes service api-prod 1h", services)
    assert outcome == "ok"
    text = reply.sections[0].text
    assert text.splitlines()[0] == "api-prod (2)"
    assert f"ecs UpdateService by {DEPLOYER}" in text and "oncall-dashboard" not in text  # read-only left out
