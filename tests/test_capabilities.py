"""One declaration per capability: the model's tools behave like the commands they share a gatherer with,
and what is derived from the entries (README table, metric labels, help) says what the entries say.

The AWS answers moto cannot give (a refused DescribeInstanceStatus, two instances with one Name) come
from botocore's Stubber at the network edge, as in test_handlers_stubbed.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.stub import Stubber

from bot.config import Settings
from bot.errors import ConfigError, NotAllowedError
from bot.llm.tools import ToolSpec
from bot.metrics import Metrics
from bot.models import Request, Source
from handlers import dispatch, registry
from handlers.capability import Access
from handlers.guard import check_access
from handlers.services import Services
from handlers.toolbox import build_tools

README = Path(__file__).resolve().parents[1] / "README.md"
IID_A, IID_B = "i-0123456789abcdef0", "i-0fedcba9876543210"


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached: the Stubber answers
    svc = Services.build(Settings.from_values(aws_max_attempts=1), Metrics())
    yield svc
    svc.close()


def _instances(*pairs: tuple[str, str]) -> dict:
    return {"Reservations": [{"Instances": [{
        "InstanceId": iid, "State": {"Name": "running"}, "InstanceType": "m5.large",
        "Placement": {"AvailabilityZone": "us-east-1a"}, "LaunchTime": datetime(2026, 11, 1, tzinfo=UTC),
        "Tags": [{"Key": "Name", "Value": name}]} for iid, name in pairs]}]}


def _tool(services: Services, name: str) -> ToolSpec:
    tools = build_tools(services, Request(text="", source=Source.COMMAND), registry.CAPABILITIES)
    return next(t for t in tools if t.name == name)


def _command(services: Services, text: str) -> str:
    reply, _, _ = dispatch.handle(Request(text=text, source=Source.COMMAND), services)
    return reply.plain_text()


def test_status_and_list_instances_both_keep_the_instances_when_status_checks_are_refused(
        services: Services) -> None:
    """DescribeInstanceStatus denied: the command and the model's tool both still show the instance and
    both say the checks could not be read (the tool used to answer only the error)."""
    ec2 = services.aws.client("ec2")
    answers: dict[str, str] = {}
    for label, run in (("command", lambda: _command(services, "status db-1")),
                       ("tool", lambda: _tool(services, "list_instances").invoke('{"selector": "db-1"}'))):
        with Stubber(ec2) as stub:
            stub.add_response("describe_instances", _instances((IID_A, "db-1")))
            stub.add_client_error("describe_instance_status", service_error_code="UnauthorizedOperation",
                                  http_status_code=403)
            answers[label] = run()
            stub.assert_no_pending_responses()
    for label, text in answers.items():
        assert "Status checks could not be read; showing instance state only." in text, (label, text)
        assert "status checks pass" not in text, (label, text)
    assert f"Instance: db-1 {IID_A}" in answers["command"] and "Status checks: n/a" in answers["command"]
    assert "db-1 is running; its status checks could not be read." in answers["command"]
    assert answers["tool"].startswith(f"db-1 {IID_A} running m5.large us-east-1a — checks n/a")


def test_metrics_and_get_instance_metrics_both_refuse_an_ambiguous_name(services: Services) -> None:
    """Two instances named web: the command and the tool both refuse, name both ids, and read no metric
    (the tool used to chart the first match)."""
    ec2 = services.aws.client("ec2")
    answers: dict[str, str] = {}
    for label, run in (("command", lambda: _command(services, "metrics web cpu 1h")),
                       ("tool", lambda: _tool(services, "get_instance_metrics").invoke('{"instance": "web"}'))):
        with Stubber(ec2) as stub:  # no GetMetricData is stubbed: a metrics call would fail the test
            stub.add_response("describe_instances", _instances((IID_A, "web"), (IID_B, "web")))
            answers[label] = run()
            stub.assert_no_pending_responses()
    for label, text in answers.items():
        assert "'web' matches several instances" in text, (label, text)
        assert IID_A in text and IID_B in text, (label, text)
        assert "use the instance id" in text, (label, text)
    assert answers["tool"].startswith("error:")


def test_the_readme_command_table_lists_exactly_the_capabilities() -> None:
    """One row per capability, in help's order, each row starting with the entry's own usage."""
    section = README.read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `/cloudops")]
    firsts = [re.match(r"\| `/cloudops ([^`]*)`", row) for row in rows]
    documented = [m.group(1).replace("\\|", "|") for m in firsts if m]
    assert documented == [c.usage for c in registry.CAPABILITIES]


def test_help_lists_every_capability_usage_once(services: Services) -> None:
    text = _command(services, "help")
    for cap in registry.CAPABILITIES:
        assert text.count(f"/cloudops {cap.usage}") == 1, cap.verb


def test_the_running_bots_metrics_start_at_zero_for_every_verb_and_aws_action() -> None:
    """bot.runtime passes the entries' verbs and AWS actions: each has its series before any request."""
    from bot.runtime import Bot

    bot = Bot(Settings.from_values())
    bot.services.close()
    sample = bot.metrics.registry.get_sample_value
    for verb in (*registry.verbs(), "unknown"):
        assert sample("cloudops_requests_total", {"kind": "command", "command": verb, "outcome": "ok"}) == 0, verb
    for action in registry.aws_operations():  # labelled as AwsClients.call labels them: elbv2, not elasticloadbalancing
        service, _, op = action.partition(":")
        assert sample("cloudops_aws_calls_total", {"service": service, "operation": op, "outcome": "ok"}) == 0, action
    assert "elbv2:DescribeTargetHealth" in registry.aws_operations()


