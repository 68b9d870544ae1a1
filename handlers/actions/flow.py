"""The life of a proposal, transport-free: propose → approve or reject → execute once → verify.

Every step writes one audit line (``cloudops.audit`` event ``action``: stage, proposal, action, account,
region, target, requester, approver, AWS request id, outcome) and counts ``cloudops_approved_actions``.
Refusals are ``NotAllowedError`` with a message the edge shows privately to whoever clicked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from bot.aws.accounts import Target
from bot.aws.session import AwsClients
from bot.config_actions import ANY_ACCOUNT, ActionRule
from bot.errors import CloudOpsError, NotAllowedError, UserInputError
from bot.models import Request
from handlers.action_spec import ActionSpec, Done, Plan
from handlers.actions.proposals import (
    APPROVED,
    EXECUTED,
    FAILED,
    PENDING,
    REJECTED,
    UNVERIFIED,
    VERIFIED,
    Proposal,
    Proposals,
    new_id,
    note,
)
from handlers.capability import Access
from handlers.guard import check_access
from handlers.scope import single_target, split_scope
from handlers.services import Services

log = structlog.get_logger("cloudops.audit")
_SESSION_CHARS = re.compile(r"[^\w+=,.@-]")


def audit(stage: str, p: Proposal, outcome: str, services: Services, **extra: object) -> None:
    """One line per step, and the metric by action, stage and outcome."""
    services.metrics.action_events.labels(p.action, stage, outcome).inc()
    log.info("action", stage=stage, proposal=p.id, action=p.action, account=p.account, region=p.region,
             target=p.target, requester=p.requester, approver=p.decided_by or None,
             aws_request_id=p.request_id or None, outcome=outcome, **extra)


def rule_for(services: Services, action: str, account: str) -> ActionRule | None:
    accounts = services.settings.action_rules.get(action, {})
    return accounts.get(account) or accounts.get(ANY_ACCOUNT)


def session_name(kind: str, user: str, pid: str = "") -> str:
    """RoleSessionName (2-64 of [\\w+=,.@-]): CloudTrail then names the person each call was made for."""
    return _SESSION_CHARS.sub("-", "-".join(x for x in ("cloudops", kind, user, pid) if x))[:64]


def actor(services: Services, target: Target, name: str) -> AwsClients:
    role = services.settings.action_roles.get(target.account, "")
    if not role or services.accounts is None:
        raise NotAllowedError(f"no action role is configured for account {target.account}",
                              "the operator sets CLOUDOPS_ACTION_ROLES (deploy/iam-actions.md)")
    return services.accounts.action_clients(target, role, session_name=name,
                                            external_id=services.settings.action_external_id)


def propose(request: Request, spec: ActionSpec, args: list[str], services: Services) -> Proposal:
    """Check who asks and the preconditions, then store a pending proposal; nothing is changed.

    The admission check runs here again because the model's ``propose_action`` reaches this through
    ``ask``, whose own access class is ``model``.
    """
    check_access(request, Access.ACTION, services.settings)
    rest, scope = split_scope(args, request, services)
    target = single_target(scope, services)
    rule = rule_for(services, spec.name, target.account)
    if rule is None or not rule.allows(rule.request, request.user, request.user_groups):
        raise NotAllowedError(f"you may not propose {spec.name} in account {target.account}",
                              "ask the bot's operator (CLOUDOPS_ACTION_RULES)")
    if not rest:
        raise UserInputError(f"{spec.name} needs a target", f"`/cloudops do {spec.name} {spec.target_usage}`")
    plan = spec.plan(actor(services, target, session_name("check", request.user)), rest, services.settings)
    now = services.clock().timestamp()
    clean = services.scrub  # names, tags and AWS messages are untrusted: they end up on a card and in logs
    p = Proposal(id=new_id(), action=spec.name, account=target.account, region=target.region, target=plan.target,
                 label=clean(plan.label)[:200], effect=clean(plan.effect)[:500],
                 checks=tuple(clean(c)[:300] for c in plan.checks), params=plan.params,
                 requester=request.user, channel=request.channel, thread_ts=request.thread_ts or "",
                 created=now, expires=now + services.settings.action_ttl_s)
    if plan.blocked:
        blocked = clean(plan.blocked)[:300]
        audit("proposal", p, "blocked", services, reason=blocked)
        raise NotAllowedError(f"not proposed: {blocked}", "; ".join(p.checks))
    Proposals(services.store).put(p, now)
    note(p.id)
    audit("proposal", p, "ok", services)
    return p


def _refuse(p: Proposal, stage: str, user: str, services: Services, message: str, hint: str = "") -> NotAllowedError:
    audit(stage, p, "refused", services, by=user, reason=message)
    return NotAllowedError(message, hint)


def decide(pid: str, user: str, groups: frozenset[str], approve: bool, services: Services) -> Proposal:
    """Approve or reject; returns the proposal as decided by ``user``, or raises ``NotAllowedError``."""
    store = Proposals(services.store)
    p = store.get(pid)
    stage = "approval" if approve else "rejection"
    if p is None:
        raise NotAllowedError("I no longer have that proposal", "propose it again if it is still needed")
    if p.status != PENDING:
        how = {REJECTED: "rejected", APPROVED: "approved"}.get(p.status, f"approved (now {p.status})")
        raise _refuse(p, stage, user, services, f"this proposal was already {how} by {p.decided_by}")
    now = services.clock().timestamp()
    if now >= p.expires:
        raise _refuse(p, stage, user, services, "this proposal has expired",
                      "propose it again to re-check its preconditions")
    rule = rule_for(services, p.action, p.account)
    approver = rule is not None and rule.allows(rule.approve, user, groups)
    if approve and user == p.requester:
        raise _refuse(p, stage, user, services, "you proposed this, so someone else must approve it")
    withdrawing = not approve and user == p.requester  # the requester may reject (withdraw) their own
    if not approver and not withdrawing:
        raise _refuse(p, stage, user, services, f"you are not an approver for {p.action} in {p.account}",
                      "ask one of the configured approvers (CLOUDOPS_ACTION_RULES)")
    if not store.shared_and_healthy:
        raise _refuse(p, stage, user, services, "the shared store is unreachable, so I cannot make sure this "
                      "runs only once", "try again in a minute")
    if not store.claim(pid):
        raise _refuse(p, stage, user, services, "someone else decided this proposal a moment ago")
    decided = p.with_(status=APPROVED if approve else REJECTED, decided_by=user)
    store.put(decided, now)
    audit(stage, decided, "ok", services)
    return decided


def execute(p: Proposal, spec: ActionSpec, services: Services) -> tuple[Proposal, Done | None]:
    """The one write, under the action role assumed for this approval."""
    target = Target(p.account, p.region)
    store = Proposals(services.store)
    try:
        clients = actor(services, target, session_name("act", p.decided_by, p.id))
        done = spec.execute(clients, _plan(p))
    except CloudOpsError as exc:
        failed = p.with_(status=FAILED, result=services.scrub(exc.message)[:500])
        store.put(failed, services.clock().timestamp())
        audit("execution", failed, "failed", services, reason=exc.message)
        return failed, None
    ran = p.with_(status=EXECUTED, request_id=done.request_id, result=services.scrub(done.summary)[:500],
                  done_params=done.params)
    store.put(ran, services.clock().timestamp())
    audit("execution", ran, "ok", services)
    return ran, done


def verify(p: Proposal, spec: ActionSpec, done: Done, services: Services,
           sleep: Callable[[float], None] = time.sleep) -> Proposal:
    """Look until the effect is there, it failed, or ``CLOUDOPS_ACTION_VERIFY_TIMEOUT`` passed."""
    s = services.settings
    clients = actor(services, Target(p.account, p.region), session_name("verify", p.decided_by, p.id))
    deadline = time.monotonic() + s.action_verify_timeout_s
    detail, outcome = "not checked", "timeout"
    while True:
        try:
            verdict = spec.verify(clients, _plan(p), done)
            detail = services.scrub(verdict.detail)[:300]
            if verdict.finished:
                outcome = "ok" if verdict.ok else "failed"
                break
        except CloudOpsError as exc:
            detail = services.scrub(exc.message)[:300]
        if time.monotonic() + s.action_verify_poll_s > deadline:
            detail = f"not confirmed within {s.action_verify_timeout_s}s: {detail}"
            break
        sleep(s.action_verify_poll_s)
    checked = p.with_(status=VERIFIED if outcome == "ok" else UNVERIFIED, verification=detail)
    Proposals(services.store).put(checked, services.clock().timestamp())
    audit("verification", checked, outcome, services, detail=detail)
    return checked


def _plan(p: Proposal) -> Plan:
    return Plan(target=p.target, label=p.label, effect=p.effect, checks=p.checks, params=dict(p.params))


def expires_text(p: Proposal) -> str:
    return datetime.fromtimestamp(p.expires, UTC).strftime("%H:%M UTC")
