"""Conversations that are not commands: the agent's Messages tab (welcome with prompts to try) and the
message shortcut "Ask CloudOps about this", which analyses any message in a thread reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App

from bot.models import Request, Source
from bot.slack.inbound import slack_to_plain
from bot.slack.replies import Replies
from bot.state import BotState
from bot.store import Store

SHORTCUT_ID = "ask_cloudops"  # the message shortcut "Ask CloudOps about this" (slack-manifest.yml)
WELCOME_TTL_S = 30 * 86400
# (title, message): the prompts Slack's agent view offers (features.agent_view.suggested_prompts in
# slack-manifest.yml, which tests/test_manifest.py holds equal to this) and the welcome lists. Each is a
# plain question, so it takes the `ask` path like any direct message.
SUGGESTED_PROMPTS: tuple[tuple[str, str], ...] = (
    ("What is alarming?", "What is alarming right now?"),
    ("Summarise API errors", "Summarise errors in the API logs"),
    ("Unhealthy instances", "Which EC2 instances need attention?"),
)
WELCOME = ("Hi, I'm CloudOps. Ask me about your AWS workloads, for example:\n"
           + "".join(f"• {message}\n" for _, message in SUGGESTED_PROMPTS)
           + "Each message starts its own thread; follow-ups in a thread keep the context.")


@dataclass(frozen=True)
class ConversationDeps:
    replies: Replies
    state: BotState
    store: Store  # the welcome-once flag
    max_question_chars: int


def configure(app: App, deps: ConversationDeps) -> None:
    """Register the Messages tab and the message shortcut."""
    app.event("app_home_opened")(lambda ack, event: on_home_opened(deps, ack, event))
    app.shortcut(SHORTCUT_ID)(lambda ack, body: on_shortcut(deps, ack, body))


def on_home_opened(deps: ConversationDeps, ack: Ack, event: dict[str, Any]) -> None:
    """The agent's Messages tab opened: greet once per user with prompts to try."""
    ack()
    user, channel = str(event.get("user", "")), str(event.get("channel", ""))
    if event.get("tab") != "messages" or not channel or not deps.store.first_time(
            f"welcome:{user}", WELCOME_TTL_S):
        return
    deps.replies.queue_or_refuse(Request(text="", source=Source.MENTION, user=user, channel=channel),
                                 lambda: deps.replies.post_text_safely(channel, "", WELCOME))


def on_shortcut(deps: ConversationDeps, ack: Ack, body: dict[str, Any]) -> None:
    """"Ask CloudOps about this" on any message: a thread reply analysing that message with the tools."""
    ack()
    deps.state.envelope_seen()
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id", ""))
    user = str((body.get("user") or {}).get("id", ""))
    quoted = slack_to_plain(str(message.get("text", "")))[: deps.max_question_chars - 200]
    request = Request(text=f"ask Analyse this message for the on-call engineer: what does it mean for our "
                           f"AWS workloads and what should be checked? Message: {quoted}",
                      source=Source.MENTION, user=user, channel=channel,
                      thread_ts=str(message.get("thread_ts") or message.get("ts") or ""))
    deps.replies.queue_or_refuse(request, lambda: deps.replies.answer_admitted(request))
