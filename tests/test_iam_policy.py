"""deploy/iam-policy.json grants exactly what the bot calls: an operator who attaches it gets no
AccessDenied in the middle of an incident, and no permission the bot never uses.

Two views of "what the bot calls": statically, every ``aws.call("service", "Operation")`` in the source
(the demo's seeding in cloudops_demo/sandbox.py writes to moto only and is not part of it); dynamically, the
operations AwsClients.call performed (on any thread, and as each request's audit record lists them)
while the real handlers answered every command, the model's tools,
the /status probe and an alarm's evidence pack against the seeded moto incident.

sts:GetCallerIdentity needs no permission (AWS answers it for any valid credentials, even under an
explicit Deny) but it is listed anyway: the policy then reads as the complete list of what the bot
does, and the /status AWS probe shows up in any review of it. The optional Bedrock model provider calls
bedrock-runtime directly (not through AwsClients); its permission lives in deploy/iam-policy-bedrock.json
so deployments that use an OpenAI-compatible endpoint do not grant model invocation.

Reading other accounts, the bot's own role calls sts:AssumeRole (botocore's assume-role fetcher, recorded in
the call log). That permission lives in deploy/iam-policy-assume.json, which only the bot's role gets:
iam-policy.json is also what the read-only roles in the target accounts get, and they must not be able to
assume further roles. So an operation granted by iam-policy-assume.json counts as covered here, and
iam-policy.json must not grant it. The cross-account policies themselves: tests/test_iam_cross_account.py.
The alarm queue consumer's sqs:ReceiveMessage/DeleteMessage are the bot's role's alone as well
(deploy/iam-policy-alarm-queue.json): deleting a message is a write, and the target roles never need it.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.aws.session import AwsClients
from cloudops_demo.sandbox import SeededIncident

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "deploy" / "iam-policy.json"
BEDROCK_POLICY = ROOT / "deploy" / "iam-policy-bedrock.json"
ASSUME_POLICY = ROOT / "deploy" / "iam-policy-assume.json"
QUEUE_POLICY = ROOT / "deploy" / "iam-policy-alarm-queue.json"
SOURCES = [p for d in ("bot", "handlers") for p in sorted((ROOT / d).rglob("*.py"))
           if p.name != "sandbox.py" and "emulators" not in p.parts]
# boto3 service name -> IAM prefix. For these services the API operation name is the IAM action name.
IAM_PREFIX = {"ec2": "ec2", "logs": "logs", "cloudwatch": "cloudwatch", "sts": "sts", "cloudtrail": "cloudtrail",
              "cloudformation": "cloudformation", "autoscaling": "autoscaling", "ecs": "ecs",
              "elbv2": "elasticloadbalancing", "lambda": "lambda", "rds": "rds", "sqs": "sqs"}
# Direct (non-AwsClients) botocore clients: service -> {client method -> IAM action}.
DIRECT_CLIENTS = {"bedrock-runtime": {"converse": "bedrock:InvokeModel",
                                      "converse_stream": "bedrock:InvokeModelWithResponseStream"}}
READ_VERBS = ("Describe", "Get", "List", "Filter", "Lookup")


def _actions(path: Path) -> list[str]:
    policy = json.loads(path.read_text())
    out: list[str] = []
    for statement in policy["Statement"]:
        actions = statement["Action"]
        out += [actions] if isinstance(actions, str) else actions
    return out


def _bot_role_only() -> set[str]:
    """Actions granted to the bot's own role alone (assuming the target accounts' roles, the alarm queue)."""
    return {a for p in (ASSUME_POLICY, QUEUE_POLICY) if p.exists() for a in _actions(p)}


def _aws_receiver(node: ast.expr) -> bool:
    """``aws.call``, ``self._aws.call``, ``services.aws.call``: the AwsClients instance by its usual names."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name.lstrip("_") == "aws"


