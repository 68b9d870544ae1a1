"""The demo's AWS sandbox shows what an on-call engineer would see during the seeded incident.

Everything is read back through plain boto3 clients against the moto endpoint, the same way the bot's
gatherers will read it, so these tests catch a seed that looks right in code but wrong in the API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident, seed_incident

pytestmark = pytest.mark.timeout(60)


class Seeded:
    def __init__(self, sandbox: MotoSandbox, incident: SeededIncident, now: datetime) -> None:
        self.sandbox, self.incident, self.now = sandbox, incident, now
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=incident.region
        )
        config = Config(proxies={}, retries={"max_attempts": 1})
        self.ec2 = session.client("ec2", endpoint_url=sandbox.endpoint_url, config=config)
        self.logs = session.client("logs", endpoint_url=sandbox.endpoint_url, config=config)
        self.cw = session.client("cloudwatch", endpoint_url=sandbox.endpoint_url, config=config)

    def ms(self, minutes_ago: float) -> int:
        return int((self.now - timedelta(minutes=minutes_ago)).timestamp() * 1000)

    def events(self, group: str, pattern: str = "", since_min: float = 24 * 60, until_min: float = 0) -> list[Any]:
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": self.ms(since_min), "endTime": self.ms(until_min)}
        if pattern:
            kwargs["filterPattern"] = pattern
        pages = self.logs.get_paginator("filter_log_events").paginate(**kwargs)
        return [event for page in pages for event in page["events"]]

    def instances(self) -> dict[str, dict[str, Any]]:
        """Name tag -> instance, looked up by tag as a user would (ids change on re-seed)."""
        reply = self.ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["Name"]}])
        found: list[Any] = [i for r in reply["Reservations"] for i in r["Instances"]]
        return {next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i for i in found}

    def max_cpu(self, instance_id: str, minutes: int) -> float:
        stats = self.cw.get_metric_statistics(
            Namespace="AWS/EC2",
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
            StartTime=self.now - timedelta(minutes=minutes),
            EndTime=self.now,
            Period=300,
            Statistics=["Maximum"],
        )
        assert stats["Datapoints"], f"no CPU datapoints for {instance_id}"
        return max(p["Maximum"] for p in stats["Datapoints"])


@pytest.fixture(scope="module")
def seeded(aws: tuple[MotoSandbox, SeededIncident]) -> Seeded:
    """The session's seeded moto (moto's state is per process, so a second server would share it anyway),
    read against the clock the incident was seeded at, however long ago the session started."""
    sandbox, incident = aws
    return Seeded(sandbox, incident, incident.seeded_at)


def test_instances_by_name_span_two_azs_in_the_expected_states(seeded: Seeded) -> None:
    instances = seeded.instances()
    states = {name: i["State"]["Name"] for name, i in instances.items()}
    assert states == {
        "web-1": "running",
        "web-2": "running",
        "api-1": "running",
        "worker-1": "stopped",
        "batch-1": "running",
    }
    assert {i["Placement"]["AvailabilityZone"] for i in instances.values()} == {"us-east-1a", "us-east-1b"}
    assert {i["InstanceType"] for i in instances.values()} >= {"t3.medium", "m5.large", "c5.xlarge"}
    teams = {name: {t["Key"]: t["Value"] for t in i["Tags"]}["team"] for name, i in instances.items()}
    assert teams["web-1"] == teams["web-2"] == "web" and teams["api-1"] == "api" and teams["worker-1"] == "data"
    assert {name: i["InstanceId"] for name, i in instances.items()} == dict(seeded.incident.instances)
    batch_tags = {t["Key"]: t["Value"] for t in instances["batch-1"]["Tags"]}
    restarted = datetime.strptime(batch_tags["restarted-at"], "%Y-%m-%dT%H:%M:%S%z")
    assert seeded.now - timedelta(minutes=30) < restarted <= seeded.now


def test_log_groups_have_retention_and_enough_ordinary_traffic(seeded: Seeded) -> None:
    groups = {g["logGroupName"]: g for g in seeded.logs.describe_log_groups()["logGroups"]}
    assert set(seeded.incident.log_groups) <= set(groups)
    assert all(groups[name].get("retentionInDays") for name in seeded.incident.log_groups)
    streams = seeded.logs.describe_log_streams(logGroupName="/ecs/api-prod")["logStreams"]
    assert len(streams) >= 2
    total = sum(len(seeded.events(group)) for group in seeded.incident.log_groups)
    assert 400 <= total <= 1500
    # Traffic exists all the way back, so a "last 2 hours" question is not answered from 20 minutes of data.
    assert len(seeded.events("/ecs/api-prod", "GET", since_min=120, until_min=90)) > 50


def test_502_burst_is_recent_on_checkout_and_absent_earlier(seeded: Seeded) -> None:
    # Quoted: moto treats a bare term that starts with a digit (502) as unsupported and matches everything.
    recent = seeded.events("/ecs/api-prod", '"502"', since_min=30)
    assert len(recent) >= 10
    assert all("/checkout" in e["message"] and "502 Bad Gateway" in e["message"] for e in recent)
    assert seeded.events("/ecs/api-prod", '"502"', since_min=24 * 60, until_min=25) == []
    assert seeded.events("/ecs/api-prod", '"timed out"', since_min=30)


def test_stack_trace_is_one_multiline_event(seeded: Seeded) -> None:
    traces = seeded.events("/ecs/api-prod", "Traceback", since_min=30)
    assert len(traces) == 1
    message = traces[0]["message"]
    assert message.count("\n") >= 5
    assert "psycopg2.OperationalError: could not connect to server: Connection timed out" in message


def test_worker_errors_say_the_queue_is_backing_up(seeded: Seeded) -> None:
    errors = seeded.events("/ecs/worker-prod", "ERROR", since_min=30)
    assert any("queue backing up" in e["message"] for e in errors)
    assert seeded.events("/ecs/worker-prod", "ERROR", until_min=25) == []


def test_two_alarms_firing_with_realistic_reasons_and_two_ok(seeded: Seeded) -> None:
    firing = seeded.cw.describe_alarms(StateValue="ALARM")["MetricAlarms"]
    assert {a["AlarmName"] for a in firing} == set(seeded.incident.alarms_in_alarm)
    assert all(a["StateReason"].startswith("Threshold Crossed:") for a in firing)
    cpu_alarm = next(a for a in firing if a["AlarmName"] == "api-1-cpu-high")
    assert cpu_alarm["Dimensions"] == [{"Name": "InstanceId", "Value": seeded.incident.instances["api-1"]}]
    ok = seeded.cw.describe_alarms(StateValue="OK")["MetricAlarms"]
    assert {a["AlarmName"] for a in ok} == set(seeded.incident.alarms_ok)


def test_cpu_spikes_on_api_1_only(seeded: Seeded) -> None:
    ids = seeded.incident.instances
    assert seeded.incident.spiking_instance == "api-1"
    assert seeded.max_cpu(ids["api-1"], 30) > 90
    assert seeded.max_cpu(ids["web-1"], 30) < 50
    assert seeded.max_cpu(ids["api-1"], 24 * 60) > seeded.max_cpu(ids["api-1"], 15) - 1  # 1-day window sees it too
    assert seeded.max_cpu(ids["web-1"], 3 * 60 - 5) > 0  # three hours of history


def test_5xx_metric_bursts_in_the_last_minutes(seeded: Seeded) -> None:
    def total(since: int, until: int) -> float:
        stats = seeded.cw.get_metric_statistics(
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Dimensions=[{"Name": "LoadBalancer", "Value": "app/api-prod-alb/50dc6c495c0c9188"}],
            StartTime=seeded.now - timedelta(minutes=since),
            EndTime=seeded.now - timedelta(minutes=until),
            Period=60,
            Statistics=["Sum"],
        )
        return sum(p["Sum"] for p in stats["Datapoints"])

    assert total(15, 0) > 10 * total(120, 60)


def test_fake_secret_appears_in_exactly_one_event_with_slack_mentions(seeded: Seeded) -> None:
    leaks = [
        event
        for group in seeded.incident.log_groups
        for event in seeded.events(group)
        if seeded.incident.fake_secret in event["message"]
    ]
    assert len(leaks) == 1
    message = leaks[0]["message"]
    assert f"aws_secret_access_key={seeded.incident.fake_secret}" in message
    assert seeded.incident.fake_access_key_id in message and seeded.incident.fake_access_key_id.startswith("AKIA")
    assert "<!channel>" in message and "<@U024BE7LH>" in message
    assert len(seeded.incident.fake_secret) == 40


def test_seeding_twice_returns_the_same_incident_without_duplicates(seeded: Seeded) -> None:
    again = seed_incident(seeded.sandbox.endpoint_url, now=seeded.now)
    assert again == seeded.incident
    assert len(seeded.instances()) == 5


@pytest.mark.wipes_aws
def test_reset_clears_everything_and_reseeding_works(seeded: Seeded) -> None:
    seeded.sandbox.reset()
    assert seeded.instances() == {}
    assert seeded.logs.describe_log_groups()["logGroups"] == []
    seeded.incident = seed_incident(seeded.sandbox.endpoint_url, now=seeded.now)  # leave the module's state usable
    assert set(seeded.instances()) == set(seeded.incident.instances)


def test_endpoint_url_needs_a_started_sandbox() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = MotoSandbox().endpoint_url
