"""Access control, rate limits and model budgets through the Slack emulator: refusals are private,
polite and audited; a spent budget still gets an answer from evidence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import Running, running_bot, text_of
from tests.peers.llm_server import FakeLLMServer, Scripted


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="sk-test") as server:
        yield server


@pytest.fixture(scope="module")
def guarded(incident: SeededIncident, llm: FakeLLMServer) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(
        slack, llm, access_read_users=("U-ok", "U-rl", "U-budget"), access_model_channels=("C-models",),
        rate_user_per_min=1.0, rate_user_burst=2.0, budget_user_tokens=100,
    ) as running:
        yield running


def _ephemerals_for(slack: SlackEmulator, channel: str) -> list[str]:
    return [str(e.get("text", "")) for e in slack.ephemerals(channel) if e.get("source") == "chat.postEphemeral"]


def test_a_user_not_on_the_allowlist_is_told_privately(guarded: Running) -> None:
    slack = guarded.slack
    slack.send_slash_command("status", user="U-stranger", channel="C-acl")
    assert slack.wait_for(lambda: bool(_ephemerals_for(slack, "C-acl")), 15)
    assert "not on the list" in _ephemerals_for(slack, "C-acl")[0]
    assert slack.channel_messages("C-acl") == []  # nothing visible in the channel


def test_model_questions_only_in_enabled_channels(guarded: Running) -> None:
    slack = guarded.slack
    slack.send_mention("why is checkout failing?", user="U-ok", channel="C-nomodel")
    assert slack.wait_for(lambda: bool(_ephemerals_for(slack, "C-nomodel")), 15)
    assert "not enabled in this channel" in _ephemerals_for(slack, "C-nomodel")[0]


def test_the_per_user_rate_limit_refuses_the_third_quick_request(guarded: Running) -> None:
    slack = guarded.slack
    guarded.command("help", channel="C-rl", user="U-rl")
    guarded.command("help", channel="C-rl", user="U-rl")
    slack.send_slash_command("help", user="U-rl", channel="C-rl")
    assert slack.wait_for(lambda: bool(_ephemerals_for(slack, "C-rl")), 15)
    assert "more than 1 requests a minute" in _ephemerals_for(slack, "C-rl")[0]
    assert len(slack.channel_messages("C-rl")) == 2


def test_a_spent_model_budget_still_answers_from_evidence(guarded: Running, llm: FakeLLMServer,
                                                          incident: SeededIncident) -> None:
    llm.script(Scripted(content="Two alarms fire.", prompt_tokens=500, completion_tokens=20))
    _, first = guarded.command("alarms", channel="C-models", user="U-budget")
    assert "Two alarms fire." in text_of(first[0])
    calls = len(llm.received())
    _, second = guarded.command("alarms", channel="C-models", user="U-budget")
    answer = text_of(second[0])
    assert "model budget for today" in answer
    assert incident.alarms_in_alarm[0] in answer
    assert len(llm.received()) == calls  # the model was not called
