"""The cross-account policies let exactly the bot's role into the read-only roles, and nothing else.

deploy/iam-cross-account-trust.json is the trust policy of the read-only role in each target account;
deploy/iam-policy-assume.json is what the bot's own role gets to assume those roles. A trust policy with a
wildcard principal, or an assume permission on `*`, would let far more than the bot read production, and
an operator would only find out from an audit. deploy/iam-cross-account.md shows both inline and the
settings that must agree with them (external id, session name, role ARNs): the copies must not drift.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import SPECS, load_settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
TRUST = DEPLOY / "iam-cross-account-trust.json"
ASSUME = DEPLOY / "iam-policy-assume.json"
DOC = DEPLOY / "iam-cross-account.md"
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")
BOT_ACCOUNT = "111111111111"  # the placeholder for the bot's own account in the templates


def _policy(path: Path) -> dict[str, Any]:
    policy = json.loads(path.read_text())
    assert policy["Version"] == "2012-10-17", path.name
    assert isinstance(policy["Statement"], list) and policy["Statement"], path.name
    return dict(policy)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(path: Path) -> list[dict[str, Any]]:
    statements = _policy(path)["Statement"]
    for st in statements:
        assert st["Effect"] == "Allow", f"{path.name}: only Allow statements"
        for negated in ("NotAction", "NotResource", "NotPrincipal"):
            assert negated not in st, f"{path.name}: {negated} grants everything it does not name"
    return list(statements)


def _target_roles() -> list[str]:
    return [arn for st in _statements(ASSUME) for arn in _list(st["Resource"])]


def _trust_condition(key: str) -> str:
    values = {st["Condition"]["StringEquals"][key] for st in _statements(TRUST)}
    assert len(values) == 1, f"one {key} for every statement: {values}"
    return str(values.pop())


def _default(name: str, fallback: Any) -> Any:
    return SPECS[name].default if name in SPECS else fallback


# --- the trust policy of the read-only role in each target account -----------------------------------------

def test_trust_policy_allows_only_assume_role_by_the_bots_role() -> None:
    for st in _statements(TRUST):
        assert _list(st["Action"]) == ["sts:AssumeRole"], "no TagSession, SetSourceIdentity or web identity"
        assert set(st["Principal"]) == {"AWS"}, "only an IAM principal: no Service, Federated or *"
        for principal in _list(st["Principal"]["AWS"]):
            assert "*" not in principal and "?" not in principal, f"wildcard principal {principal}"
            match = ROLE_ARN.match(principal)
            assert match, f"{principal} is not a role ARN: trust the bot's role, not a whole account (:root)"
            assert match.group(1) == BOT_ACCOUNT
        assert "Resource" not in st, "a trust policy's resource is the role it is attached to"


def test_trust_policy_requires_the_external_id_and_the_session_name() -> None:
    for st in _statements(TRUST):
        equals = st.get("Condition", {}).get("StringEquals", {})
        external_id = equals.get("sts:ExternalId")
        assert isinstance(external_id, str) and external_id, "sts:ExternalId must be required (StringEquals)"
        assert not set(external_id) & set("*?"), "StringEquals with a wildcard is a literal that never matches"
        assert re.fullmatch(r"[\w+=,.@:/-]{2,1224}", external_id), f"{external_id!r} is not a valid external id"
        assert equals.get("sts:RoleSessionName") == _default("sts_session_name", "cloudops-bot"), (
            "the session name in the trust policy is not the one the bot uses (CLOUDOPS_STS_SESSION_NAME)")
        others = set(st["Condition"]) - {"StringEquals"}
        assert not others, f"unexpected condition operators {others}: keep the template exact"


# --- the bot's own permission to assume them ---------------------------------------------------------------

def test_assume_policy_grants_only_assume_role_on_specific_roles() -> None:
    targets = _target_roles()
    assert targets
    for st in _statements(ASSUME):
        assert _list(st["Action"]) == ["sts:AssumeRole"], f"{st['Action']}: only sts:AssumeRole"
    for arn in targets:
        assert "*" not in arn and "?" not in arn, f"wildcard resource {arn}: name each target account's role"
        match = ROLE_ARN.match(arn)
        assert match, f"{arn} is not a role ARN"
        assert match.group(1) != BOT_ACCOUNT, "the bot reads its own account with its own role, no AssumeRole"


def test_parliament_finds_nothing_serious_in_either_policy() -> None:
    """parliament (offline, AWS's IAM definitions): known action, known condition keys, well-formed ARNs.

    parliament reads every policy as an identity policy and calls a statement without Resource malformed;
    a trust policy's resource is the role it is attached to, so it is checked with that role filled in.
    """
    parliament = pytest.importorskip("parliament")
    assert len(parliament.expand_action("sts:AssumeRole")) == 1
    trust = _policy(TRUST)
    for st in trust["Statement"]:
        st["Resource"] = _target_roles()
    for name, text in (("assume", ASSUME.read_text()), ("trust", json.dumps(trust))):
        findings = [parliament.enhance_finding(f) for f in parliament.analyze_policy_string(text).findings]
        serious = [(f.issue, f.detail) for f in findings if f.severity not in {"LOW", "INFO"}]
        assert not serious, (name, serious)


# --- the runbook shows the same policies and a configuration that fits them ----------------------------------

def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)


def test_the_runbooks_policies_are_the_files() -> None:
    shown = [json.loads(block) for block in _blocks("json")]
    files = [_policy(TRUST), _policy(ASSUME)]
    assert sorted(map(json.dumps, shown)) == sorted(map(json.dumps, files)), (
        "deploy/iam-cross-account.md shows a policy that differs from the JSON files; update one from the other")
    text = DOC.read_text()
    for path in (TRUST, ASSUME):
        assert f"]({path.name})" in text, f"the runbook does not link {path.name}"


def test_the_runbooks_config_fits_the_policies(tmp_path: Path) -> None:
    if "accounts" not in SPECS:
        pytest.skip("multi-account settings are not in bot/config.py yet")
    (snippet,) = [b for b in _blocks("yaml") if "accounts:" in b]
    (tmp_path / "config.yaml").write_text(snippet)
    settings = load_settings({"CLOUDOPS_CONFIG": str(tmp_path / "config.yaml")})  # raises ConfigError if wrong
    assumed = [a for a in settings.accounts.values() if a.role_arn]
    assert assumed, "the example should assume at least one role"
    assert {a.role_arn for a in assumed} <= set(_target_roles()), "a role the bot's policy does not let it assume"
    assert {a.external_id for a in assumed} == {_trust_condition("sts:ExternalId")}, "not the trust's external id"
    assert settings.sts_session_name == _trust_condition("sts:RoleSessionName"), "not the trust's session name"
    assert settings.default_account in settings.accounts
    own = [a for a in settings.accounts.values() if not a.role_arn and not a.profile]
    assert own, "the example should show an account read with the bot's own credentials"


def test_the_runbook_documents_every_account_setting() -> None:
    names = ("accounts", "default_account", "channel_scopes", "sts_session_name", "sts_duration_s",
             "fanout_parallelism")
    missing = [n for n in names if n not in SPECS]
    if missing:
        pytest.skip(f"not in bot/config.py yet: {missing}")
    text = DOC.read_text()
    for name in names:
        spec = SPECS[name]
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{spec.env}`")), None)
        assert row is not None, f"{spec.env} is not in the runbook's settings table"
        if isinstance(spec.default, (int, str)) and spec.default != "":
            assert f"| `{spec.default}` |" in row, f"{spec.env}: the runbook's default differs from {spec.default!r}"


def test_session_length_fits_role_chaining() -> None:
    """The bot's own credentials are a role session, so AssumeRole is role chaining: one hour at most."""
    duration = _default("sts_duration_s", 3600)
    assert 900 <= int(duration) <= 3600, f"CLOUDOPS_STS_DURATION_S default {duration}: AWS refuses > 3600 here"


def test_the_configmap_example_is_the_runbooks() -> None:
    """The commented accounts example in the ConfigMap, uncommented, is the runbook's example."""
    configmap = yaml.safe_load((DEPLOY / "k8s" / "configmap.yaml").read_text())
    lines = configmap["data"]["config.yaml"].splitlines()
    if "# accounts:" not in lines:
        pytest.skip("the ConfigMap has no accounts example")
    example = []
    for line in lines[lines.index("# accounts:"):]:
        if not line.startswith("#"):
            break
        example.append(line[2:])
    (snippet,) = [b for b in _blocks("yaml") if "accounts:" in b]
    assert yaml.safe_load("\n".join(example)) == yaml.safe_load(snippet)
