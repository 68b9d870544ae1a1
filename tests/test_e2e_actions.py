"""Approved actions end to end: two bot replicas sharing a real Redis, one Slack emulator that hands each
click to either replica, moto behind a recording proxy that counts write calls at the AWS edge.

Clicks come from different users: the requester cannot approve their own proposal, only configured
approvers can, rejected and expired proposals cannot be approved, and a double click, a second approver at
the same moment and a redelivered interaction still make exactly one AWS write. The action runs under the
assumed action role (its session name carries the approver), never the bot's own credentials.

moto: EC2 DryRun answers DryRunOperation like AWS; status checks are always ok; ECS deployments never
leave IN_PROGRESS (so ECS verification reports its timeout here); SSM records commands without running
them and reports Success.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from structlog.testing import capture_logs

from bot.runtime import Bot
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from cloudops_demo.story import PEER_VARIABLES
from tests.harness import Running, bot_settings, text_of
from tests.peers.aws_recorder import AwsCall, RecordingProxy
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall
from tests.test_store_redis import REDIS_BIN, RedisProcess

pytestmark = pytest.mark.skipif(REDIS_BIN is None, reason="redis-server binary not found (Debian package)")

REGION = "us-west-2"  # the seeded incident lives in us-east-1: these resources never show up in its answers
ROLE = "arn:aws:iam::123456789012:role/cloudops-actions"
REQ, OTHER, BOSS, BOSS2, LEADS = "U-req", "U-other", "U-boss", "U-boss2", "S-leads"
ACTIONS = ("ec2-reboot", "ec2-stop", "ec2-start", "ecs-redeploy", "ecs-rollback", "asg-capacity", "ssm-run")
POLICY = Path(__file__).resolve().parents[1] / "deploy" / "iam-policy-actions.json"


@dataclass
class Cluster:
    slack: SlackEmulator
    proxy: RecordingProxy
    bots: list[Bot]
    llm: FakeLLMServer
    instances: dict[str, str]

    @property
    def run(self) -> Running:
        return Running(self.bots[0], self.slack)

    def card(self, channel: str, root: str) -> dict[str, Any]:
        return next(m for m in self.slack.thread(channel, root) if "Proposed action" in text_of(m))

    def click(self, channel: str, card: dict[str, Any], action_id: str, user: str) -> str:
        value = next(e["value"] for b in card["blocks"] if b.get("type") == "actions"
                     for e in b["elements"] if e["action_id"] == action_id)
        return self.slack.send_block_action(channel=channel, message_ts=card["ts"], action_id=action_id,
                                            value=value, user=user, block_id="proposal")

    def told(self, channel: str, user: str, words: str, timeout: float = 10.0) -> bool:
        return self.slack.wait_for(lambda: any(e["user"] == user and words in str(e["text"])
                                               for e in self.slack.ephemerals(channel)), timeout)


def _seed(moto_url: str) -> dict[str, str]:
    kw: dict[str, Any] = {"endpoint_url": moto_url, "region_name": REGION}
    ec2 = boto3.client("ec2", **kw)
    ids = {}
    for name in ("act-web-1", "act-web-2", "act-web-3", "act-ssm"):
        ids[name] = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                      TagSpecifications=[{"ResourceType": "instance",
                                                          "Tags": [{"Key": "Name", "Value": name}]}],
                                      )["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[ids["act-web-3"]])
    ecs = boto3.client("ecs", **kw)
    ecs.create_cluster(clusterName="prod")
    for image in ("api:1", "api:2"):
        ecs.register_task_definition(family="act-api", containerDefinitions=[{"name": "api", "image": image,
                                                                              "memory": 128}])
    for name in ("api", "web"):
        ecs.create_service(cluster="prod", serviceName=name, taskDefinition="act-api:2", desiredCount=2)
    asg = boto3.client("autoscaling", **kw)
    asg.create_launch_configuration(LaunchConfigurationName="act-lc", ImageId="ami-12c6146b",
                                    InstanceType="t3.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="act-workers", LaunchConfigurationName="act-lc", MinSize=1,
                                  MaxSize=4, DesiredCapacity=1, AvailabilityZones=[f"{REGION}a"])
    return ids


@pytest.fixture(scope="module")
def cluster(aws: tuple[MotoSandbox, SeededIncident], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with ExitStack() as stack:
        redis_proc = RedisProcess(tmp_path_factory.mktemp("actions-redis"))
        redis_proc.start()
        stack.callback(redis_proc.kill)
        instances = _seed(aws[0].endpoint_url)
        proxy = RecordingProxy(aws[0].endpoint_url).start()
        stack.callback(proxy.stop)
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        mp.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)  # the bots' clients are made after this
        for peered in PEER_VARIABLES:  # the actions' ECS services live in moto, behind the recording proxy
            mp.delenv(peered, raising=False)
        slack = stack.enter_context(SlackEmulator(seed=19))
        llm = stack.enter_context(FakeLLMServer(api_key="sk-test"))
        slack.add_usergroup(LEADS, [BOSS2])  # BOSS2 approves as a member of the group, BOSS by name
        rules = {a: {"*": {"request": [REQ], "approve": [BOSS, LEADS]}} for a in ACTIONS}
        settings = bot_settings(
            slack, llm, aws_region=REGION, redis_url=redis_proc.url, actions_enabled=True,
            action_rules=json.dumps(rules), action_roles={"default": ROLE},
            action_ssm_documents={"AWS-RestartService": {"ServiceName": r"[a-z0-9-]{1,40}"}},
            action_verify_poll_s=0.2, action_verify_timeout_s=3)
        bots = []
        for _ in range(2):
            bot = Bot(settings).start(sidecar=False)
            stack.callback(bot.stop, 2)
            bots.append(bot)
        slack.wait_connected(2, timeout=20)
        yield Cluster(slack, proxy, bots, llm, instances)


def _granted() -> set[str]:
    return {a for st in json.loads(POLICY.read_text())["Statement"] for a in st["Action"]}


def _by_action_role(calls: list[AwsCall]) -> list[AwsCall]:
    """Calls signed by assumed-role credentials: the bot's own key is "testing" (tests/harness.py)."""
    return [c for c in calls if c.access_key != "testing"]


