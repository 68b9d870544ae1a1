"""Proposal cards and their Approve / Reject buttons.

A card follows the answer that made the proposal (``Reply.proposals``): what, where, the preconditions
checked, the expected effect and the expiry. A click is decided at once (``handlers.actions.flow.decide``:
two people, configured approvers, not expired, claimed once in the shared store) and every refusal is
an ephemeral message to the one who clicked. An approval then runs on the work queue: the one write,
its result in the thread, verification, and the card updated at each step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt import Ack, App

from bot.errors import NotAllowedError
from bot.models import Request, Source
from bot.slack.poster import Poster, PostError
from bot.slack.render import SlackMessage
from bot.slack.replies import Replies
from bot.state import BotState
from bot.text.mrkdwn import escape
from handlers.action_spec import ActionSpec
from handlers.actions import flow
from handlers.actions.proposals import APPROVED, PENDING, Proposal, Proposals
from handlers.services import Services

log = structlog.get_logger("cloudops.slack")
APPROVE, REJECT = "proposal_approve", "proposal_reject"
_STATUS = {"pending": ":hourglass_flowing_sand: Waiting for approval", "approved": ":arrow_forward: Approved — running",
           "rejected": ":no_entry_sign: Rejected", "executed": ":gear: Done — verifying",
           "failed": ":x: Failed", "verified": ":white_check_mark: Done and verified",
           "unverified": ":warning: Done, not verified"}


@dataclass(frozen=True)
class ApprovalDeps:
    """What the cards need: how to reply and update messages, the services, who is in which group."""

    replies: Replies
    poster: Poster
    state: BotState
    services: Services
    groups_of: Callable[[str], frozenset[str]]
    specs: Callable[[str], ActionSpec | None]  # action name → its spec (handlers.registry)


def configure(app: App, deps: ApprovalDeps) -> None:
    """Register the Approve and Reject buttons' listeners."""
    app.action(APPROVE)(lambda ack, body: on_click(deps, ack, body, approve=True))
    app.action(REJECT)(lambda ack, body: on_click(deps, ack, body, approve=False))


def card(p: Proposal) -> SlackMessage:
    """The proposal as a card; buttons only while it is pending."""
    status = _STATUS.get(p.status, p.status)
    if p.decided_by:
        status += (" by " if p.status == "rejected" else " · approved by ") + f"<@{escape(p.decided_by)}>"
    lines = [f"*{escape(p.action)}* on *{escape(p.label)}* in `{escape(p.where)}`",
             f"Requested by <@{escape(p.requester)}> · expires {flow.expires_text(p)} · proposal `{p.id}`",
             f"*Expected effect:* {escape(p.effect)}",
             "*Preconditions checked:*\n" + "\n".join(f"• {escape(c)}" for c in p.checks)]
    if p.result:
        lines.append(f"*Result:* {escape(p.result)}" + (f" (AWS request id `{escape(p.request_id)}`)"
                                                         if p.request_id else ""))
    if p.verification:
        lines.append(f"*Verification:* {escape(p.verification)}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Proposed action* — {status}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
    ]
    if p.status == PENDING:
        blocks.append({"type": "actions", "block_id": "proposal", "elements": [
            {"type": "button", "action_id": APPROVE, "value": p.id, "style": "primary",
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": REJECT, "value": p.id, "style": "danger",
             "text": {"type": "plain_text", "text": "Reject"}}]})
    return SlackMessage(f"Proposed action: {escape(p.action)} on {escape(p.label)} — {p.status}", blocks)


def post_cards(poster: Poster, services: Services, channel: str, thread_ts: str, ids: tuple[str, ...]) -> None:
    """After an answer that made proposals: one card each, in its thread."""
    store = Proposals(services.store)
    for pid in ids:
        p = store.get(pid)
        if p is None:
            continue
        try:
            poster.post(channel, card(p), thread_ts)
        except PostError as exc:
            log.error("proposal_card_failed", proposal=pid, error=str(exc))


def on_click(deps: ApprovalDeps, ack: Ack, body: dict[str, Any], *, approve: bool) -> None:
    ack()
    deps.state.envelope_seen()
    action = (body.get("actions") or [{}])[0]
    pid = str(action.get("value", ""))
    user = str((body.get("user") or {}).get("id", ""))
    container = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id", ""))
    card_ts = str(container.get("message_ts", ""))
    thread_ts = str((body.get("message") or {}).get("thread_ts") or card_ts)
    where = Request(text=action.get("action_id", ""), source=Source.ACTION, user=user, channel=channel,
                    thread_ts=thread_ts)
    try:
        decided = flow.decide(pid, user, deps.groups_of(user), approve, deps.services)
    except NotAllowedError as exc:
        hint = f" {escape(exc.hint)}." if exc.hint else ""
        deps.replies.ephemeral(where, f":no_entry: {escape(exc.message)}.{hint}")
        return
    _update(deps, channel, card_ts, decided)
    if decided.status != APPROVED:
        deps.replies.post_text_safely(channel, thread_ts,
                                      f"<@{escape(user)}> rejected the proposal; nothing was changed.")
        return
    spec = deps.specs(decided.action)
    if spec is None:  # a proposal from a build that had an action this one lacks
        deps.replies.post_text_safely(channel, thread_ts, f":x: I no longer know the action {escape(decided.action)}.")
        return
    deps.replies.queue_or_refuse(where, lambda: run_approved(deps, decided, spec, channel, thread_ts, card_ts))


def run_approved(deps: ApprovalDeps, p: Proposal, spec: ActionSpec, channel: str, thread_ts: str, card_ts: str) -> None:
    """The approved write (exactly once: only the claim's winner gets here), then verification."""
    post = deps.replies.post_text_safely
    ran, done = flow.execute(p, spec, deps.services)
    _update(deps, channel, card_ts, ran)
    if done is None:
        post(channel, thread_ts, f":x: {escape(p.action)} on {escape(p.label)} failed: {escape(ran.result)}")
        return
    post(channel, thread_ts, f":gear: <@{escape(p.decided_by)}> approved; {escape(ran.result)} "
                             f"(AWS request id `{escape(ran.request_id)}`). Verifying…")
    checked = flow.verify(ran, spec, done, deps.services)
    _update(deps, channel, card_ts, checked)
    mark = ":white_check_mark:" if checked.status == "verified" else ":warning:"
    post(channel, thread_ts, f"{mark} Verification of {escape(p.action)} on {escape(p.label)}: "
                             f"{escape(checked.verification)}")


def _update(deps: ApprovalDeps, channel: str, ts: str, p: Proposal) -> None:
    message = card(p)
    try:
        deps.poster.call("chat.update", channel=channel, ts=ts, text=message.text, blocks=message.blocks)
    except PostError as exc:  # the thread still gets the result; a stale card is logged
        log.warning("proposal_card_update_failed", proposal=p.id, error=str(exc))
