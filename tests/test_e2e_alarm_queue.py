"""Alarm intake by events, end to end: an EventBridge "CloudWatch Alarm State Change" event published to an
SQS queue (moto) is announced in the Slack emulator within seconds while the poller sleeps for an hour,
once, even when SQS delivers it twice and the poller sees the same transition; the evidence pack in its
thread names the deployment four minutes before the breach and its author (the CloudTrail peer).

Region eu-south-2 keeps this alarm away from the session's seeded incident and from other tests.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from cloudops_demo.trail_peer import TrailEvent, TrailPeer
from tests.harness import running_bot, text_of
from tests.test_store_redis import REDIS_BIN, RedisProcess

REGION = "eu-south-2"
CH = "C-alarm-queue"
ALARM = "orders-api-5xx"


@pytest.fixture
def cloud(aws: tuple[MotoSandbox, SeededIncident]) -> Iterator[tuple[Any, Any, str, TrailPeer]]:
    url = aws[0].endpoint_url
    cw = boto3.client("cloudwatch", endpoint_url=url, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=url, region_name=REGION)
    queue = sqs.create_queue(QueueName=f"alarm-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    cw.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/ECS", MetricName="HTTPCode_Target_5XX_Count",
                        Dimensions=[{"Name": "ClusterName", "Value": "orders"},
                                    {"Name": "ServiceName", "Value": "orders-api"}],
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5.0,
                        ComparisonOperator="GreaterThanThreshold")
    with TrailPeer().start() as peer, pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", peer.endpoint_url)
        yield cw, sqs, queue, peer
    cw.delete_alarms(AlarmNames=[ALARM])
    sqs.delete_queue(QueueUrl=queue)


def _event(alarm: dict[str, Any]) -> str:
    """The event exactly as EventBridge delivers it to an SQS target."""
    when: datetime = alarm["StateUpdatedTimestamp"]
    stamp = f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}+0000"
    return json.dumps({
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "time": f"{when:%Y-%m-%dT%H:%M:%SZ}",
        "region": REGION, "resources": [alarm["AlarmArn"]],
        "detail": {"alarmName": alarm["AlarmName"],
                   "state": {"value": alarm["StateValue"], "reason": alarm["StateReason"], "timestamp": stamp},
                   "previousState": {"value": "OK", "reason": "", "timestamp": stamp},
                   "configuration": {"metrics": [{"id": "m1", "returnData": True, "metricStat": {
                       "metric": {"namespace": alarm["Namespace"], "name": alarm["MetricName"],
                                  "dimensions": {d["Name"]: d["Value"] for d in alarm["Dimensions"]}},
                       "period": 60, "stat": "Sum"}}]}},
    })


def test_a_queued_alarm_event_is_announced_within_seconds_once_with_the_change_before_it(
        cloud: tuple[Any, Any, str, TrailPeer]) -> None:
    cw, sqs, queue, peer = cloud
    with SlackEmulator() as slack:
        settings = {"alarm_channel": CH, "alarm_poll_s": 3600.0, "alarm_queue_url": queue, "alarm_queue_wait_s": 1,
                    "aws_region": REGION}
        with running_bot(slack, None, **settings) as run:
            watcher = run.bot.slack.incidents
            assert watcher is not None and watcher.queue_consumer is not None
            polls = run.bot.services.metrics.incident_poll_seconds
            assert slack.wait_for(lambda: _count(polls) >= 1, 10)  # the start-up poll ran: the alarm was OK then
            cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="Threshold Crossed: 37 > 5")
            alarm = cw.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
            breach = alarm["StateUpdatedTimestamp"]
            peer.record(
                TrailEvent("UpdateService", "ecs.amazonaws.com", "alice@example.com", breach - timedelta(minutes=4),
                           region=REGION, request={"cluster": "orders", "service": "orders-api"}),
                TrailEvent("UpdateService", "ecs.amazonaws.com", "bob@example.com", breach - timedelta(hours=3),
                           region=REGION, request={"cluster": "orders", "service": "orders-api"}))
            sent = time.monotonic()
            for _ in range(2):  # SQS is at-least-once: the same event may arrive twice
                sqs.send_message(QueueUrl=queue, MessageBody=_event(alarm))
            assert slack.wait_for(lambda: any(ALARM in str(m.get("text", "")) for m in slack.channel_messages(CH)),
                                  10), "no announcement from the queue"
            took = time.monotonic() - sent
            parent = next(m for m in slack.channel_messages(CH) if ALARM in str(m.get("text", "")))
            evidence = slack.wait_thread_replies(CH, parent["ts"], 1, 20)[0]
            text = text_of(evidence)
            assert "Evidence pack" in text
            assert "ecs UpdateService on orders-api by alice@example.com" in text and "bob@" not in text

            assert _count(polls) == 1  # announced by the event, not by a poll
            watcher.poll_once()  # the poller sees the same transition: it reconciles, posts nothing
            time.sleep(1.5)  # the duplicate delivery has been received and handled by now
            parents = [m for m in slack.channel_messages(CH) if ALARM in str(m.get("text", ""))]
            assert len(parents) == 1
            assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"]["ApproximateNumberOfMessages"] == "0"  # handled messages are deleted
    assert took < 5.0, f"announced {took:.1f}s after the event; the poll interval was an hour"


@pytest.mark.skipif(REDIS_BIN is None, reason="redis-server binary not found (Debian package)")
def test_two_replicas_on_one_queue_announce_a_transition_once(cloud: tuple[Any, Any, str, TrailPeer],
                                                              tmp_path: Path) -> None:
    """Both replicas long-poll the queue and SQS delivers the event twice: each may get a copy; the shared
    store's claim lets one of them post."""
    cw, sqs, queue, _ = cloud
    redis = RedisProcess(tmp_path)
    redis.start()
    settings = {"alarm_channel": CH, "alarm_poll_s": 3600.0, "alarm_queue_url": queue, "alarm_queue_wait_s": 1,
                "aws_region": REGION, "redis_url": redis.url}
    try:
        with SlackEmulator() as slack, running_bot(slack, None, **settings) as one, \
                running_bot(slack, None, **settings) as two:
            for run in (one, two):
                polls = run.bot.services.metrics.incident_poll_seconds
                assert slack.wait_for(lambda p=polls: _count(p) >= 1, 10)
            cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="Threshold Crossed: 12 > 5")
            alarm = cw.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
            for _ in range(4):
                sqs.send_message(QueueUrl=queue, MessageBody=_event(alarm))
            assert slack.wait_for(lambda: any(ALARM in str(m.get("text", "")) for m in slack.channel_messages(CH)),
                                  10), "no announcement from the queue"
            assert slack.wait_for(lambda: sqs.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"] == "0", 10)
            time.sleep(1.5)  # the last copies are handled
            parents = [m for m in slack.channel_messages(CH) if ALARM in str(m.get("text", ""))]
            assert len(parents) == 1
    finally:
        redis.kill()


def _count(histogram: Any) -> float:
    return sum(s.value for m in histogram.collect() for s in m.samples if s.name.endswith("_count"))