def _propose(c: Cluster, channel: str, text: str, user: str = REQ) -> tuple[str, dict[str, Any]]:
    parent, _ = c.run.command(text, channel=channel, user=user, replies=2)
    return parent["ts"], c.card(channel, parent["ts"])


def test_an_approved_reboot_runs_exactly_once_across_replicas_under_the_approvers_session(c: Cluster) -> None:
    with capture_logs() as logs:
        _approved_once(c)
    lines = [e for e in logs if e.get("event") == "action" and e.get("action") == "ec2-reboot"
             and e.get("outcome") == "ok"]
    by_stage = {e["stage"]: e for e in lines}
    assert [e["stage"] for e in lines] == ["proposal", "approval", "execution", "verification"], lines
    winner = by_stage["execution"]["approver"]  # whichever click a replica claimed first
    assert by_stage["execution"]["requester"] == REQ and winner in (BOSS, BOSS2)
    assert by_stage["execution"]["aws_request_id"] and by_stage["execution"]["target"] == c.instances["act-web-1"]
    refused = [e for e in logs if e.get("event") == "action" and e.get("outcome") == "refused"]
    assert {e["by"] for e in refused} >= {REQ, OTHER} and len(refused) == 5  # requester, other, 3 late clicks


def _approved_once(c: Cluster) -> None:
    ch, mark = "C-act-once", c.proxy.mark()
    root, card = _propose(c, ch, "do ec2-reboot act-web-1")
    text = text_of(card)
    assert "ec2-reboot" in text and "act-web-1" in text and f"default/{REGION}" in text
    assert "RebootInstances DryRun: AWS says it would succeed" in text and "state: running" in text
    assert "expires" in text and "Expected effect" in text
    c.click(ch, card, "proposal_approve", REQ)
    assert c.told(ch, REQ, "you proposed this, so someone else must approve it")
    c.click(ch, card, "proposal_approve", OTHER)
    assert c.told(ch, OTHER, "you are not an approver for ec2-reboot")
    assert not [x for x in c.proxy.calls(mark) if x.writes]

    first = c.click(ch, card, "proposal_approve", BOSS)  # a double click, a second approver, a redelivery
    c.click(ch, card, "proposal_approve", BOSS)
    c.click(ch, card, "proposal_approve", BOSS2)
    c.slack.redeliver(first)
    assert c.slack.wait_for(lambda: any("Verification of ec2-reboot" in text_of(m)
                                        for m in c.slack.thread(ch, root)), 20)
    assert c.slack.wait_for(lambda: len([e for e in c.slack.ephemerals(ch)
                                         if "decided this proposal" in e["text"] or "already approved" in e["text"]])
                            >= 3, 10), c.slack.ephemerals(ch)
    calls = c.proxy.calls(mark)
    writes = [x for x in calls if x.writes]
    assert [x.action for x in writes] == ["ec2:RebootInstances"], writes
    assert writes[0].params["InstanceId.1"] == c.instances["act-web-1"]
    assert writes[0] in _by_action_role(calls), "the write was signed by the bot's own credentials"
    sessions = [x.params.get("RoleSessionName", "") for x in calls if x.operation == "AssumeRole"]
    approver = next(s.split("-")[2] + "-" + s.split("-")[3] for s in sessions if s.startswith("cloudops-act-"))
    assert approver in (BOSS, BOSS2) and f"approved by <@{approver}>" in text_of(c.card(ch, root)), sessions
    assert any(s.startswith("cloudops-check-U-req") for s in sessions), sessions
    assert {x.action for x in _by_action_role(calls)} <= _granted()

    thread = "\n".join(text_of(m) for m in c.slack.thread(ch, root))
    assert "ec2:RebootInstances accepted" in thread and "AWS request id" in thread
    assert "running; status checks instance ok, system ok" in thread
    final = c.card(ch, root)
    assert "Done and verified" in text_of(final) and not any(b.get("type") == "actions" for b in final["blocks"])
    got = [b.metrics.registry.get_sample_value("cloudops_approved_actions_total",
                                                {"action": "ec2-reboot", "stage": "execution", "outcome": "ok"})
           for b in c.bots]
    assert sum(g or 0 for g in got) == 1


