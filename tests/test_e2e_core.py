"""The core loop end to end: real Bolt + Socket Mode against the Slack emulator, moto for AWS, the
local model server for the model. Each scenario asserts what a user would see in Slack."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from handlers.summarize import NO_MODEL_NOTE
from tests.harness import Running, running_bot, text_of
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="sk-test", model="gpt-test") as server:
        yield server


@pytest.fixture(scope="module")
def with_model(incident: SeededIncident, llm: FakeLLMServer) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, llm) as running:
        yield running


@pytest.fixture(scope="module")
def no_model(incident: SeededIncident) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, None) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_model(llm: FakeLLMServer) -> None:
    llm.reset()


def test_status_of_one_instance_is_answered_in_the_commands_thread(
        with_model: Running, incident: SeededIncident, llm: FakeLLMServer) -> None:
    llm.script(Scripted(content="web-1 is healthy: running, both status checks pass."))
    parent, replies = with_model.command("status web-1", channel="C-status", user="U42")
    assert "<@U42> asked" in parent["text"] and "/cloudops status web-1" in parent["text"]
    assert all(r["thread_ts"] == parent["ts"] for r in replies)
    answer = text_of(replies[0])
    assert incident.instances["web-1"] in answer
    assert "running" in answer
    assert "web-1 is healthy" in answer  # the model's summary is shown
    acks = [e for e in with_model.slack.ephemerals("C-status") if "Working on" in json.dumps(e)]
    assert acks, "the user got no ephemeral 'working on it' ack"
    sent = llm.received()[-1]["messages"]
    assert incident.instances["web-1"] in sent[-1]["content"]  # evidence went to the model


def test_fleet_status_lists_unhealthy_instances_first(no_model: Running, incident: SeededIncident) -> None:
    _, replies = no_model.command("status", channel="C-fleet")
    answer = text_of(replies[0])
    assert "need attention" in answer
    assert answer.index("worker-1") < answer.index("web-1"), "the stopped instance should come first"
    assert "stopped" in answer
    assert NO_MODEL_NOTE in answer and "evidence only (no model used)" in answer


def test_logs_show_the_502_burst_grouped_with_secrets_redacted(no_model: Running, incident: SeededIncident) -> None:
    _, replies = no_model.command("logs api 502 checkout 30m", channel="C-logs")
    answer = "\n".join(text_of(r) for r in replies)
    assert "502 Bad Gateway" in answer and "/checkout" in answer
    assert "GET /api/products" not in answer  # only lines with every term
    counts = [int(n) for n in re.findall(r"^×(\d+) \[", answer, re.M)]  # grouped by shape, with counts
    assert counts and max(counts) >= 10, answer
    _, replies = no_model.command("logs /ecs/worker-prod 2h", channel="C-logs")
    worker = "\n".join(text_of(r) for r in replies)
    assert incident.fake_secret not in worker
    assert "AKIAFAKEDEMOSANDBOX7" not in worker
    assert "<!channel>" not in worker and "<@U024BE7LH>" not in worker
    assert "&lt;!channel&gt;" in worker  # shown, but escaped so it pings no one


def test_alarms_lists_the_firing_alarms(with_model: Running, incident: SeededIncident, llm: FakeLLMServer) -> None:
    llm.script(Scripted(content="Two alarms are firing; start with api-prod-5xx-high."))
    _, replies = with_model.command("alarms", channel="C-alarms")
    answer = text_of(replies[0])
    for name in incident.alarms_in_alarm:
        assert name in answer
    for name in incident.alarms_ok:
        assert name not in answer
    assert "start with api-prod-5xx-high" in answer


def test_metrics_show_the_cpu_spike(no_model: Running, incident: SeededIncident) -> None:
    _, replies = no_model.command(f"metrics {incident.spiking_instance} cpu 1h", channel="C-metrics")
    answer = text_of(replies[0])
    assert "CPUUtilization" in answer
    peak = float(answer.split("peak ")[1].split(",")[0])
    assert peak > 90, answer


def test_ask_uses_tools_and_answers_from_their_results(with_model: Running, llm: FakeLLMServer) -> None:
    llm.script(
        Scripted(tool_calls=(ToolCall("get_alarms", {"state": "ALARM"}),
                             ToolCall("search_logs", {"group": "api", "terms": ["502"], "window": "30m"}))),
        Scripted(content="Checkout 502s come from the api: api-prod-5xx-high is firing and the gateway logs 502s."),
    )
    _, replies = with_model.command("ask why is checkout returning 502s?", channel="C-ask")
    answer = text_of(replies[0])
    assert "Checkout 502s come from the api" in answer
    second = llm.received()[1]["messages"]
    tool_results = [m["content"] for m in second if m["role"] == "tool"]
    assert any("api-prod-5xx-high" in t for t in tool_results)
    assert any("502" in t for t in tool_results)
    assert "cloudwatch:DescribeAlarms" in answer and "logs:FilterLogEvents" in answer  # ops listed


def test_a_model_that_repeats_its_tool_calls_is_stopped_and_answers(with_model: Running, llm: FakeLLMServer) -> None:
    looping = Scripted(tool_calls=(ToolCall("get_alarms", {}),))
    llm.script(looping, looping, Scripted(content="Forced final answer."))
    _, replies = with_model.command("ask what is wrong?", channel="C-cap")
    answer = text_of(replies[0])
    assert "Forced final answer." in answer and "Tool use ended early" in answer
    reqs = llm.received()
    assert len(reqs) == 3  # the repeat is a loop (CLOUDOPS_LLM_TOOLS=auto): no 6-step crawl to the cap
    assert reqs[-1].get("tool_choice") == "none" and "Tool use has ended" in reqs[-1]["messages"][-1]["content"]


def test_mention_is_answered_in_its_own_thread(with_model: Running, llm: FakeLLMServer) -> None:
    llm.script(Scripted(content="Nothing else is alarming besides the two api alarms."))
    root, replies = with_model.mention("what is alarming right now?", channel="C-mention")
    assert replies[0]["thread_ts"] == root
    assert "Nothing else is alarming" in text_of(replies[0])


def test_follow_up_in_a_thread_keeps_the_context(with_model: Running, llm: FakeLLMServer) -> None:
    llm.script(Scripted(content="api-1 CPU is at 95 percent."))
    root, _ = with_model.mention("how is api-1 doing?", channel="C-follow")
    llm.script(Scripted(content="It started about 20 minutes ago."))
    _, replies = with_model.mention("since when?", channel="C-follow", thread_ts=root)
    assert "20 minutes ago" in text_of(replies[0])
    prompt = llm.received()[-1]["messages"][1]["content"]
    assert "how is api-1 doing?" in prompt and "api-1 CPU is at 95 percent" in prompt


def test_no_model_key_answers_from_evidence_and_says_so(no_model: Running, incident: SeededIncident) -> None:
    _, replies = no_model.mention("why is checkout slow?", channel="C-nokey")
    answer = text_of(replies[0])
    assert "No model configured" in answer
    assert "api-prod-5xx-high" in answer  # the evidence an engineer looks at first


def test_model_failure_still_shows_the_evidence(with_model: Running, llm: FakeLLMServer,
                                                incident: SeededIncident) -> None:
    llm.script(Scripted(status=500, content="upstream overloaded"))
    _, replies = with_model.command("alarms", channel="C-modelfail")
    answer = text_of(replies[0])
    assert "The model failed" in answer and "HTTP 500" in answer
    assert incident.alarms_in_alarm[0] in answer


def test_unknown_verb_gets_help_with_the_closest_match(no_model: Running) -> None:
    _, replies = no_model.command("stauts web-1", channel="C-unknown")
    answer = text_of(replies[0])
    assert "not a command" in answer and "/cloudops status" in answer
    assert "Traceback" not in answer


def test_unknown_instance_gets_one_line_and_a_hint(no_model: Running) -> None:
    _, replies = no_model.command("status web-99", channel="C-unknown-i")
    answer = text_of(replies[0])
    assert "no instance matches 'web-99'" in answer
    assert "Try:" in answer


def test_messages_from_bots_are_ignored(no_model: Running) -> None:
    slack = no_model.slack
    before = len(slack.calls("chat.postMessage"))
    slack.send_event({"type": "app_mention", "text": f"<@{slack.bot_user_id}> status", "user": "UOTHER",
                      "bot_id": "BOTHER", "channel": "C-bots", "ts": "1700000000.000100"})
    assert not slack.wait_for(lambda: len(slack.calls("chat.postMessage")) > before, timeout=1.5)
