"""Approved actions: who may request and who may approve each action, per account; the role actions run
under; the SSM documents that may be run and what their parameters may contain.

Kept apart from ``bot.config`` because the shapes are nested and their validation is a topic of its own.
Action names themselves are the capability entries' (``handlers.registry``); ``bot.runtime`` checks that
every rule names a declared action, since configuration may not import the handlers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

ANY_ACCOUNT = "*"
# Slack ids: users start with U or W, user groups with S.
_PRINCIPAL = re.compile(r"^[UWS][A-Za-z0-9_-]{1,40}$")
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ACTION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
_DOCUMENT = re.compile(r"^[\w.:/-]{3,128}$")


@dataclass(frozen=True)
class ActionRule:
    """Who may propose and who may approve one action in one account (or ``*``, every account)."""

    request: tuple[str, ...]
    approve: tuple[str, ...]

    @staticmethod
    def allows(principals: tuple[str, ...], user: str, groups: frozenset[str]) -> bool:
        return user in principals or bool(groups & set(principals))


def _yaml(value: Any) -> Any:
    return yaml.safe_load(value) if isinstance(value, str) and value.strip() else value or {}


def _ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(v).strip() for v in value or () if str(v).strip())


def parse_action_rules(value: Any) -> dict[str, dict[str, ActionRule]]:
    """``{action: {account or "*": {request: [ids], approve: [ids]}}}`` (YAML in the file, JSON in env)."""
    value = _yaml(value)
    if not isinstance(value, Mapping):
        raise ValueError("must be a mapping of action → account → {request, approve}")
    out: dict[str, dict[str, ActionRule]] = {}
    for action, accounts in value.items():
        if not isinstance(accounts, Mapping):
            raise ValueError(f"action {action!r} must map account names (or '*') to {{request, approve}}")
        out[str(action)] = {}
        for account, body in accounts.items():
            if not isinstance(body, Mapping) or set(body) - {"request", "approve"}:
                raise ValueError(f"{action}/{account}: only the keys request and approve are allowed")
            out[str(action)][str(account)] = ActionRule(_ids(body.get("request")), _ids(body.get("approve")))
    return out


def parse_ssm_documents(value: Any) -> dict[str, dict[str, str]]:
    """``{document: {parameter: regex}}``: the documents that may be run and each parameter's pattern."""
    value = _yaml(value)
    if not isinstance(value, Mapping):
        raise ValueError("must be a mapping of document name → {parameter: regex}")
    out: dict[str, dict[str, str]] = {}
    for doc, params in value.items():
        if params is not None and not isinstance(params, Mapping):
            raise ValueError(f"document {doc!r} must map parameter names to regular expressions")
        out[str(doc)] = {str(k): str(v) for k, v in (params or {}).items()}
    return out


class ActionSettings(Protocol):
    """What action validation reads (``bot.config.Settings`` has it)."""

    @property
    def actions_enabled(self) -> bool: ...
    @property
    def action_rules(self) -> Mapping[str, Mapping[str, ActionRule]]: ...
    @property
    def action_roles(self) -> Mapping[str, str]: ...
    @property
    def action_ssm_documents(self) -> Mapping[str, Mapping[str, str]]: ...
    @property
    def accounts(self) -> Mapping[str, Any]: ...


def action_groups(s: ActionSettings) -> tuple[str, ...]:
    """The Slack user groups the rules name (the Slack edge looks up their members)."""
    return tuple(sorted({p for acc in s.action_rules.values() for r in acc.values()
                         for p in (*r.request, *r.approve) if p.startswith("S")}))


def action_problems(s: ActionSettings) -> list[str]:
    problems: list[str] = []
    known = set(s.accounts) or {"default"}
    for action, accounts in s.action_rules.items():
        if not _ACTION_NAME.match(action):
            problems.append(f"CLOUDOPS_ACTION_RULES: {action!r} is not an action name")
        for account, rule in accounts.items():
            where = f"CLOUDOPS_ACTION_RULES[{action}][{account}]"
            if account != ANY_ACCOUNT and account not in known:
                problems.append(f"{where}: unknown account (known: {', '.join(sorted(known))}, or '*')")
            if not rule.approve:
                problems.append(f"{where}: approve is empty, so nobody could approve it")
            bad = [p for p in (*rule.request, *rule.approve) if not _PRINCIPAL.match(p)]
            problems += [f"{where}: {p!r} is not a Slack user (U…/W…) or user group (S…) id" for p in bad]
    for account, arn in s.action_roles.items():
        if account not in known:
            problems.append(f"CLOUDOPS_ACTION_ROLES: unknown account {account!r}")
        if not _ROLE_ARN.match(arn):
            problems.append(f"CLOUDOPS_ACTION_ROLES[{account}]: {arn!r} is not an IAM role ARN")
    if s.actions_enabled:
        if not s.action_rules:
            problems.append("CLOUDOPS_ACTIONS_ENABLED needs CLOUDOPS_ACTION_RULES (who may request and approve)")
        named = {a for accounts in s.action_rules.values() for a in accounts}
        needing = known if ANY_ACCOUNT in named else named
        missing = sorted(a for a in needing if a not in s.action_roles)
        if missing:
            problems.append(f"CLOUDOPS_ACTION_ROLES has no action role for account(s) {', '.join(missing)}: "
                            "actions run only under their own role (deploy/iam-actions.md)")
    for doc, params in s.action_ssm_documents.items():
        if not _DOCUMENT.match(doc):
            problems.append(f"CLOUDOPS_ACTION_SSM_DOCUMENTS: {doc!r} is not an SSM document name")
        for name, pattern in params.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"CLOUDOPS_ACTION_SSM_DOCUMENTS[{doc}][{name}]: bad regular expression ({exc})")
    return problems
