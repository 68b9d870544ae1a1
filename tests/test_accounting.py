"""Every request is accounted once, in handlers.dispatch, whichever door it came in by: one audit event
and one count in cloudops_requests_total (and one duration) for Slack, the sidecar (/query and /logs)
and the CLI, answered or refused. The sidecar's /logs passes the same admission as a command."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from structlog.testing import capture_logs

from bot.config import Settings
from bot.metrics import Metrics
from bot.models import Request, Source
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from handlers import dispatch, registry
from handlers.services import Services
from prompts import PromptLibrary
from tests.harness import Running, running_bot
from tests.peers.llm_server import FakeLLMServer, Scripted
from tests.sidecar_client import TOKEN, call, running_sidecar

Logs = list[dict[str, Any]]


def _eventually(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """The audit event is written after the answer is delivered, so a reader may see the answer first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _audit(logs: Logs, **match: Any) -> Logs:
    return [e for e in logs if e.get("event") == "request" and all(e.get(k) == v for k, v in match.items())]


def _count(metrics: Metrics, kind: str, command: str, outcome: str) -> float:
    labels = {"kind": kind, "command": command, "outcome": outcome}
    return metrics.registry.get_sample_value("cloudops_requests_total", labels) or 0.0


def _timed(metrics: Metrics, kind: str, command: str) -> float:
    labels = {"kind": kind, "command": command}
    return metrics.registry.get_sample_value("cloudops_request_duration_seconds_count", labels) or 0.0


@pytest.fixture(scope="module")
def slack_bot(incident: SeededIncident) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, None, access_read_users=("U-acct",)) as running:
        yield running


def test_a_slack_command_is_counted_timed_and_audited_once(slack_bot: Running) -> None:
    metrics = slack_bot.bot.metrics
    counted, timed = _count(metrics, "command", "alarms", "ok"), _timed(metrics, "command", "alarms")
    with capture_logs() as logs:
        slack_bot.command("alarms", channel="C-acct", user="U-acct")
        assert _eventually(lambda: bool(_audit(logs, user="U-acct", command="alarms")))
        slack_bot.command("help", channel="C-acct", user="U-acct")  # the next request, after the first is done
        assert _eventually(lambda: bool(_audit(logs, user="U-acct", command="help")))
    [line] = _audit(logs, user="U-acct", command="alarms")
    assert line["source"] == "command" and line["outcome"] == "ok"
    assert "cloudwatch:DescribeAlarms" in line["aws_operations"]
    assert _count(metrics, "command", "alarms", "ok") == counted + 1
    assert _timed(metrics, "command", "alarms") == timed + 1


def test_a_slack_request_refused_at_admission_is_counted_and_audited_once(slack_bot: Running) -> None:
    metrics = slack_bot.bot.metrics
    before = _count(metrics, "command", "unknown", "denied")
    with capture_logs() as logs:
        slack_bot.slack.send_slash_command("status", user="U-stranger", channel="C-acct-denied")
        assert _eventually(lambda: bool(_audit(logs, user="U-stranger")))
        slack_bot.command("help", channel="C-acct-denied", user="U-acct")
        assert _eventually(lambda: bool(_audit(logs, user="U-acct", channel="C-acct-denied")))
    [line] = _audit(logs, user="U-stranger")
    assert line["outcome"] == "denied" and line["aws_operations"] == [] and "not on the list" in line["reason"]
    assert _count(metrics, "command", "unknown", "denied") == before + 1
    # nothing was posted for U-stranger: the only parent in the channel is U-acct's
    assert [m["text"][:9] for m in slack_bot.slack.channel_messages("C-acct-denied")] == ["<@U-acct>"]


def test_sidecar_query_and_logs_are_counted_and_audited_once(incident: SeededIncident) -> None:
    with running_sidecar() as side, capture_logs() as logs:
        metrics = side.metrics
        assert side.query("alarms").status == 200
        logs_answer = call(f"{side.url}/logs?group=api&filter=502&since=30m", token=TOKEN)
        assert logs_answer.status == 200 and logs_answer.json()["count"] > 0
        assert _eventually(lambda: len(_audit(logs, source="query")) >= 2)
    [query] = _audit(logs, source="query", command="alarms")
    [logs_line] = _audit(logs, source="query", command="logs")
    assert query["user"] == logs_line["user"] == "sidecar" and query["outcome"] == logs_line["outcome"] == "ok"
    assert logs_line["aws_operations"] == ["logs:FilterLogEvents"]
    assert "/ecs/api-prod" in logs_line["text"] and "502" in logs_line["text"]
    assert _count(metrics, "query", "alarms", "ok") == 1 and _timed(metrics, "query", "alarms") == 1
    assert _count(metrics, "query", "logs", "ok") == 1 and _timed(metrics, "query", "logs") == 1


