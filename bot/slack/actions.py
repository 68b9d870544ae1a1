"""Buttons: on incident parents (Investigate / Acknowledge / Mute) and on every answer (Re-run, Show
evidence, What was sent to the model, 👍/👎). Clicks arrive as block_actions and answer in the thread.

Answers are remembered in the shared store (Redis when configured, else a bounded per-process cache)
keyed by an id carried in the button value, so "show evidence" shows exactly what that answer was built
from, whichever replica gets the click; once it has expired the button says so instead of guessing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import structlog
from slack_bolt import Ack, App

from bot.config import Settings
from bot.errors import CloudOpsError, NotAllowedError, RateLimitedError
from bot.metrics import ACTIONS
from bot.models import Reply, Request, Source, ThreadMessage
from bot.slack.poster import PostError
from bot.slack.render import SlackMessage, render
from bot.slack.replies import Replies
from bot.state import BotState
from bot.store import Store
from bot.text.mrkdwn import code_block, escape
from bot.text.sanitize import clean_text
from handlers import dispatch
from handlers.capability import Access
from handlers.guard import check_access, check_rate
from handlers.router import resolve
from handlers.services import Services

log = structlog.get_logger("cloudops.slack")
ANSWER_ACTIONS = ("answer_rerun", "answer_evidence", "answer_prompt", "answer_up", "answer_down")
MAX_BLOCKS = 50  # Slack's limit per message
SNIPPET_INLINE_CHARS = 2800  # beyond this an evidence/prompt snippet is uploaded as a file


class IncidentTracker(Protocol):
    """What the incident buttons need from the alarm watcher."""

    def find(self, alarm_name: str) -> object | None: ...
    def acknowledge(self, alarm_name: str, user: str) -> object | None: ...
    def mute(self, alarm_name: str, user: str) -> object | None: ...


@dataclass(frozen=True)
class Answer:
    request: Request
    reply: Reply
    command: str


class AnswerCache:
    """Answers behind their buttons, in the shared ``Store``: with Redis, a click that Slack delivers to
    another replica still finds the answer. Only what the buttons need is kept (the request to re-run,
    the evidence and prompt to show, the command for feedback), cut to ``max_chars`` each."""

    def __init__(self, store: Store, ttl_s: float, max_chars: int) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._max = max_chars

    def put(self, answer: Answer) -> str:
        key = uuid.uuid4().hex[:16]
        r = answer.request
        self._store.put_text(f"answer:{key}", json.dumps({
            "request": {"text": r.text, "source": r.source.value, "user": r.user, "channel": r.channel,
                        "thread_ts": r.thread_ts, "user_groups": sorted(r.user_groups),
                        "history": [[m.author, m.text] for m in r.history]},
            "title": answer.reply.title, "model_used": answer.reply.model_used,
            "evidence": answer.reply.evidence[: self._max], "prompt": answer.reply.prompt[: self._max],
            "command": answer.command,
        }), self._ttl_s)
        return key

    def get(self, key: str) -> Answer | None:
        raw = self._store.get_text(f"answer:{key}") if key.isalnum() and len(key) <= 32 else None
        if raw is None:
            return None
        d = json.loads(raw)
        q = d["request"]
        request = Request(text=q["text"], source=Source(q["source"]), user=q["user"], channel=q["channel"],
                          thread_ts=q["thread_ts"], user_groups=frozenset(q["user_groups"]),
                          history=tuple(ThreadMessage(a, t) for a, t in q["history"]))
        reply = Reply(title=d["title"], model_used=d["model_used"], evidence=d["evidence"], prompt=d["prompt"])
        return Answer(request, reply, d["command"])


@dataclass(frozen=True)
class ButtonDeps:
    """What the buttons use: how to reply, where answers are kept, who is in which group."""

    replies: Replies
    state: BotState
    settings: Settings
    services: Services
    answers: AnswerCache
    groups_of: Callable[[str], frozenset[str]]
    incidents: Callable[[], IncidentTracker | None]  # the watcher, when CLOUDOPS_ALARM_CHANNEL is set


def configure(app: App, deps: ButtonDeps) -> None:
    """Register the answer and incident buttons' listeners."""
    for action_id in ANSWER_ACTIONS:
        app.action(action_id)(lambda ack, body: on_answer_action(deps, ack, body))
    for action_id in ACTIONS:
        app.action(action_id)(lambda ack, body: on_incident_action(deps, ack, body))


def answer_buttons(answer_id: str, model_used: bool) -> dict[str, Any]:
    def button(label: str, action_id: str) -> dict[str, Any]:
        return {"type": "button", "text": {"type": "plain_text", "text": label, "emoji": True},
                "action_id": action_id, "value": answer_id}

    elements = [button("Re-run", "answer_rerun"), button("Show evidence", "answer_evidence")]
    if model_used:
        elements.append(button("What was sent to the model", "answer_prompt"))
    elements += [button(":+1:", "answer_up"), button(":-1:", "answer_down")]
    return {"type": "actions", "block_id": "answer", "elements": elements}


def with_buttons(reply: Reply, answer_id: str) -> list[SlackMessage]:
    """The rendered reply with the answer buttons on its last message (a new one if that one is full)."""
    messages = render(reply)
    if answer_id:
        last = messages[-1]
        extra = answer_buttons(answer_id, reply.model_used)
        if len(last.blocks) < MAX_BLOCKS:
            messages[-1] = SlackMessage(last.text, [*last.blocks, extra])
        else:
            messages.append(SlackMessage(last.text, [extra]))
    return messages


