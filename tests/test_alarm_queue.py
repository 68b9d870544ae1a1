"""The alarm queue consumer against SQS in moto: what is not an alarm event is dropped (deleted, never
retried forever), an event delivered through SNS is unwrapped, an event from a region the bot does not read
is dropped too, and with several accounts the event's account id picks the account whose role it names.

Region eu-south-1 keeps the queue and alarm away from the session's seeded incident and the scenario catalogue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from bot.aws.accounts import Target
from bot.aws.alarm_queue import AlarmEvent
from bot.aws.records import Alarm
from bot.config import Settings
from bot.metrics import Metrics
from bot.slack.alarm_queue import AlarmQueue
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from handlers.services import Services

REGION = "eu-south-1"


class _Recorder:
    def __init__(self, targets: list[Target]) -> None:
        self._targets, self.tracked = targets, []

    def targets(self) -> list[Target]:
        return self._targets

    def track(self, target: Target, alarm: Alarm) -> None:
        self.tracked.append((target, alarm))


@pytest.fixture
def queue(aws: tuple[MotoSandbox, SeededIncident]) -> Iterator[tuple[Any, str]]:
    url = aws[0].endpoint_url
    sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION)
    cw = boto3.client("cloudwatch", endpoint_url=url, region_name=REGION)
    q = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    cw.put_metric_alarm(AlarmName="eu3-cpu", Namespace="AWS/EC2", MetricName="CPUUtilization", Statistic="Average",
                        Period=60, EvaluationPeriods=1, Threshold=80.0, ComparisonOperator="GreaterThanThreshold")
    yield sqs, q
    cw.delete_alarms(AlarmNames=["eu3-cpu"])
    sqs.delete_queue(QueueUrl=q)


def _event(region: str = REGION, account: str = "123456789012") -> dict[str, Any]:
    return {"version": "0", "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": account, "region": region,
            "detail": {"alarmName": "eu3-cpu", "state": {"value": "ALARM", "reason": "Threshold Crossed",
                                                         "timestamp": "2026-12-02T16:04:12.123+0000"}}}


def test_junk_and_other_regions_are_dropped_and_sns_is_unwrapped(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    services = Services.build(Settings.from_values(aws_region=REGION, alarm_queue_url=url, aws_max_attempts=2),
                              Metrics())
    recorder = _Recorder([Target(services.aws.account, REGION)])
    try:
        for body in ("not json", json.dumps({"detail-type": "EC2 Instance State-change Notification"}),
                     json.dumps({"Type": "Notification", "Message": json.dumps(_event())}),
                     json.dumps(_event(region="ap-south-1"))):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        consumer = AlarmQueue(services.settings, services, recorder)
        handled = sum(consumer.drain_once(wait_s=1) for _ in range(3))
    finally:
        services.close()
    assert handled == 1
    (target, alarm), (_, now) = recorder.tracked
    assert now.state == "OK"  # it has changed since the event (never set: OK now), so that is reconciled too
    assert target.region == REGION and alarm.name == "eu3-cpu" and alarm.state == "ALARM"
    assert alarm.threshold == 80.0 and alarm.metric_name == "CPUUtilization"  # read from CloudWatch, not the event
    assert f"{alarm.updated:%H:%M:%S.%f}" == "16:04:12.123000"  # the transition the event announced
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                   "ApproximateNumberOfMessagesNotVisible"])
    assert left["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_the_events_account_id_picks_the_account_whose_role_it_names() -> None:
    settings = Settings.from_values(
        aws_region=REGION, alarm_queue_url="https://sqs.eu-central-1.amazonaws.com/111111111111/alarm-events",
        accounts={"prod": {"role_arn": "arn:aws:iam::222222222222:role/cloudops-read", "regions": [REGION]},
                  "home": {"regions": [REGION]}})
    services = Services.build(settings, Metrics())
    try:
        targets = [Target("home", REGION), Target("prod", REGION)]
        consumer = AlarmQueue(settings, services, _Recorder(targets))

        def pick(account: str) -> Target | None:
            return consumer.target_for(AlarmEvent(account, REGION, "a", "ALARM", "", None))

        assert pick("222222222222") == Target("prod", REGION)
        assert pick("999999999999") == Target("home", REGION)  # not a role we assume: the bot's own account
        assert consumer.target_for(AlarmEvent("222222222222", "us-west-1", "a", "ALARM", "", None)) is None
        queue = consumer.queue_clients()  # the queue is read with the bot's own credentials, in its own region
        assert (queue.account, queue.region) == ("home", "eu-central-1")
    finally:
        services.close()