@functools.cache
def static_operations() -> tuple[frozenset[str], tuple[str, ...]]:
    """("service:Operation" found in calls, places where the service/operation is not a literal)."""
    found: set[str] = set()
    unresolved: list[str] = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "call" and _aws_receiver(node.func.value)):
                continue
            names = [a.value for a in node.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if len(names) == 2:
                found.add(f"{names[0]}:{names[1]}")
            else:
                unresolved.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return frozenset(found), tuple(unresolved)


def direct_client_calls() -> dict[str, set[str]]:
    """Services for which code creates its own botocore client, and the methods it calls on them."""
    out: dict[str, set[str]] = {}
    for path in SOURCES:
        if path.name == "session.py" and path.parent.name == "aws":
            continue  # AwsClients itself: every call goes through call(), checked above
        tree = ast.parse(path.read_text(), str(path))
        services = {node.args[0].value for node in ast.walk(tree)
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "client" and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)}
        for service in services:
            methods = {node.func.attr for node in ast.walk(tree)
                       if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                       and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "_client"
                       and not node.func.attr.startswith(("_", "close", "meta"))}
            out.setdefault(service, set()).update(methods)
    return out


def assume_role_sites() -> list[str]:
    """Places where the code assumes a role itself (not through AwsClients.call, so not in static_operations)."""
    sites: list[str] = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            hit = ((isinstance(node, ast.Constant) and node.value in ("sts:AssumeRole", "AssumeRole"))
                   or (isinstance(node, ast.Name) and node.id == "AssumeRoleCredentialFetcher")
                   or (isinstance(node, ast.Attribute) and node.attr in ("assume_role", "AssumeRoleCredentialFetcher")))
            if hit:
                sites.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    return sites


def to_iam(operation: str) -> str:
    service, _, op = operation.partition(":")
    assert service in IAM_PREFIX, f"no IAM prefix known for boto3 service {service!r}: add it to IAM_PREFIX"
    return f"{IAM_PREFIX[service]}:{op}"


# --- static ---------------------------------------------------------------------------------------------

def test_every_aws_call_names_its_service_and_operation_literally() -> None:
    _, unresolved = static_operations()
    assert not unresolved, f"AwsClients.call with a computed service/operation cannot be checked: {unresolved}"


def test_policy_grants_exactly_the_operations_the_code_calls() -> None:
    found, _ = static_operations()
    needed = {to_iam(op) for op in found}
    granted = _actions(POLICY)
    assert len(granted) == len(set(granted)), "an action is listed twice"
    missing, unused = needed - set(granted) - _bot_role_only(), set(granted) - needed
    assert not missing, f"the bot calls these but the policy does not grant them (AccessDenied in prod): {missing}"
    assert not unused, f"the policy grants these but no code calls them: {unused}"
    assert "sts:GetCallerIdentity" in needed  # the /status probe; see the module docstring


def test_policy_grants_exactly_the_actions_the_capabilities_declare() -> None:
    """Each capability entry names the AWS actions it calls (handlers.registry adds the /status probe's):
    the policy is their union, so a new capability that forgets to declare or grant one fails here."""
    from handlers import registry

    assert set(_actions(POLICY)) == set(registry.aws_actions())


def test_policy_is_read_only_without_wildcards() -> None:
    for action in _actions(POLICY):
        assert "*" not in action and "?" not in action, f"wildcard action {action}"
        assert action.split(":")[1].startswith(READ_VERBS), f"{action} is not a read operation"
    policy = json.loads(POLICY.read_text())
    assert policy["Version"] == "2012-10-17"
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement


def test_parliament_finds_nothing_serious() -> None:
    """parliament (offline, AWS's IAM definitions) knows every action and sees no malformed statement."""
    parliament = pytest.importorskip("parliament")
    for action in _actions(POLICY) + _actions(BEDROCK_POLICY):
        # elasticloadbalancing is defined twice (Classic and v2 share the prefix): count distinct actions
        known = {(a["service"], a["action"]) for a in parliament.expand_action(action)}
        assert len(known) == 1, f"{action} is not exactly one known IAM action"
    # LOW is "Resource * where the action could be scoped" (DescribeAlarms, which is kept at * because
    # it lists every alarm when called without names).
    findings = [parliament.enhance_finding(f) for f in parliament.analyze_policy_string(POLICY.read_text()).findings]
    serious = [(f.issue, f.detail) for f in findings if f.severity not in {"LOW", "INFO"}]
    assert not serious, serious