def test_the_model_is_offered_each_capabilitys_tools_and_ask_declares_their_aws_actions() -> None:
    ask = registry.BY_VERB["ask"]
    tooled = [c for c in registry.CAPABILITIES if c.tools]
    assert {t.name for c in tooled if c.access is not Access.ACTION for t in c.tools} == {
        "list_instances", "search_logs", "list_log_groups", "get_alarms", "get_instance_metrics",
        "recent_changes", "describe_ecs_service", "list_ecs_services", "describe_lambda", "describe_db"}
    # the one tool of the action class only proposes; front ends that must never change anything skip it
    assert {t.name for c in tooled if c.access is Access.ACTION for t in c.tools} == {"propose_action"}
    assert set(ask.aws_actions) == {a for c in tooled for a in c.aws_actions}


@pytest.mark.parametrize(("access", "variable"), [("read", "CLOUDOPS_READ_USERS"), ("model", "CLOUDOPS_MODEL_USERS")])
def test_a_refusal_names_the_setting_of_its_own_access_class(access: str, variable: str) -> None:
    settings = Settings.from_values(access_read_users=("U-reader",), access_model_users=("U-modeller",))
    with pytest.raises(NotAllowedError) as refused:
        check_access(Request(text="x", source=Source.COMMAND, user="U-other"), access, settings)
    assert variable in refused.value.hint


def test_action_capabilities_are_refused_on_every_path_unless_enabled_and_outside_slack_always() -> None:
    for source in (Source.COMMAND, Source.MENTION, Source.QUERY, Source.CLI):
        with pytest.raises(NotAllowedError, match="not enabled"):
            check_access(Request(text="x", source=source), Access.ACTION, Settings.from_values())
    enabled = Settings.from_values(actions_enabled=True,
                                   action_rules={"ec2-reboot": {"*": {"request": ["U1"], "approve": ["U2"]}}},
                                   action_roles={"default": "arn:aws:iam::123456789012:role/cloudops-actions"})
    for source in (Source.QUERY, Source.CLI):
        with pytest.raises(NotAllowedError, match="in Slack only"):
            check_access(Request(text="x", source=source), Access.ACTION, enabled)
    with pytest.raises(NotAllowedError, match="who may propose actions"):
        check_access(Request(text="x", source=Source.COMMAND, user="U3"), Access.ACTION, enabled)
    check_access(Request(text="x", source=Source.COMMAND, user="U1"), Access.ACTION, enabled)


def test_the_model_is_offered_propose_action_only_when_actions_are_enabled(services: Services) -> None:
    asker = Request(text="", source=Source.COMMAND)
    assert "propose_action" not in {t.name for t in build_tools(services, asker, registry.CAPABILITIES)}
    services.settings = Settings.from_values(
        actions_enabled=True, action_rules={"ec2-reboot": {"*": {"approve": ["U2"]}}},
        action_roles={"default": "arn:aws:iam::123456789012:role/cloudops-actions"})
    assert "propose_action" in {t.name for t in build_tools(services, asker, registry.CAPABILITIES)}


def test_an_unknown_retry_mode_lists_all_three_botocore_modes() -> None:
    with pytest.raises(ConfigError) as bad:
        Settings.from_values(aws_retry_mode="eager")
    assert "standard, adaptive or legacy" in str(bad.value)
    assert Settings.from_values(aws_retry_mode="legacy").aws_retry_mode == "legacy"  # botocore accepts it too
