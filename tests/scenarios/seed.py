"""Planting one scenario in moto: instances, log lines, metric points and alarms in the scenario's own region.

Each scenario has a region nothing else uses, so seeding never changes what other tests (the demo incident
in us-east-1, the accounts tests in eu-west-1) see, and a second seeding in the same process is a no-op.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config


@dataclass(frozen=True)
class Host:
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    stopped: bool = False


@dataclass(frozen=True)
class Lines:
    """``message`` (``{n}`` = a counter) every ``every_s`` seconds from ``from_min`` to ``to_min`` minutes ago."""

    group: str
    message: str
    from_min: float
    to_min: float = 0.5
    every_s: float = 60.0


@dataclass(frozen=True)
class Series:
    namespace: str
    metric: str
    dimension: tuple[str, str]  # value "@host" means that host's instance id
    value: Callable[[int], float]  # minutes ago -> value
    minutes: int = 60


@dataclass(frozen=True)
class AlarmSeed:
    name: str
    namespace: str
    metric: str
    dimension: tuple[str, str]
    threshold: float
    firing: bool = True
    reason: str = "Threshold Crossed: the last datapoint was greater than the threshold."


@dataclass(frozen=True)
class Seed:
    hosts: tuple[Host, ...] = ()
    lines: tuple[Lines, ...] = ()
    series: tuple[Series, ...] = ()
    alarms: tuple[AlarmSeed, ...] = ()


def _clients(region: str) -> tuple[Any, Any, Any]:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=region)
    config = Config(proxies={}, retries={"max_attempts": 2, "mode": "standard"})
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    return tuple(session.client(s, endpoint_url=endpoint, config=config)  # type: ignore[return-value]
                 for s in ("ec2", "logs", "cloudwatch"))


def plant(seed: Seed, region: str, now: datetime) -> dict[str, str]:
    """Seed once per region; returns host name -> instance id (read back when already seeded)."""
    ec2, logs, cw = _clients(region)
    existing = {t["Value"]: i["InstanceId"] for r in ec2.describe_instances()["Reservations"]
                for i in r["Instances"] for t in i.get("Tags", []) if t["Key"] == "Name"}
    if existing or logs.describe_log_groups().get("logGroups") or cw.describe_alarms().get("MetricAlarms"):
        return existing
    ids: dict[str, str] = {}
    for host in seed.hosts:
        tags = [{"Key": "Name", "Value": host.name}, *({"Key": k, "Value": v} for k, v in host.tags.items())]
        got = ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t3.medium", MinCount=1, MaxCount=1,
                                TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
        ids[host.name] = got["Instances"][0]["InstanceId"]
        if host.stopped:
            ec2.stop_instances(InstanceIds=[ids[host.name]])
    _plant_logs(logs, seed.lines, now)
    _plant_series(cw, seed.series, ids, now)
    for alarm in seed.alarms:
        dim_value = ids.get(alarm.dimension[1][1:], alarm.dimension[1]) if alarm.dimension[1].startswith("@") \
            else alarm.dimension[1]
        cw.put_metric_alarm(AlarmName=alarm.name, Namespace=alarm.namespace, MetricName=alarm.metric,
                            Dimensions=[{"Name": alarm.dimension[0], "Value": dim_value}], Statistic="Average",
                            Period=60, EvaluationPeriods=1, Threshold=alarm.threshold,
                            ComparisonOperator="GreaterThanThreshold")
        cw.set_alarm_state(AlarmName=alarm.name, StateValue="ALARM" if alarm.firing else "OK",
                           StateReason=alarm.reason, StateReasonData=json.dumps({"version": "1.0"}))
    return ids


def _plant_logs(logs: Any, lines: tuple[Lines, ...], now: datetime) -> None:
    by_group: dict[str, list[tuple[int, str]]] = {}
    for spec in lines:
        age, n = spec.from_min * 60, 0
        while age >= spec.to_min * 60:
            n += 1
            stamp = int((now - timedelta(seconds=age)).timestamp() * 1000)
            by_group.setdefault(spec.group, []).append((stamp, spec.message.format(n=n)))
            age -= spec.every_s
    for group, events in by_group.items():
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="main")
        logs.put_log_events(logGroupName=group, logStreamName="main",
                            logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)])


def _plant_series(cw: Any, series: tuple[Series, ...], ids: dict[str, str], now: datetime) -> None:
    end = now.replace(second=0, microsecond=0)
    for s in series:
        value = ids.get(s.dimension[1][1:], s.dimension[1]) if s.dimension[1].startswith("@") else s.dimension[1]
        data = [{"MetricName": s.metric, "Dimensions": [{"Name": s.dimension[0], "Value": value}],
                 "Timestamp": end - timedelta(minutes=age), "Value": s.value(age)} for age in range(s.minutes, -1, -1)]
        cw.put_metric_data(Namespace=s.namespace, MetricData=data)


def utc_now() -> datetime:
    return datetime.now(UTC)
