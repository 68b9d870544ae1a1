"""What changed and the services behind the 502s, end to end: Bolt over Socket Mode against the Slack
emulator, moto plus the sandbox peer for AWS, the local model server. The seeded story: maria.k deployed
api-prod four minutes before the 502 burst, its tasks exit 137, its targets fail health checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from cloudops_demo.story import DEPLOYER
from tests.harness import running_bot, text_of
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall

MAPPING = {"alarm_log_groups": {"api-prod-": "/ecs/api-prod"}}  # the 5xx alarm's service, as an operator maps it


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="sk-test", model="gpt-test") as server:
        yield server


def test_the_evidence_only_answer_leads_with_the_deployment_and_its_author(incident: SeededIncident) -> None:
    with SlackEmulator() as slack, running_bot(slack, None, **MAPPING) as run:
        _, replies = run.mention("why is checkout returning 502s?", channel="C-chg-nokey")
    text = text_of(replies[0])
    summary = text.split("\n")[1]
    assert summary.startswith("Evidence only (no model): the bot's heuristics point first to: A change 4 min before "
                              f"the first error: ecs UpdateService on api-prod by {DEPLOYER}")
    changes = text.split("*Changes before the firing alarms' breaches")[1].split("```")[1].strip().splitlines()
    assert changes[0].startswith("api-prod-5xx-high: ") and f"ecs UpdateService on api-prod by {DEPLOYER}" in changes[0]
    assert summary.index(DEPLOYER) < summary.index("alarm(s) firing")
    assert "sam.o@example.com" not in text and "deploy-bot" not in text  # unrelated, or before the window
    service = text.split("*ECS service prod/api-prod*")[1]  # the service behind the mapped log group, read at once
    assert "api exit 137" in service and "Target.FailedHealthChecks" in service
    assert "oncall-dashboard" not in text  # read-only


def test_ask_calls_the_change_and_service_tools_and_answers_from_them(incident: SeededIncident,
                                                                      llm: FakeLLMServer) -> None:
    llm.script(Scripted(tool_calls=(ToolCall("recent_changes", {"resource": "api-prod", "window": "1h"}),
                                    ToolCall("describe_ecs_service", {"service": "api-prod"}))),
               Scripted(content=f"api-prod:42, deployed by {DEPLOYER} 4 minutes before the 502s, is being "
                                "OOM-killed (exit 137) and its targets fail health checks: roll back to api-prod:41."))
    with SlackEmulator() as slack, running_bot(slack, llm, **MAPPING) as run:
        _, replies = run.mention("what changed before the 502s?", channel="C-chg-model")
    answer = text_of(replies[0])
    assert "roll back to api-prod:41" in answer
    first_prompt = llm.received()[0]["messages"][1]["content"]  # the triage bundle, before any tool call
    in_prompt = first_prompt.split("### Changes before the firing alarms' breaches")[1].split("###")[0]
    assert f"ecs UpdateService on api-prod by {DEPLOYER}" in in_prompt.splitlines()[1]
    assert "sam.o@example.com" not in first_prompt and "deploy-bot" not in first_prompt
    tools = {m["tool_call_id"]: str(m["content"]) for m in llm.received()[1]["messages"] if m["role"] == "tool"}
    changes, service = tools.values()
    assert changes.startswith("api-prod (2)") and f"ecs UpdateService by {DEPLOYER}" in changes
    assert "api exit 137" in service and "Target.FailedHealthChecks" in service
    offered = {t["function"]["name"] for t in llm.received()[0]["tools"]}
    assert {"recent_changes", "describe_ecs_service", "list_ecs_services", "describe_lambda", "describe_db"} <= offered