def test_access_levels_from_the_aws_definitions_are_read_or_list() -> None:
    """AWS's own classification (shipped with parliament) rather than our reading of the verbs."""
    parliament = pytest.importorskip("parliament")
    levels = {f"{svc['prefix']}:{p['privilege']}": p["access_level"]
              for svc in parliament.iam_definition for p in svc["privileges"]}
    for action in _actions(POLICY) + _actions(BEDROCK_POLICY):
        assert levels.get(action) in {"Read", "List"}, f"{action} has access level {levels.get(action)}"


def test_direct_clients_are_known_and_their_policy_matches() -> None:
    calls = direct_client_calls()
    assert set(calls) <= set(DIRECT_CLIENTS), (
        f"code creates its own botocore client for {set(calls) - set(DIRECT_CLIENTS)}: route it through "
        "AwsClients.call or add it to DIRECT_CLIENTS and a deploy/ policy")
    needed = {DIRECT_CLIENTS[svc][m] for svc, methods in calls.items() for m in methods
              if m in DIRECT_CLIENTS[svc]}
    unknown = {f"{svc}.{m}" for svc, methods in calls.items() for m in methods if m not in DIRECT_CLIENTS[svc]}
    assert not unknown, f"unmapped direct client methods: {unknown}"
    assert set(_actions(BEDROCK_POLICY)) == needed


def test_assuming_roles_is_granted_to_the_bots_role_only() -> None:
    """AssumeRole belongs in iam-policy-assume.json (the bot's role), never in the policy target roles get."""
    assert not set(_actions(POLICY)) & _bot_role_only(), (
        "iam-policy.json is attached to the target accounts' read-only roles too: keep sts:AssumeRole out of it")
    sites = assume_role_sites()
    if sites:
        assert "sts:AssumeRole" in _bot_role_only(), (
            f"the code assumes roles ({sites[:3]}) but deploy/iam-policy-assume.json does not grant sts:AssumeRole")


# --- dynamic: the real handlers against the seeded moto incident ----------------------------------------

@pytest.fixture(scope="module")
def recorded(incident: SeededIncident) -> Iterator[set[str]]:
    """Every operation AwsClients.call performs (any thread) while the bot does everything it can do."""
    from bot.aws import cloudwatch
    from bot.aws.health import AwsHealthProbe
    from bot.config import Settings
    from bot.metrics import Metrics
    from bot.models import Request, Source
    from handlers import dispatch
    from handlers.incident import evidence_pack
    from handlers.services import Services
    from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall

    seen: set[str] = set()
    original = AwsClients.call

    def spy(self: AwsClients, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        seen.add(f"{service}:{operation}")
        return original(self, service, operation, **kwargs)

    with FakeLLMServer(api_key="sk-test", model="gpt-test") as llm, pytest.MonkeyPatch.context() as mp:
        mp.setattr(AwsClients, "call", spy)
        settings = Settings.from_values(
            openai_api_key="sk-test", openai_base_url=llm.base_url, llm_model="gpt-test", llm_max_retries=0,
            log_aliases={"api": "/ecs/api-prod", "worker": "/ecs/worker-prod"}, aws_max_attempts=2,
            rate_user_per_min=1000.0, rate_user_burst=1000.0, rate_channel_per_min=1000.0,
            rate_channel_burst=1000.0)
        services = Services.build(settings, Metrics())
        stack = _Stack(incident.region)  # a stack changed in the window: DescribeStackEvents is read
        try:
            commands = ["help", "status", "status web-1", "logs api 502 30m", "logs /ecs/worker-prod 2h",
                        "alarms", "alarms all", f"metrics {incident.spiking_instance} cpu 1h",
                        f"metrics {incident.spiking_instance} status 1h", "changes 1h", "service",
                        "service api-prod", "lambda checkout 1h", "db orders-db 1h"]
            for text in commands:
                reply, _, outcome = dispatch.handle(Request(text=text, source=Source.COMMAND, user="U-IAM",
                                                            channel="C-IAM"), services)
                assert outcome == "ok", f"/cloudops {text}: {reply.plain_text()[:300]}"
                # the per-request record behind the audit event agrees with what the spy saw (AssumeRole
                # is made by botocore's credential fetcher, outside AwsClients.call: see the docstring)
                assumed = set(reply.aws_operations) & _bot_role_only()
                assert set(reply.aws_operations) - assumed <= seen, (text, reply.aws_operations)
                seen |= assumed
            llm.script(
                Scripted(tool_calls=(ToolCall("list_instances", {}), ToolCall("list_log_groups", {}),
                                     ToolCall("get_alarms", {"state": "ALL"}),
                                     ToolCall("search_logs", {"group": "api", "terms": ["502"], "window": "1h"}),
                                     ToolCall("get_instance_metrics", {"instance": "web-1", "kind": "cpu"}),
                                     ToolCall("recent_changes", {"window": "1h"}),
                                     ToolCall("describe_ecs_service", {"service": "api-prod"}),
                                     ToolCall("list_ecs_services", {}),
                                     ToolCall("describe_lambda", {"function": "checkout"}),
                                     ToolCall("describe_db", {"instance": "orders-db"}))),
                Scripted(content="The api is returning 502s."))
            reply, _, outcome = dispatch.handle(Request(text="ask why is checkout failing?", source=Source.COMMAND,
                                                        user="U-IAM", channel="C-IAM"), services)
            assert "502s" in reply.plain_text(), reply.plain_text()[:300]
            assert AwsHealthProbe(services.aws, 60.0).get().reachable  # the sidecar's /status probe
            for alarm in cloudwatch.describe_alarms(services.aws, "ALARM"):
                evidence_pack(alarm, services, Request(text="", source=Source.ACTION, user="U-IAM", channel="C-IAM"))
            _drain_alarm_queue(services, settings, incident)
        finally:
            services.close()
            stack.close()
    yield seen


class _Stack:
    """A CloudFormation stack for the scenario's `changes`, removed after it (moto's state is the session's)."""

    def __init__(self, region: str) -> None:
        import boto3

        self.cfn = boto3.client("cloudformation", region_name=region)
        self.cfn.create_stack(StackName="iam-policy-scenario", TemplateBody=json.dumps(
            {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "iam-policy-scenario"}}}}))

    def close(self) -> None:
        self.cfn.delete_stack(StackName="iam-policy-scenario")


