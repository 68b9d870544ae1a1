"""Rendering and routing with arbitrary text: never a crash, never a live mention or link, never over
Slack's limits; the router finds the right verb or explains."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import UserInputError
from bot.models import Fact, Reply, Request, Section, Source
from bot.slack.inbound import slack_to_plain, thread_history
from bot.slack.render import MAX_BLOCKS, MAX_HEADER, MAX_SECTION, render
from bot.text.mrkdwn import is_safe_mrkdwn
from handlers.router import resolve

HOSTILE = st.sampled_from(["<!channel>", "<!here>", "<@U024BE7LH>", "<#C123|ops>", "<https://evil.example|docs>",
                           "```", "&", "<", ">", "\u202e", "\x00", "*bold*"])
TEXT = st.lists(st.one_of(st.text(max_size=200), HOSTILE), max_size=30).map("".join)


def _mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if b.get("type") == "section":
            if "text" in b:
                out.append(b["text"]["text"])
            out += [f["text"] for f in b.get("fields", [])]
        elif b.get("type") == "context":
            out += [e["text"] for e in b["elements"]]
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXT, summary=TEXT, body=st.lists(TEXT, max_size=4), code=st.booleans(), n=st.integers(0, 40))
def test_rendering_is_always_safe_and_within_limits(title: str, summary: str, body: list[str], code: bool,
                                                    n: int) -> None:
    sections = tuple(Section(title=t[:50], text=t * (n % 7 + 1), code=code,
                             facts=(Fact(t[:20], t),) * (n % 12)) for t in body)
    reply = Reply(title=title, summary=summary * (n + 1), sections=sections, notes=(summary[:300],))
    messages = render(reply)
    assert messages
    for msg in messages:
        assert len(msg.blocks) <= MAX_BLOCKS
        assert is_safe_mrkdwn(msg.text)
        for block in msg.blocks:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= MAX_HEADER
        for text in _mrkdwn_texts(msg.blocks):
            assert len(text) <= MAX_SECTION
            assert is_safe_mrkdwn(text), text


def test_a_huge_answer_is_split_into_several_messages_not_truncated() -> None:
    lines = [f"line {i} " + "x" * 80 for i in range(2000)]
    reply = Reply(title="big", sections=(Section(title="logs", text="\n".join(lines), code=True),))
    messages = render(reply)
    assert len(messages) > 1
    shown = "".join(t for m in messages for t in _mrkdwn_texts(m.blocks))
    assert "line 0 " in shown and "line 1999 " in shown
    assert "(part 2/" in messages[1].text


def test_channel_pings_in_evidence_are_shown_escaped() -> None:
    reply = Reply(title="t", sections=(Section(text="deploy done <!channel> <@U1> <https://x.io|click>", code=True),))
    text = "".join(_mrkdwn_texts(render(reply)[0].blocks))
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text and "<https" not in text


@settings(max_examples=200, deadline=None)
@given(TEXT, st.sampled_from(list(Source)))
def test_routing_never_crashes(text: str, source: Source) -> None:
    try:
        route, args = resolve(Request(text=text, source=source))
    except UserInputError as exc:
        assert exc.message and exc.hint
    else:
        assert route.verb in {"help", "status", "logs", "alarms", "metrics", "ask"}
        assert isinstance(args, list)


@pytest.mark.parametrize(("text", "source", "verb"), [
    ("status web-1", Source.COMMAND, "status"),
    ("", Source.COMMAND, "help"),
    ("logs api 502 30m", Source.COMMAND, "logs"),
    ("why is checkout returning 502s?", Source.COMMAND, "ask"),
    ("is the api ok", Source.MENTION, "ask"),
    ("alarms", Source.MENTION, "alarms"),
])
def test_verbs_and_questions_route_as_a_user_expects(text: str, source: Source, verb: str) -> None:
    assert resolve(Request(text=text, source=source))[0].verb == verb


def test_a_typo_gets_the_closest_command() -> None:
    with pytest.raises(UserInputError) as err:
        resolve(Request(text="alrams", source=Source.COMMAND))
    assert "/cloudops alarms" in err.value.hint


def test_slack_markup_in_commands_is_read_as_plain_text() -> None:
    assert slack_to_plain("<@UBOT> logs &lt;api&gt; <https://x.io|x.io> <#C1|ops>", "UBOT") == "logs <api> x.io #ops"


def test_thread_history_marks_the_bots_own_messages() -> None:
    msgs = [{"ts": "1", "user": "U1", "text": "<@UBOT> how is api-1?"},
            {"ts": "2", "user": "UBOT", "bot_id": "B1", "text": "api-1 is hot"},
            {"ts": "3", "user": "U1", "text": "<@UBOT> since when?"}]
    hist = thread_history(msgs, "3", "UBOT", "B1", 10)
    assert [(m.author, m.text) for m in hist] == [("user", "how is api-1?"), ("assistant", "api-1 is hot")]