def test_a_rejected_or_expired_proposal_cannot_be_approved(c: Cluster) -> None:
    ch, mark = "C-act-reject", c.proxy.mark()
    root, card = _propose(c, ch, "do ec2-stop act-web-2")
    c.click(ch, card, "proposal_reject", OTHER)
    assert c.told(ch, OTHER, "not an approver")
    c.click(ch, card, "proposal_reject", REQ)  # the requester may withdraw their own proposal
    assert c.slack.wait_for(lambda: any("rejected the proposal; nothing was changed" in text_of(m)
                                        for m in c.slack.thread(ch, root)), 10)
    c.click(ch, card, "proposal_approve", BOSS)
    assert c.told(ch, BOSS, f"this proposal was already rejected by {REQ}")
    assert "Rejected" in text_of(c.card(ch, root))

    ch2 = "C-act-expire"
    _, card2 = _propose(c, ch2, "ec2-stop act-web-2")  # the action's own verb works like `do`
    saved = [b.services.clock for b in c.bots]
    try:
        for b, clock in zip(c.bots, saved, strict=True):
            b.services.clock = lambda clock=clock: clock() + timedelta(hours=2)  # type: ignore[misc]
        c.click(ch2, card2, "proposal_approve", BOSS)
        assert c.told(ch2, BOSS, "this proposal has expired")
    finally:
        for b, clock in zip(c.bots, saved, strict=True):
            b.services.clock = clock
    assert not [x for x in c.proxy.calls(mark) if x.writes]


def test_a_failed_precondition_proposes_nothing(c: Cluster) -> None:
    mark = c.proxy.mark()
    parent, replies = c.run.command("do ec2-start act-web-1", channel="C-act-blocked", user=REQ)
    text = text_of(replies[0])
    assert "not proposed" in text and "is running" in text
    assert not c.slack.wait_for(lambda: len(c.slack.thread("C-act-blocked", parent["ts"])) > 2, 1.0)
    assert not [x for x in c.proxy.calls(mark) if x.writes or x.dry_run]


def test_someone_not_allowed_to_request_is_told_privately_and_nothing_is_posted(c: Cluster) -> None:
    mark = c.proxy.mark()
    c.slack.send_slash_command("do ec2-reboot act-web-1", user=OTHER, channel="C-act-nobody")
    assert c.told("C-act-nobody", OTHER, "you are not on the list of people who may propose actions")
    assert c.slack.channel_messages("C-act-nobody") == [] and not c.proxy.calls(mark)


