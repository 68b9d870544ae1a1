"""Paths moto cannot produce (impaired status checks, AccessDenied, throttling, scheduled events),
driven through the real handlers with botocore's Stubber at the network edge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from bot.config import Settings
from bot.metrics import Metrics
from bot.models import Request, Source
from handlers import dispatch
from handlers.services import Services

IID = "i-0123456789abcdef0"


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached: the Stubber answers
    svc = Services.build(Settings.from_values(aws_max_attempts=1), Metrics())
    yield svc
    svc.close()


def _instance(state: str = "running") -> dict:
    return {"Reservations": [{"Instances": [{
        "InstanceId": IID, "State": {"Name": state}, "InstanceType": "m5.large",
        "Placement": {"AvailabilityZone": "us-east-1a"}, "LaunchTime": datetime(2026, 11, 1, tzinfo=UTC),
        "Tags": [{"Key": "Name", "Value": "db-1"}]}]}]}


def _ask(services: Services, text: str) -> str:
    reply, _, _ = dispatch.handle(Request(text=text, source=Source.COMMAND), services)
    return reply.plain_text()


def test_impaired_status_checks_and_scheduled_events_are_flagged(services: Services) -> None:
    ec2 = services.aws.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_instances", _instance())
        stub.add_response("describe_instance_status", {"InstanceStatuses": [{
            "InstanceId": IID, "InstanceStatus": {"Status": "impaired"}, "SystemStatus": {"Status": "ok"},
            "Events": [{"Code": "system-reboot", "Description": "scheduled reboot",
                        "NotBefore": datetime(2026, 11, 26, 3, 0, tzinfo=UTC)}]}]})
        text = _ask(services, f"status {IID}")
    assert "instance check impaired" in text
    assert "system-reboot" in text and "2026-11-26 03:00" in text
    assert "needs attention" in text


def test_access_denied_says_which_permission_is_missing(services: Services) -> None:
    cw = services.aws.client("cloudwatch")
    with Stubber(cw) as stub:
        stub.add_client_error("describe_alarms", service_error_code="AccessDenied", http_status_code=403)
        text = _ask(services, "alarms")
    assert "cloudwatch:DescribeAlarms" in text and "iam-policy.json" in text
    assert "Traceback" not in text


def test_throttling_after_retries_explains_and_suggests_waiting(services: Services) -> None:
    logs = services.aws.client("logs")
    with Stubber(logs) as stub:
        stub.add_client_error("filter_log_events", service_error_code="ThrottlingException", http_status_code=400)
        text = _ask(services, "logs /ecs/api-prod 15m")
    assert "throttling" in text and "logs:FilterLogEvents" in text
    assert "wait a minute" in text


def test_metrics_count_aws_outcomes(services: Services) -> None:
    cw = services.aws.client("cloudwatch")
    with Stubber(cw) as stub:
        stub.add_client_error("describe_alarms", service_error_code="AccessDenied", http_status_code=403)
        _ask(services, "alarms")
    sample = services.metrics.registry.get_sample_value(
        "cloudops_aws_calls_total", {"service": "cloudwatch", "operation": "DescribeAlarms", "outcome": "denied"})
    assert sample == 1.0


@pytest.mark.parametrize(("text", "needle"), [
    ("status i-zzz", "not a valid instance id"),
    ("logs", "which log group?"),
    ("logs /ecs/api-prod 99999d", "longer than the allowed"),
    ("logs bad|group 15m", "not a log group name"),
    ("logs /ecs/api-prod {$.x=1}", "characters the bot does not pass"),
    ("alarms maybe", "not an alarm state"),
    ("metrics web-1 gpu", "not a metric kind"),
])
def test_bad_arguments_get_one_line_and_a_hint_without_calling_aws(services: Services, text: str,
                                                                   needle: str) -> None:
    reply, _, outcome = dispatch.handle(Request(text=text, source=Source.COMMAND), services)
    assert not reply.ok and outcome == "bad_input"
    assert needle in reply.summary and reply.hint
    assert reply.aws_operations == ()