def test_sidecar_logs_obeys_the_access_lists_and_says_so_in_the_audit(incident: SeededIncident) -> None:
    with running_sidecar(access_read_channels=("C-ops",)) as side, capture_logs() as logs:
        refused = call(f"{side.url}/logs?group=api", token=TOKEN)
        assert _eventually(lambda: bool(_audit(logs, command="logs")))
        counted = _count(side.metrics, "query", "logs", "denied")
    assert refused.status == 403 and "not enabled in this channel" in refused.json()["error"]
    assert "events" not in refused.json()
    [line] = _audit(logs, command="logs")
    assert line["outcome"] == "denied" and line["aws_operations"] == []  # refused before any AWS call
    assert counted == 1


def test_sidecar_logs_is_rate_limited_like_any_request(incident: SeededIncident) -> None:
    with running_sidecar(rate_user_per_min=1.0, rate_user_burst=1.0) as side:
        first = call(f"{side.url}/logs?group=worker", token=TOKEN)
        second = call(f"{side.url}/logs?group=worker", token=TOKEN)
        counted = _count(side.metrics, "query", "logs", "rate_limited")
    assert first.status == 200
    assert second.status == 429 and "requests a minute" in second.json()["error"] and second.json()["hint"]
    assert counted == 1


def test_a_cli_request_is_counted_and_audited_once(incident: SeededIncident) -> None:
    metrics = Metrics(commands=registry.verbs())
    services = Services.build(Settings.from_values(), metrics)
    try:
        with capture_logs() as logs:
            reply, command, outcome = dispatch.handle(Request(text="status", source=Source.CLI), services)
    finally:
        services.close()
    assert reply.ok and (command, outcome) == ("status", "ok")
    [line] = _audit(logs)
    assert line["source"] == "cli" and line["command"] == "status"
    assert _count(metrics, "cli", "status", "ok") == 1 and _timed(metrics, "cli", "status") == 1


def test_the_audit_event_names_the_prompt_versions_sent_to_the_model(incident: SeededIncident) -> None:
    library = PromptLibrary()
    with FakeLLMServer(api_key="sk-test", model="gpt-test") as llm:
        llm.script(Scripted(content="Two alarms fire."))
        services = Services.build(Settings.from_values(openai_api_key="sk-test", openai_base_url=llm.base_url,
                                                       llm_model="gpt-test", llm_max_retries=0), Metrics())
        try:
            with capture_logs() as logs:
                reply, _, _ = dispatch.handle(Request(text="alarms", source=Source.CLI), services)
        finally:
            services.close()
    assert "Two alarms fire." in reply.summary
    [line] = _audit(logs)
    assert line["prompts"] == [library.get("system").ref, library.get("alarms").ref]
    assert line["model"] == "gpt-test" and line["prompt_tokens"] > 0


def test_sidecar_logs_refused_by_aws_is_a_502_naming_the_permission(incident: SeededIncident) -> None:
    """The caller may call; AWS refused the bot's own identity: a bad gateway for the operator to fix in
    IAM, not a 403 telling the caller they are not allowed."""
    with running_sidecar() as side, capture_logs() as logs:
        with Stubber(side.services.aws.client("logs")) as stub:
            stub.add_client_error("filter_log_events", service_error_code="AccessDeniedException",
                                  http_status_code=400)
            refused = call(f"{side.url}/logs?group=api", token=TOKEN)
        assert _eventually(lambda: bool(_audit(logs, command="logs")))
    assert refused.status == 502
    assert "logs:FilterLogEvents" in refused.json()["error"] + refused.json()["hint"]
    assert "iam-policy.json" in refused.json()["hint"]
    assert _audit(logs, command="logs")[0]["outcome"] == "aws_denied"
