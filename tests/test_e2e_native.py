"""Slack-native pieces through the emulator: buttons on every answer, the thread status line, direct
messages, the Messages-tab welcome and the "Ask CloudOps about this" message shortcut."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import Running, running_bot, text_of
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="sk-test") as server:
        yield server


@pytest.fixture(scope="module")
def native(incident: SeededIncident, llm: FakeLLMServer) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, llm) as running:
        yield running


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    for block in message.get("blocks", []):
        if block.get("type") == "actions" and block.get("block_id") == "answer":
            return {e["action_id"]: e["value"] for e in block["elements"]}
    return {}


def test_answer_buttons_show_evidence_prompt_rerun_and_count_feedback(native: Running, llm: FakeLLMServer,
                                                                      incident: SeededIncident) -> None:
    slack = native.slack
    llm.script(Scripted(content="Two alarms fire."))
    parent, replies = native.command("alarms", channel="C-native")
    buttons = _buttons(replies[-1])
    assert set(buttons) == {"answer_rerun", "answer_evidence", "answer_prompt", "answer_up", "answer_down"}
    root = parent["ts"]

    def click(action: str) -> None:
        slack.send_block_action(channel="C-native", message_ts=replies[-1]["ts"], action_id=action,
                                value=buttons[action])

    click("answer_evidence")
    assert slack.wait_for(lambda: any("*evidence*" in text_of(m) and incident.alarms_in_alarm[0] in text_of(m)
                                      for m in slack.thread("C-native", root)), 10)
    click("answer_prompt")
    assert slack.wait_for(lambda: any("model-prompt" in text_of(m) for m in slack.thread("C-native", root))
                          or bool(slack.files()), 10)
    # The delimited evidence the model was given: inline while short (escaped, so Slack shows the delimiters
    # as text), else a file holding the prompt exactly as sent.
    inline = [text_of(m) for m in slack.thread("C-native", root) if "*model-prompt*" in text_of(m)]
    files = [f.content.decode(errors="replace") for f in slack.files() if f.filename == "model-prompt.txt"]
    assert len(inline) + len(files) == 1, (inline, files)
    if inline:
        assert "&lt;evidence" in inline[0] and "<evidence" not in inline[0], inline[0]
    else:
        assert "<evidence" in files[0], files[0][:500]
    llm.script(Scripted(content="Still two alarms."))
    click("answer_rerun")
    assert slack.wait_for(lambda: any("Still two alarms." in text_of(m) for m in slack.thread("C-native", root)), 15)
    click("answer_up")
    metric = native.bot.metrics.registry.get_sample_value
    assert slack.wait_for(lambda: metric("cloudops_answer_feedback_total", {"command": "alarms", "vote": "up"}) == 1)


def test_status_line_shows_progress_while_gathering(native: Running, llm: FakeLLMServer) -> None:
    llm.script(Scripted(content="ok"))
    parent, _ = native.command("logs api 30m", channel="C-status-line")
    statuses = [c.params.get("status") for c in native.slack.calls("assistant.threads.setStatus")
                if c.params.get("thread_ts") == parent["ts"]]
    assert statuses and statuses[0].startswith("Reading /ecs/api-prod")


def test_direct_messages_are_answered_in_their_own_thread(native: Running, llm: FakeLLMServer) -> None:
    slack = native.slack
    llm.script(Scripted(content="Nothing alarming besides the api alarms."))
    ts = slack.post_user_message("D-dm", "what is alarming right now?", user="U-dm")
    slack.send_event({"type": "message", "channel": "D-dm", "channel_type": "im", "user": "U-dm", "ts": ts,
                      "text": "what is alarming right now?"})
    reply = slack.wait_thread_replies("D-dm", ts, 1, 15)[0]
    assert reply["thread_ts"] == ts and "Nothing alarming" in text_of(reply)


# The tool a model would pick for each suggested prompt of the agent view, and what its result must show.
PROMPT_TOOLS = {
    "What is alarming right now?": (ToolCall("get_alarms", {"state": "ALARM"}), "api-1-cpu-high"),
    "Summarise errors in the API logs": (ToolCall("search_logs", {"group": "api", "terms": ["ERROR"]}),
                                         "ERROR [gateway]"),
    "Which EC2 instances need attention?": (ToolCall("list_instances", {}), "stopped"),
}


def test_the_agent_views_suggested_prompts_are_answered_from_aws_evidence(native: Running,
                                                                          llm: FakeLLMServer) -> None:
    """Each one-click prompt of the Messages tab arrives as a direct message: it takes the ask path, the
    model is offered the tools (and the `api` alias) that answer it, and their real results reach it."""
    from bot.slack.conversations import SUGGESTED_PROMPTS

    slack = native.slack
    assert {message for _, message in SUGGESTED_PROMPTS} == set(PROMPT_TOOLS), "a prompt without a check here"
    for i, (message, (call, shown)) in enumerate(PROMPT_TOOLS.items()):
        llm.script(Scripted(tool_calls=(call,)), Scripted(content=f"Answer {i} from the evidence."))
        ts = slack.post_user_message("D-prompts", message, user="U-agent")
        slack.send_event({"type": "message", "channel": "D-prompts", "channel_type": "im", "user": "U-agent",
                          "ts": ts, "text": message})
        reply = slack.wait_thread_replies("D-prompts", ts, 1, 20)[0]
        assert f"Answer {i} from the evidence." in text_of(reply)
        first, second = llm.received()[-2:]
        offered = {t["function"]["name"] for t in first.get("tools", [])}
        assert call.name in offered and message in first["messages"][-1]["content"]
        assert "api=/ecs/api-prod" in first["messages"][-1]["content"]  # "the API logs" resolves to a group
        results = [m["content"] for m in second["messages"] if m["role"] == "tool"]
        assert results and shown in results[-1], results


def test_messages_tab_welcome_is_posted_once(native: Running) -> None:
    slack = native.slack
    for _ in range(2):
        slack.send_event({"type": "app_home_opened", "user": "U-new", "channel": "D-home", "tab": "messages"})
    assert slack.wait_for(lambda: len(slack.channel_messages("D-home")) >= 1, 10)
    assert not slack.wait_for(lambda: len(slack.channel_messages("D-home")) >= 2, 1.0)
    assert "What is alarming right now?" in text_of(slack.channel_messages("D-home")[0])


def test_message_shortcut_analyses_the_message_in_its_thread(native: Running, llm: FakeLLMServer) -> None:
    slack = native.slack
    ts = slack.post_user_message("C-short", "PagerDuty: checkout 5xx rate above 5% for 10 minutes", user="U-pd")
    llm.script(Scripted(content="The checkout 5xx page matches api-prod-5xx-high."))
    slack.send_envelope("interactive", {
        "type": "message_action", "callback_id": "ask_cloudops", "trigger_id": "t1",
        "team": {"id": "T1"}, "user": {"id": "U-oncall"}, "channel": {"id": "C-short"},
        "message": {"type": "message", "user": "U-pd", "ts": ts, "text": "PagerDuty: checkout 5xx rate above 5%"},
    }, accepts_response_payload=False)
    reply = slack.wait_thread_replies("C-short", ts, 1, 15)[0]
    assert "matches api-prod-5xx-high" in text_of(reply)
    assert "PagerDuty: checkout 5xx" in llm.received()[-1]["messages"][1]["content"]


def test_a_channel_the_bot_cannot_post_in_gets_a_private_hint(native: Running) -> None:
    slack = native.slack
    slack.fail("chat.postMessage", "not_in_channel")
    slack.send_slash_command("alarms", channel="C-uninvited", user="U-x")
    assert slack.wait_for(lambda: any("/invite @CloudOps" in str(p) for p in slack.response_url_posts()), 15)
    assert slack.channel_messages("C-uninvited") == []