def _where(body: dict[str, Any]) -> tuple[str, str, str]:
    user = str((body.get("user") or {}).get("id", ""))
    channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", ""))
    message = body.get("message") or {}
    container = body.get("container") or {}
    thread_ts = str(message.get("thread_ts") or container.get("message_ts") or message.get("ts", ""))
    return user, channel, thread_ts


def on_answer_action(deps: ButtonDeps, ack: Ack, body: dict[str, Any]) -> None:
    ack()
    deps.state.envelope_seen()
    action = (body.get("actions") or [{}])[0]
    action_id, key = str(action.get("action_id", "")), str(action.get("value", ""))
    user, channel, thread_ts = _where(body)
    where = Request(text=action_id, source=Source.ACTION, user=user, channel=channel, thread_ts=thread_ts)
    answer = deps.answers.get(key)
    if answer is None:
        deps.replies.ephemeral(where, "That answer has expired from my memory; ask again to get a fresh one.")
        return
    if action_id in ("answer_up", "answer_down"):
        deps.services.metrics.feedback.labels(answer.command, "up" if action_id == "answer_up" else "down").inc()
        log.info("feedback", command=answer.command, vote=action_id[7:], user=user)
        deps.replies.ephemeral(where, "Thanks for the feedback.")
        return
    if action_id == "answer_rerun":
        request = replace(answer.request, user=user, thread_ts=thread_ts, request_id=uuid.uuid4().hex[:12])
        deps.replies.queue_or_refuse(where, lambda: deps.replies.answer_admitted(request))
        return
    if not _may_see(deps, answer, action_id, where):
        return
    body_text, title = ((answer.reply.evidence, "evidence") if action_id == "answer_evidence"
                        else (answer.reply.prompt, "model-prompt"))
    deps.replies.queue_or_refuse(
        where, lambda: post_snippet(deps.replies, channel, thread_ts, title, body_text or "(nothing)"))


def _may_see(deps: ButtonDeps, answer: Answer, action_id: str, where: Request) -> bool:
    """Evidence and prompts hold what the answer's command may show (tool results, log lines), so the
    clicker needs that command's access class, and the prompt (what went to the model) the model class;
    clicks are charged to the same rate limits as commands. A refusal is told privately and audited."""
    request = replace(answer.request, source=Source.ACTION, user=where.user, channel=where.channel,
                      thread_ts=where.thread_ts, user_groups=deps.groups_of(where.user))
    try:
        access = resolve(replace(request, text=clean_text(request.text)))[0].access
    except CloudOpsError:
        access = Access.MODEL
    try:
        check_access(request, Access.MODEL if action_id == "answer_prompt" else access, deps.settings)
        check_rate(request, deps.services.store, deps.settings, deps.services.metrics)
    except (NotAllowedError, RateLimitedError) as exc:
        dispatch.audit_denial(replace(request, text=action_id), exc, deps.services)
        deps.replies.ephemeral(where, f":no_entry: Sorry — {escape(exc.message)}.")
        return False
    return True


def post_snippet(replies: Replies, channel: str, thread_ts: str, title: str, text: str) -> None:
    """Short snippets inline as a code block; long ones as a text file in the thread (files_upload_v2)."""
    if len(text) <= SNIPPET_INLINE_CHARS:
        replies.post_text_safely(channel, thread_ts, f"*{escape(title)}*\n{code_block(text)}")
        return
    try:
        replies.upload(channel, thread_ts, filename=f"{title}.txt", title=title, content=text.encode())
    except PostError as exc:
        log.warning("snippet_upload_failed", error=str(exc))
        replies.post_text_safely(channel, thread_ts, f"*{escape(title)}* (first {SNIPPET_INLINE_CHARS} chars)\n"
                                                      f"{code_block(text[:SNIPPET_INLINE_CHARS])}")


def on_incident_action(deps: ButtonDeps, ack: Ack, body: dict[str, Any]) -> None:
    """Investigate / Acknowledge / Mute on an incident parent: authorised like commands, audited."""
    ack()
    deps.state.envelope_seen()
    action = (body.get("actions") or [{}])[0]
    action_id, alarm = str(action.get("action_id", "")), str(action.get("value", ""))
    user, channel, thread_ts = _where(body)
    text = f"{action_id} {alarm}"
    if action_id == "incident_investigate":
        text = (f"ask Investigate the CloudWatch alarm {alarm}: why did it fire, is it related to other "
                "alarms, and what should the on-call engineer check first?")
    request = Request(text=text, source=Source.ACTION, user=user, channel=channel, thread_ts=thread_ts,
                      user_groups=deps.groups_of(user))
    try:
        check_access(request, "model" if action_id == "incident_investigate" else "read", deps.settings)
    except NotAllowedError as exc:
        deps.services.metrics.actions.labels(action_id, "denied").inc()
        dispatch.audit_denial(request, exc, deps.services)
        deps.replies.ephemeral(request, f":no_entry: Sorry — {escape(exc.message)}.")
        return
    watcher = deps.incidents()
    if watcher is None or watcher.find(alarm) is None:
        deps.services.metrics.actions.labels(action_id, "unknown").inc()
        deps.replies.ephemeral(request, "I am not tracking an incident for that alarm any more.")
        return
    deps.services.metrics.actions.labels(action_id, "ok").inc()
    log.info("action", action=action_id, alarm=alarm, user=user, channel=channel)
    if action_id == "incident_ack":
        deps.replies.queue_or_refuse(request, lambda: watcher.acknowledge(alarm, user))
    elif action_id == "incident_mute":
        deps.replies.queue_or_refuse(request, lambda: watcher.mute(alarm, user))
    else:
        deps.replies.queue_or_refuse(request, lambda: deps.replies.answer_admitted(request))