class _Recorder:
    """Stands in for the incident watcher: the queue consumer's AWS calls are what is measured here."""

    def __init__(self, services: Any) -> None:
        self.services, self.tracked = services, []

    def targets(self) -> list[Any]:
        from bot.aws.accounts import Target

        return [Target(self.services.aws.account, self.services.aws.region)]

    def track(self, target: Any, alarm: Any) -> None:
        self.tracked.append(alarm.name)


def _drain_alarm_queue(services: Any, settings: Any, incident: SeededIncident) -> None:
    """One EventBridge alarm event through the consumer: ReceiveMessage, DescribeAlarms, DeleteMessage."""
    import boto3

    from bot.slack.alarm_queue import AlarmQueue

    sqs = boto3.client("sqs", region_name=incident.region)
    url = sqs.create_queue(QueueName="iam-policy-alarm-events")["QueueUrl"]
    try:
        event = {"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch", "region": incident.region,
                 "account": "123456789012", "detail": {"alarmName": incident.alarms_in_alarm[0], "state": {
                     "value": "ALARM", "reason": "r", "timestamp": "2026-12-02T16:04:12.123+0000"}}}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        recorder = _Recorder(services)
        consumer = AlarmQueue(dataclasses.replace(settings, alarm_queue_url=url), services, recorder)
        assert consumer.drain_once(wait_s=1) == 1 and set(recorder.tracked) == {incident.alarms_in_alarm[0]}
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_everything_the_running_bot_called_is_granted(recorded: set[str]) -> None:
    granted = set(_actions(POLICY)) | _bot_role_only()
    denied = {to_iam(op) for op in recorded} - granted
    assert recorded, "no AWS call was recorded: the scenario did not run"
    assert not denied, f"the bot called these during the scenario but the policy does not grant them: {denied}"


def test_everything_the_running_bot_called_is_declared_by_a_capability(recorded: set[str]) -> None:
    from handlers import registry

    undeclared = {to_iam(op) for op in recorded} - set(registry.aws_actions()) - _bot_role_only()
    assert not undeclared, f"called during the scenario but declared by no capability entry: {undeclared}"


def test_the_scenario_exercises_every_operation_in_the_code(recorded: set[str]) -> None:
    """If this fails, a new AWS call exists that the scenario above never reaches: extend the scenario."""
    found, _ = static_operations()
    assert found <= recorded, f"never exercised: {found - recorded}"