@pytest.mark.parametrize(("command", "write", "verified"), [
    ("do ecs-redeploy prod/api", "ecs:UpdateService", "not confirmed within 3s"),  # moto never completes one
    ("do ecs-rollback prod/web", "ecs:UpdateService", "not confirmed within 3s"),
    ("do asg-capacity act-workers 3", "autoscaling:SetDesiredCapacity", "3 of 3 in service"),
    ("do ssm-run act-ssm document=AWS-RestartService ServiceName=nginx", "ssm:SendCommand", "Success"),
])
def test_each_action_makes_its_one_write_after_approval(c: Cluster, command: str, write: str, verified: str) -> None:
    ch, mark = f"C-act-{command.split()[1]}", c.proxy.mark()
    root, card = _propose(c, ch, command)
    c.click(ch, card, "proposal_approve", BOSS2)
    assert c.slack.wait_for(lambda: any("Verification of" in text_of(m) for m in c.slack.thread(ch, root)), 20), (
        [text_of(m) for m in c.slack.thread(ch, root)])
    calls = c.proxy.calls(mark)
    assert [x.action for x in calls if x.writes] == [write]
    assert {x.action for x in _by_action_role(calls)} <= _granted()
    assert verified in text_of(c.card(ch, root))


def test_the_model_can_only_propose(c: Cluster) -> None:
    """The model's propose_action makes a card; nothing is written until a person approves."""
    mark = c.proxy.mark()
    c.llm.script(Scripted(tool_calls=(ToolCall("propose_action", {"action": "ec2-reboot", "target": "act-web-2"}),)),
                 Scripted(content="I proposed rebooting act-web-2; an approver must approve it."))
    parent, _ = c.run.command("ask act-web-2 is stuck, please reboot it", channel="C-act-model", user=REQ, replies=2)
    card = c.card("C-act-model", parent["ts"])
    assert "act-web-2" in text_of(card) and any(b.get("type") == "actions" for b in card["blocks"])
    tool_result = [m["content"] for m in c.llm.received()[-1]["messages"] if m["role"] == "tool"][-1]
    assert "Nothing has changed" in tool_result
    assert not [x for x in c.proxy.calls(mark) if x.writes]


def test_every_model_tool_only_reads_and_propose_action_only_proposes(c: Cluster) -> None:
    """Each tool of the model's toolbox, exercised against AWS: at the edge, no call writes (the only
    write-named calls are DryRuns), and propose_action leaves a pending proposal, nothing more."""
    from bot.errors import CloudOpsError
    from bot.models import Request, Source
    from handlers import registry
    from handlers.actions.proposals import PENDING, Proposals, collect
    from handlers.toolbox import build_tools

    args = {"list_instances": {}, "list_log_groups": {}, "get_alarms": {"state": "ALL"},
            "search_logs": {"group": "api", "window": "1h"}, "get_instance_metrics": {"instance": "act-web-1"},
            "propose_action": {"action": "ec2-stop", "target": "act-web-1"},
            "recent_changes": {"window": "1h"}, "list_ecs_services": {},
            "describe_ecs_service": {"service": "prod/api"},
            "describe_lambda": {"function": "checkout"}, "describe_db": {"instance": "orders-db"}}
    services = c.bots[0].services
    request = Request(text="", source=Source.COMMAND, user=REQ, channel="C-act-tools", thread_ts="1.0")
    tools = build_tools(services, request, registry.CAPABILITIES)
    assert {t.name for t in tools} == set(args), "a tool without a case here"
    mark = c.proxy.mark()
    made = collect()
    for tool in tools:
        with contextlib.suppress(CloudOpsError):  # a refusal is an answer too; its AWS calls were recorded
            tool.fn(args[tool.name])
    calls = c.proxy.calls(mark)
    assert {x.operation for x in calls} >= {"DescribeInstances", "DescribeAlarms", "StopInstances"}
    assert not [x for x in calls if x.writes], [x.action for x in calls if x.writes]
    assert [x.action for x in calls if x.dry_run] == ["ec2:StopInstances"]
    assert len(made) == 1 and Proposals(services.store).get(made[0]).status == PENDING  # type: ignore[union-attr]


@pytest.fixture
def c(cluster: Cluster) -> Cluster:
    return cluster
