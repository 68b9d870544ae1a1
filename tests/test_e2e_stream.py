"""Streamed answers through the emulator, a real Bolt app and the fake model server: the answer arrives in
pieces (chat.startStream/appendStream/stopStream), no piece carries a secret, chat.update stands in where
streaming is refused, and the thread ends with the answer exactly once."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import ApiCall, SlackEmulator, message_text
from tests.harness import Running, running_bot
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall

APPEND_S, UPDATE_S = 0.15, 0.25
SENTENCES = [
    "Checkout returns 502s because the api target group has no healthy targets right now.",
    "api-1 has been pinned above 95% CPU since the last deploy & its health checks time out.",
    "The orders database refuses connections from <api-1>, so every checkout request waits and fails.",
    "Roll back the api deploy first, then restart the worker pool to drain the orders-events queue.",
    "After that, watch api-prod-5xx-high: it should clear within two evaluation periods.",
]
ANSWER = " ".join(SENTENCES * 3)
GHP = "ghp_" + "Zt4kQ9wLmX2vB7nR5sHc8JdF3gY6pA1eKuVo"  # the shape of a GitHub token, not a real one


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="sk-test") as server:
        yield server


@pytest.fixture(scope="module")
def bot(incident: SeededIncident, llm: FakeLLMServer) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, llm, stream_append_interval_s=APPEND_S,
                                               stream_update_interval_s=UPDATE_S) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(llm: FakeLLMServer, bot: Running) -> Iterator[None]:
    llm.reset()
    yield
    bot.slack.clear_faults()


def _calls(slack: SlackEmulator, method: str, **match: str) -> list[ApiCall]:
    return [c for c in slack.calls(method) if all(c.params.get(k) == v for k, v in match.items())
            and c.error is None]


def _chunk_text(call: ApiCall) -> str:
    return str(call.params.get("markdown_text") or "") + "".join(
        str(c.get("text", "")) for c in call.params.get("chunks") or [] if c.get("type") == "markdown_text")


def _buttons(message: dict[str, Any]) -> set[str]:
    return {e["action_id"] for b in message.get("blocks", []) if b.get("type") == "actions"
            for e in b.get("elements", [])}


def _handled(bot: Running) -> float:
    return sum(s.value for m in bot.bot.metrics.registry.collect() if m.name == "cloudops_requests"
               for s in m.samples if s.name == "cloudops_requests_total")


def _wait_handled(bot: Running, count: float, timeout: float = 20.0) -> None:
    """The bot counts a request after its last Slack call, so the emulator has no change to wake on: poll."""
    deadline = time.monotonic() + timeout
    while _handled(bot) < count:
        assert time.monotonic() < deadline, "the request was not finished"
        time.sleep(0.02)


def _ask(bot: Running, text: str, channel: str) -> tuple[str, dict[str, Any]]:
    """Mention the bot; return the thread root and its one reply once the request is completely handled
    (a placeholder or a replaced stream is a reply before it holds the final answer)."""
    done = _handled(bot) + 1
    root, _ = bot.mention(text, channel=channel)
    _wait_handled(bot, done)
    return root, _only_reply(bot, channel, root)


def _only_reply(bot: Running, channel: str, root: str) -> dict[str, Any]:
    replies = bot.slack.thread(channel, root)[1:]
    assert len(replies) == 1, [message_text(r) for r in replies]
    assert not bot.slack.wait_for(lambda: len(bot.slack.thread(channel, root)) > 2, 0.5), "answered twice"
    assert not bot.slack.streaming(channel, replies[0]["ts"]), "the stream was left open"
    return replies[0]


def test_a_streamed_answer_arrives_in_pieces_and_ends_as_the_answer_once(bot: Running, llm: FakeLLMServer) -> None:
    slack = bot.slack
    llm.script(Scripted(content=ANSWER, chunk_chars=24, chunk_delay_s=0.01))
    root, reply = _ask(bot, "why is checkout returning 502s?", "C-stream")
    starts = _calls(slack, "chat.startStream", thread_ts=root)
    appends = _calls(slack, "chat.appendStream", ts=reply["ts"])
    stops = _calls(slack, "chat.stopStream", ts=reply["ts"])
    assert len(starts) == 1 and len(stops) == 1 and len(appends) >= 2, (len(starts), len(appends), len(stops))
    assert starts[0].params["recipient_user_id"] == "U1" and starts[0].params["recipient_team_id"] == slack.team_id
    pieces = [_chunk_text(c) for c in [*starts, *appends, *stops]]
    assert all(pieces[:-1]) and "".join(pieces) == _escaped(ANSWER)
    gaps = [b.time - a.time for a, b in itertools.pairwise(appends)]
    assert min(gaps, default=APPEND_S) >= APPEND_S * 0.9, gaps  # batched: one append per interval at most
    shown = message_text(reply)
    assert shown.count(_escaped(SENTENCES[2])) == 3  # the answer once (the sentence is in it three times)
    assert "<api-1>" not in shown and {"answer_rerun", "answer_evidence", "answer_up"} <= _buttons(reply)
    assert "model gpt-test" in shown  # the usage line rides under the streamed text
    assert _calls(slack, "chat.postMessage", thread_ts=root) == []


def test_a_secret_split_across_model_chunks_never_reaches_slack(bot: Running, llm: FakeLLMServer,
                                                                incident: SeededIncident) -> None:
    slack = bot.slack
    summary = (" ".join(SENTENCES) + f" The deploy job cloned the repo with token {GHP} and then "
               + " ".join(SENTENCES))
    start = summary.index(GHP)
    assert start // 7 != (start + len(GHP)) // 7  # the secret really spans several model chunks
    llm.script(Scripted(content=summary, chunk_chars=7, chunk_delay_s=0.003))
    before = len(slack.calls())
    done = _handled(bot) + 1
    parent, _ = bot.command("alarms", channel="C-stream-secret")
    _wait_handled(bot, done)
    reply = _only_reply(bot, "C-stream-secret", parent["ts"])
    assert len(_calls(slack, "chat.appendStream", ts=reply["ts"])) >= 1  # it did stream around the secret
    sent = [json.dumps(c.params) for c in slack.calls()[before:]]
    windows = {GHP[i:i + 10] for i in range(len(GHP) - 9)}
    assert not [w for w in windows for body in sent if w in body]
    shown = message_text(reply)
    assert "[REDACTED:github_token]" in shown and GHP not in shown
    for name in incident.alarms_in_alarm:  # the evidence section comes with the streamed summary
        assert name in shown


def test_where_streaming_is_refused_a_placeholder_is_updated_at_most_once_per_interval(
        bot: Running, llm: FakeLLMServer) -> None:
    slack = bot.slack
    slack.fail("chat.startStream", "unknown_method")
    llm.script(Scripted(content=ANSWER, chunk_chars=24, chunk_delay_s=0.015))
    root, reply = _ask(bot, "why is checkout returning 502s?", "C-stream-fallback")
    placeholder = _calls(slack, "chat.postMessage", thread_ts=root)
    assert len(placeholder) == 1
    first = placeholder[0].params["text"]
    assert first.strip() and _escaped(ANSWER).startswith(first)  # the first settled text, at once
    updates = _calls(slack, "chat.update", ts=reply["ts"])
    assert len(updates) >= 3, len(updates)  # a few while the model writes, then the final reply
    # Times are when the emulator received each update, so a loaded machine can delay one and shorten the
    # gap after it: every gap is still far from the chunk pace (15 ms), and together they keep the interval.
    gaps = [b.time - a.time for a, b in itertools.pairwise(updates[:-1])]
    assert min(gaps, default=UPDATE_S) >= UPDATE_S / 2, gaps
    assert sum(gaps) >= len(gaps) * UPDATE_S - UPDATE_S / 2, gaps
    shown = message_text(reply)
    assert shown.startswith("Q: WHY IS CHECKOUT RETURNING 502S?")  # the ordinary rendered reply
    assert shown.count(_escaped(SENTENCES[2])) == 3 and "answer_rerun" in _buttons(reply)
    assert _calls(slack, "chat.appendStream", ts=reply["ts"]) == []


def test_a_model_that_breaks_off_midway_leaves_one_clear_reply_and_a_stopped_stream(
        bot: Running, llm: FakeLLMServer) -> None:
    slack = bot.slack
    llm.script(Scripted(content=ANSWER, chunk_chars=20, chunk_delay_s=0.005, cut_after_chunks=40))
    root, reply = _ask(bot, "why is checkout returning 502s?", "C-stream-broken")
    assert len(_calls(slack, "chat.startStream", thread_ts=root)) == 1  # part of the answer was shown
    assert len(_calls(slack, "chat.stopStream", ts=reply["ts"])) == 1
    shown = message_text(reply)
    assert "The model failed" in shown and "Alarms firing now" in shown
    assert _escaped(SENTENCES[0]) not in shown  # the half answer was replaced, not left above the error


def test_text_from_a_tool_calling_step_is_replaced_and_the_status_line_cleared(
        bot: Running, llm: FakeLLMServer) -> None:
    slack = bot.slack
    preamble = ("Before answering I want to look at which alarms fire right now, because the symptoms point "
                "to more than one component. ") * 4
    final = " ".join(reversed(SENTENCES)) * 2
    llm.script(
        Scripted(content=preamble, tool_calls=(ToolCall("get_alarms", {"state": "ALARM"}),), chunk_chars=20,
                 chunk_delay_s=0.005),
        Scripted(content=final, chunk_chars=20, chunk_delay_s=0.005),
    )
    root, reply = _ask(bot, "what is alarming and why?", "C-stream-tools")
    statuses = [c.params.get("status") for c in _calls(slack, "assistant.threads.setStatus", thread_ts=root)]
    # accepted at once, then triage, then cleared
    assert statuses[0] == "is looking into it…" and statuses[1].startswith("Gathering the evidence"), statuses
    assert statuses[-1] == ""
    assert slack.assistant_thread("C-stream-tools", root).get("status") == ""
    shown = message_text(reply)
    assert "want to look at which alarms" not in shown and "How I checked" in shown
    assert shown.count(_escaped(SENTENCES[4])) == 2


def test_a_value_far_behind_its_key_is_redacted_before_any_piece_is_sent(bot: Running, llm: FakeLLMServer) -> None:
    """``password:`` + 1,100 spaces + value: more than the old 1,024 characters of context, so the value
    used to go out in a chat.appendStream before the final update redacted it."""
    slack = bot.slack
    value = "Zq81-hunter2-xKp9"
    summary = " ".join(SENTENCES) + " The orders db password:" + " " * 1100 + value + " is stale. " + ANSWER
    llm.script(Scripted(content=summary, chunk_chars=24, chunk_delay_s=0.002))
    before = len(slack.calls())
    _, reply = _ask(bot, "what is wrong with the orders db?", "C-stream-gap")
    streamed = [_chunk_text(c) for c in slack.calls()[before:] if c.method.endswith("Stream")]
    assert len(streamed) >= 3, "the answer was streamed"
    sent = [json.dumps(c.params) for c in slack.calls()[before:]]
    assert not [body for body in sent if value in body or value[:8] in body]
    shown = message_text(reply)
    assert "[REDACTED:password_assignment]" in shown and "is stale" in shown
