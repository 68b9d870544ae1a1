"""Approved actions below the Slack edge: configuration validated at start-up, the two-person rules of a
decision (user groups included), a claim that exactly one of many concurrent deciders wins (in one
process and across two Redis clients standing for two replicas), no approval while the shared store is
failing over, and each action's parameter checks against moto. End to end: tests/test_e2e_actions.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.aws.session import AwsClients
from bot.config import Settings
from bot.errors import ConfigError, NotAllowedError, UserInputError
from bot.metrics import Metrics
from bot.store import MemoryStore
from bot.store_redis import RedisStore, ResilientStore
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from handlers import registry
from handlers.actions import flow
from handlers.actions.proposals import APPROVED, PENDING, REJECTED, Proposal, Proposals, new_id
from handlers.services import Services
from tests.test_store_redis import REDIS_BIN, RedisProcess

ROLE = "arn:aws:iam::123456789012:role/cloudops-actions"
RULES = {"ec2-reboot": {"*": {"request": ["U-req"], "approve": ["U-boss", "S-leads"]}}}


def _settings(**extra: Any) -> Settings:
    values: dict[str, Any] = {"actions_enabled": True, "action_rules": json.dumps(RULES),
                              "action_roles": {"default": ROLE}, **extra}
    return Settings.from_values(values)


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # decisions never call AWS
    svc = Services.build(_settings(), Metrics(), store=MemoryStore())
    yield svc
    svc.close()


def _pending(services: Services, **changes: Any) -> Proposal:
    now = services.clock().timestamp()
    p = Proposal(id=new_id(), action="ec2-reboot", account="default", region="us-east-1", target="i-0abc",
                 label="web-1 (i-0abc)", effect="restarts", checks=("state: running",), params={},
                 requester="U-req", channel="C1", thread_ts="1.0", created=now, expires=now + 900)
    p = p.with_(**changes)
    Proposals(services.store).put(p, now)
    return p


# --- configuration ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("values", "problem"), [
    ({"actions_enabled": True}, "needs CLOUDOPS_ACTION_RULES"),
    ({"actions_enabled": True, "action_rules": RULES}, "no action role for account(s) default"),
    ({"action_rules": {"ec2-reboot": {"prod": {"approve": ["U1"]}}}}, "unknown account"),
    ({"action_rules": {"ec2-reboot": {"*": {"request": ["U1"]}}}}, "approve is empty"),
    ({"action_rules": {"ec2-reboot": {"*": {"approve": ["alice"]}}}}, "is not a Slack user (U…/W…) or user group"),
    ({"action_rules": {"ec2-reboot": {"*": {"approve": ["U1"], "allow": ["U2"]}}}},
     "only the keys request and approve"),
    ({"action_roles": {"default": "arn:aws:iam::1:role/x"}}, "is not an IAM role ARN"),
    ({"action_ssm_documents": {"AWS-RestartService": {"ServiceName": "[a-"}}}, "bad regular expression"),
])
def test_action_settings_are_validated_at_start_up(values: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as bad:
        Settings.from_values(values)
    assert problem in str(bad.value)


def test_a_rule_naming_an_undeclared_action_stops_the_bot_at_start_up() -> None:
    from bot.runtime import Bot

    rules = {"ec2-terminate": {"*": {"request": ["U1"], "approve": ["U2"]}}}
    with pytest.raises(ConfigError, match=r"unknown action.*ec2-terminate"):
        Bot(_settings(action_rules=json.dumps(rules)))


def test_check_config_names_an_undeclared_action(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from bot.__main__ import main

    monkeypatch.setenv("CLOUDOPS_ACTION_RULES", json.dumps({"ec2-nuke": {"*": {"approve": ["U1"]}}}))
    assert main(["check-config"]) == 2
    assert "unknown action(s) ec2-nuke" in capsys.readouterr().err


def test_actions_are_off_by_default_and_every_declared_action_is_an_action_class_entry() -> None:
    assert Settings.from_values().actions_enabled is False
    assert set(registry.action_names()) == {"ec2-reboot", "ec2-stop", "ec2-start", "ecs-redeploy", "ecs-rollback",
                                            "asg-capacity", "ssm-run"}
    for name in registry.action_names():
        assert registry.BY_VERB[name].access == "action"
    assert registry.BY_VERB["do"].access == "action"


# --- deciding ----------------------------------------------------------------------------------------------

def test_a_member_of_an_approver_group_may_approve_and_the_requester_may_only_withdraw(services: Services) -> None:
    p = _pending(services)
    with pytest.raises(NotAllowedError, match="someone else must approve"):
        flow.decide(p.id, "U-req", frozenset({"S-leads"}), True, services)  # even in the approver group
    with pytest.raises(NotAllowedError, match="not an approver"):
        flow.decide(p.id, "U-nobody", frozenset({"S-other"}), True, services)
    decided = flow.decide(p.id, "U-lead", frozenset({"S-leads"}), True, services)
    assert decided.status == APPROVED and decided.decided_by == "U-lead"
    withdrawn = flow.decide(_pending(services).id, "U-req", frozenset(), False, services)
    assert withdrawn.status == REJECTED
    with pytest.raises(NotAllowedError, match="not an approver"):
        flow.decide(_pending(services).id, "U-nobody", frozenset(), False, services)


def test_of_many_concurrent_deciders_exactly_one_wins(services: Services) -> None:
    p = _pending(services)
    wins: list[str] = []
    refusals: list[str] = []
    start = threading.Barrier(16)

    def click(i: int) -> None:
        start.wait()
        try:
            wins.append(flow.decide(p.id, "U-boss", frozenset(), i % 2 == 0, services).status)
        except NotAllowedError as exc:
            refusals.append(exc.message)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(refusals) == 15
    assert Proposals(services.store).get(p.id).status == wins[0]  # type: ignore[union-attr]


@pytest.mark.skipif(REDIS_BIN is None, reason="redis-server binary not found")
def test_two_replicas_on_one_redis_claim_a_proposal_once(tmp_path: Path) -> None:
    proc = RedisProcess(tmp_path)
    proc.start()
    try:
        replicas = [Proposals(RedisStore(proc.url)) for _ in range(2)]
        pid = new_id()
        claims = [replicas[i % 2].claim(pid) for i in range(6)]
        assert claims.count(True) == 1 and claims[0] is True
    finally:
        proc.kill()


def test_no_approval_while_the_shared_store_is_failing_over(services: Services) -> None:
    class Down(MemoryStore):
        def first_time(self, key: str, ttl_s: float) -> bool:
            raise ConnectionError("redis down")

    services.store = ResilientStore(Down(), MemoryStore())
    services.store.first_time("probe", 1.0)  # the failure that makes it degraded
    p = _pending(services)
    with pytest.raises(NotAllowedError, match="cannot make sure this runs only once"):
        flow.decide(p.id, "U-boss", frozenset(), True, services)
    assert Proposals(services.store).get(p.id).status == PENDING  # type: ignore[union-attr]


def test_a_proposal_past_its_expiry_cannot_be_approved(services: Services) -> None:
    p = _pending(services, expires=services.clock().timestamp() - 1)
    with pytest.raises(NotAllowedError, match="expired"):
        flow.decide(p.id, "U-boss", frozenset(), True, services)


# --- each action's own checks, against moto ---------------------------------------------------------------

@pytest.fixture(scope="module")
def moto_eu(aws: tuple[MotoSandbox, SeededIncident]) -> dict[str, Any]:
    """Resources of these tests' own in eu-west-1, apart from the seeded incident and the e2e tests'."""
    kw: dict[str, Any] = {"endpoint_url": aws[0].endpoint_url, "region_name": "eu-west-1"}
    ec2 = boto3.client("ec2", **kw)
    iid = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                            TagSpecifications=[{"ResourceType": "instance",
                                                "Tags": [{"Key": "Name", "Value": "unit-ssm"}]}])["Instances"][0]
    asg = boto3.client("autoscaling", **kw)
    asg.create_launch_configuration(LaunchConfigurationName="unit-lc", ImageId="ami-12c6146b", InstanceType="t3.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="unit-asg", LaunchConfigurationName="unit-lc", MinSize=1,
                                  MaxSize=3, DesiredCapacity=2, AvailabilityZones=["eu-west-1a"])
    return {"instance": iid["InstanceId"], "endpoint": aws[0].endpoint_url}


def _actor(moto_eu: dict[str, Any]) -> AwsClients:
    session = boto3.session.Session(region_name="eu-west-1")
    return AwsClients(Settings.from_values(aws_max_attempts=1), session=session, region="eu-west-1", warm=False)


def test_capacity_outside_min_max_or_unchanged_is_not_proposed(moto_eu: dict[str, Any]) -> None:
    spec = registry.action_spec("asg-capacity")
    assert spec is not None
    actor, settings = _actor(moto_eu), Settings.from_values()
    assert "outside the group's min 1 / max 3" in spec.plan(actor, ["unit-asg", "5"], settings).blocked
    assert "already wants 2" in spec.plan(actor, ["unit-asg", "2"], settings).blocked
    plan = spec.plan(actor, ["unit-asg", "3"], settings)
    assert not plan.blocked and "desired capacity 2 → 3" in plan.effect
    with pytest.raises(UserInputError):
        spec.plan(actor, ["unit-asg", "three"], settings)


@pytest.mark.parametrize(("words", "problem"), [
    (["document=AWS-RunShellScript", "commands=rm -rf /"], "not on the allowlist"),
    (["document=AWS-RestartService", "ServiceName=nginx;reboot"], "does not match the allowed pattern"),
    (["document=AWS-RestartService", "ServiceName=nginx", "Extra=1"], "takes no parameter 'Extra'"),
    (["document=AWS-RestartService"], "needs ServiceName"),
    (["ServiceName"], "is not key=value"),
])
def test_ssm_documents_and_parameters_are_checked_against_the_allowlist(moto_eu: dict[str, Any], words: list[str],
                                                                      problem: str) -> None:
    spec = registry.action_spec("ssm-run")
    assert spec is not None
    settings = Settings.from_values(action_ssm_documents={"AWS-RestartService": {"ServiceName": "[a-z0-9-]{1,40}"}})
    with pytest.raises(UserInputError, match=problem):
        spec.plan(_actor(moto_eu), ["unit-ssm", *words], settings)
    plan = spec.plan(_actor(moto_eu), ["unit-ssm", "document=AWS-RestartService", "ServiceName=nginx"], settings)
    assert plan.params == {"document": "AWS-RestartService", "ServiceName": "nginx"} and not plan.blocked
