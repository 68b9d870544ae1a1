"""deploy/iam-policy-actions.json grants the action role exactly what the action code calls on it, its
trust lets only the bot's role in (external id, `cloudops-*` session names), and the bot's own role may
assume only the listed action roles. deploy/iam-actions.md shows the same documents and a configuration
that fits them.

What the action role is called for: statically, every ``actor.call("service", "Operation")`` in bot/aws
(the action code's name for the action-role clients); by declaration, the ``iam_actions`` of each action
capability; dynamically, tests/test_e2e_actions.py checks each call the recording proxy saw signed by the
assumed role against this same policy.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import load_settings
from handlers import registry

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "deploy" / "iam-policy-actions.json"
TRUST = ROOT / "deploy" / "iam-actions-trust.json"
ASSUME = ROOT / "deploy" / "iam-policy-actions-assume.json"
READ_POLICY = ROOT / "deploy" / "iam-policy.json"
DOC = ROOT / "deploy" / "iam-actions.md"
WRITES = {"ec2:RebootInstances", "ec2:StopInstances", "ec2:StartInstances", "ecs:UpdateService",
          "autoscaling:SetDesiredCapacity", "ssm:SendCommand"}
READ_VERBS = ("Describe", "Get", "List")
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")


def _statements(path: Path) -> list[dict[str, Any]]:
    policy = json.loads(path.read_text())
    assert policy["Version"] == "2012-10-17"
    for st in policy["Statement"]:
        assert st["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(st), path.name
    return list(policy["Statement"])


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actions(path: Path) -> list[str]:
    return [a for st in _statements(path) for a in _list(st["Action"])]


def _actor_calls() -> set[str]:
    found: set[str] = set()
    for path in sorted((ROOT / "bot" / "aws").glob("act_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "call"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "actor"):
                names = [a.value for a in node.args[:2] if isinstance(a, ast.Constant)]
                assert len(names) == 2, f"{path.name}:{node.lineno}: name the service and operation literally"
                found.add(f"{names[0]}:{names[1]}")
    return found


def test_the_policy_grants_exactly_what_the_action_code_calls_and_the_actions_declare() -> None:
    granted = _actions(POLICY)
    assert len(granted) == len(set(granted)), "an action is listed twice"
    assert set(granted) == _actor_calls() == set(registry.action_iam_actions())


def test_the_only_writes_are_the_allowlisted_ones_and_nothing_is_a_wildcard() -> None:
    for action in _actions(POLICY):
        assert "*" not in action and "?" not in action, action
        assert action in WRITES or action.split(":")[1].startswith(READ_VERBS), f"{action} is an unlisted write"
    assert set(_actions(POLICY)) >= WRITES
    for st in _statements(POLICY):
        if set(_list(st["Action"])) & WRITES:
            assert "*" not in _list(st["Resource"]), f"{st['Sid']}: writes are scoped to a resource type"


def test_the_read_only_role_is_untouched_by_actions() -> None:
    assert not WRITES & set(_actions(READ_POLICY))
    assert not set(registry.action_iam_actions()) - set(_actions(POLICY))
    for cap in registry.CAPABILITIES:
        if cap.action is not None:
            assert cap.aws_actions == (), f"{cap.verb}: action entries call nothing under the read-only role"


def test_the_trust_lets_only_the_bots_role_in_with_the_external_id_and_a_cloudops_session_name() -> None:
    for st in _statements(TRUST):
        assert _list(st["Action"]) == ["sts:AssumeRole"]
        principals = _list(st["Principal"]["AWS"])
        assert set(st["Principal"]) == {"AWS"} and all(ROLE_ARN.match(p) for p in principals), principals
        cond = st["Condition"]
        assert set(cond) == {"StringEquals", "StringLike"}
        assert re.fullmatch(r"[\w+=,.@:/-]{2,1224}", cond["StringEquals"]["sts:ExternalId"])
        assert cond["StringLike"] == {"sts:RoleSessionName": "cloudops-*"}


def test_the_bot_may_assume_only_named_action_roles() -> None:
    for st in _statements(ASSUME):
        assert _list(st["Action"]) == ["sts:AssumeRole"]
        for arn in _list(st["Resource"]):
            assert "*" not in arn and ROLE_ARN.match(arn) and arn.endswith(":role/cloudops-actions"), arn


def test_the_session_names_the_bot_uses_fit_the_trust() -> None:
    from handlers.actions.flow import session_name

    for name in (session_name("check", "U0ALICE"), session_name("act", "U0BOB", "0123456789ab"),
                 session_name("act", "W" + "x" * 80, "0123456789ab")):
        assert name.startswith("cloudops-") and re.fullmatch(r"[\w+=,.@-]{2,64}", name), name
    assert "U0BOB" in session_name("act", "U0BOB", "0123456789ab")


def test_parliament_finds_nothing_serious() -> None:
    parliament = pytest.importorskip("parliament")
    for action in [*_actions(POLICY), "sts:AssumeRole"]:
        assert len(parliament.expand_action(action)) == 1, action
    for path in (POLICY, ASSUME):
        findings = [parliament.enhance_finding(f) for f in parliament.analyze_policy_string(path.read_text()).findings]
        serious = [(f.issue, f.detail) for f in findings if f.severity not in {"LOW", "INFO"}]
        assert not serious, (path.name, serious)


def test_the_runbook_shows_the_files_and_a_configuration_that_fits_them(tmp_path: Path) -> None:
    text = DOC.read_text()
    shown = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]
    files = [json.loads(p.read_text()) for p in (POLICY, TRUST, ASSUME)]
    assert sorted(map(json.dumps, shown)) == sorted(map(json.dumps, files))
    (snippet,) = re.findall(r"```yaml\n(.*?)```", text, re.S)
    (tmp_path / "c.yaml").write_text(snippet)
    settings = load_settings({"CLOUDOPS_CONFIG": str(tmp_path / "c.yaml")})  # raises ConfigError if wrong
    assert set(settings.action_rules) <= set(registry.action_names())
    assumable = {arn for st in _statements(ASSUME) for arn in _list(st["Resource"])}
    assert set(settings.action_roles.values()) <= assumable
    trust = _statements(TRUST)[0]["Condition"]["StringEquals"]["sts:ExternalId"]
    assert settings.action_external_id == trust
    assert yaml.safe_load(snippet)["actions_enabled"] is True
