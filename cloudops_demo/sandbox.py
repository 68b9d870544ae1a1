"""Seed an AWS (moto) endpoint with one small, believable incident for the demo and end-to-end tests.

The story is the same in every service so the bot's answers can be checked against it: in the last
20 minutes api-1's CPU climbs to ~95 %, POST /checkout returns 502 Bad Gateway and times out because
the orders database stops accepting connections, the worker queue backs up, and batch-1 was just
restarted. One worker log line leaks a fake AWS key plus ``<!channel>`` so redaction and Slack
escaping can be shown and tested. Timestamps are relative to ``now`` so 15 m … 1 d windows all find
data; seeded randomness keeps the content stable between runs.

Meant for a fresh moto state: a second call on the same state returns what is already there instead
of duplicating it, and ``MotoSandbox.reset()`` wipes everything for a clean re-seed.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.literals import StandardUnitType, StatisticType
    from mypy_boto3_cloudwatch.type_defs import MetricDatumTypeDef
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.literals import InstanceTypeType
    from mypy_boto3_ec2.type_defs import TagTypeDef
    from mypy_boto3_logs import CloudWatchLogsClient

FAKE_ACCESS_KEY_ID = "AKIAFAKEDEMOSANDBOX7"
# Planted on purpose, 40 chars like a real one, so tests can prove it never leaves the process.
FAKE_SECRET_KEY = "fAkEdEmOsEcReT/0nlyForTheSandbox+K3yX9q2"  # noqa: S105  # nosec B105
MARKER_TAG = "cloudops:sandbox"  # on every seeded instance; how a second call recognises seeded state
_AMI = "ami-12c6146b"  # one of moto's built-in fake AMIs
_METRICS_PER_CALL = 1000  # PutMetricData's documented per-request limit (moto itself has none)
_HISTORY_MIN = 180  # three hours of 1-minute metric points
_LOG_HISTORY_S = 7200  # two hours of ordinary log traffic
_INCIDENT_MIN = 20
_LOG_GROUPS = {"/ecs/api-prod": 30, "/ecs/worker-prod": 14, "/aws/lambda/checkout": 7}  # name -> retention days


class _Host(NamedTuple):
    name: str
    team: str
    instance_type: InstanceTypeType
    az_suffix: str
    cpu_baseline: float


_HOSTS = (
    _Host("web-1", "web", "t3.medium", "a", 18.0),
    _Host("web-2", "web", "t3.medium", "b", 16.0),
    _Host("api-1", "api", "c5.xlarge", "a", 34.0),
    _Host("worker-1", "data", "m5.large", "b", 41.0),
    _Host("batch-1", "data", "m5.large", "b", 11.0),
)
_SPIKING, _STOPPED, _RESTARTED = "api-1", "worker-1", "batch-1"
_STOPPED_MIN_AGO = 95  # worker-1's CPU series ends here
_BATCH_DOWN = (12, 9)  # batch-1 reports nothing from 12 to 9 minutes ago (stop, boot)
_API_LB, _WEB_LB = "app/api-prod-alb/50dc6c495c0c9188", "app/web-prod-alb/8e2f1a9b3c4d5e6f"
_QUEUE = "orders-events"
_TRACEBACK = """ERROR [checkout.views] Unhandled exception in POST /checkout request_id={rid}
Traceback (most recent call last):
  File "/app/checkout/views.py", line 88, in create_order
    order = repo.save(cart)
  File "/app/checkout/repo.py", line 41, in save
    with self.pool.connection() as conn:
  File "/usr/local/lib/python3.11/site-packages/psycopg2/pool.py", line 93, in _getconn
    return self._connect(key)
  File "/usr/local/lib/python3.11/site-packages/psycopg2/__init__.py", line 122, in connect
    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)
psycopg2.OperationalError: could not connect to server: Connection timed out
\tIs the server running on host "orders-db.cluster-c8x2k1.us-east-1.rds.amazonaws.com" (10.0.3.41) and accepting
\tTCP/IP connections on port 5432?"""
_LEAK = (
    f"WARN  [worker.settings] reconnecting with settings from env: aws_access_key_id={FAKE_ACCESS_KEY_ID} "
    f"aws_secret_access_key={FAKE_SECRET_KEY} region=us-east-1 notify=<!channel> owner=<@U024BE7LH>"
)
_ROUTES = (  # method, path, median latency in ms
    ("GET", "/api/products", 40.0),
    ("GET", "/api/products/{n}", 25.0),
    ("GET", "/api/cart", 18.0),
    ("POST", "/api/cart/items", 60.0),
    ("POST", "/checkout", 240.0),
    ("GET", "/healthz", 2.0),
)


class _Alarm(NamedTuple):
    name: str
    namespace: str
    metric: str
    dimension: tuple[str, str]
    statistic: StatisticType
    period: int
    threshold: float
    description: str


_ALARMS_IN_ALARM = ("api-prod-5xx-high", "api-1-cpu-high")
_ALARMS_OK = ("worker-queue-depth", "web-latency-p99")

_Stream = tuple[str, str]  # (log group, log stream)
_Events = dict[_Stream, list[tuple[int, str]]]  # -> [(timestamp ms, message)]


@dataclass(frozen=True)
class SeededIncident:
    """What was planted, so the demo can suggest questions and tests can assert on the answers."""

    region: str
    instances: Mapping[str, str]  # Name tag -> instance id
    log_groups: tuple[str, ...]
    alarms_in_alarm: tuple[str, ...]
    alarms_ok: tuple[str, ...]
    spiking_instance: str
    fake_secret: str
    seeded_at: datetime  # the ``now`` every timestamp is relative to (the first seeding's, on a re-seed)
    fake_access_key_id: str = FAKE_ACCESS_KEY_ID


def seed_incident(endpoint_url: str, *, region: str = "us-east-1", now: datetime | None = None) -> SeededIncident:
    """Plant the incident at ``endpoint_url`` (a moto server: the credentials sent are fake)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    ec2, logs, cw = _clients(endpoint_url, region)
    ids, seeded_at = _existing_instances(ec2)
    if not ids:
        ids, seeded_at = _seed_instances(ec2, region, now), now
        _seed_logs(logs, _log_events(now))
        _seed_alarms(cw, ids, _seed_metrics(cw, ids, now), now)
    instances = {h.name: ids[h.name] for h in _HOSTS if h.name in ids}
    return SeededIncident(
        region, instances, tuple(_LOG_GROUPS), _ALARMS_IN_ALARM, _ALARMS_OK, _SPIKING, FAKE_SECRET_KEY,
        seeded_at or now,
    )


def _clients(endpoint_url: str, region: str) -> tuple[EC2Client, CloudWatchLogsClient, CloudWatchClient]:
    """Explicit fake credentials and no proxies, so boto3 never contacts anything but the endpoint."""
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto accepts anything  # noqa: S106  # nosec B106
        region_name=region,
    )
    config = Config(proxies={}, retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)
    return (
        session.client("ec2", endpoint_url=endpoint_url, config=config),
        session.client("logs", endpoint_url=endpoint_url, config=config),
        session.client("cloudwatch", endpoint_url=endpoint_url, config=config),
    )


def _existing_instances(ec2: EC2Client) -> tuple[dict[str, str], datetime | None]:
    """Name -> id of the instances a previous call seeded, and the ``now`` it seeded them at."""
    found: dict[str, str] = {}
    seeded_at: datetime | None = None
    for page in ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "tag-key", "Values": [MARKER_TAG]}]):
        for inst in (i for r in page["Reservations"] for i in r.get("Instances", [])):
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            found[tags.get("Name", inst["InstanceId"])] = inst["InstanceId"]
            with contextlib.suppress(ValueError):
                seeded_at = datetime.fromisoformat(tags.get(MARKER_TAG, ""))
    return found, seeded_at


def _seed_instances(ec2: EC2Client, region: str, now: datetime) -> dict[str, str]:
    """moto stamps LaunchTime with the real clock and cannot change it, so batch-1's recent restart
    is a real stop+start plus a ``restarted-at`` tag the bot can quote."""
    ids: dict[str, str] = {}
    for host in _HOSTS:
        tags: list[TagTypeDef] = [
            {"Key": "Name", "Value": host.name},
            {"Key": "team", "Value": host.team},
            {"Key": "env", "Value": "prod"},
            {"Key": MARKER_TAG, "Value": now.isoformat()},
        ]
        if host.name == _RESTARTED:
            restarted = now - timedelta(minutes=_BATCH_DOWN[1])
            tags.append({"Key": "restarted-at", "Value": f"{restarted:%Y-%m-%dT%H:%M:%SZ}"})
        reply = ec2.run_instances(
            ImageId=_AMI,
            InstanceType=host.instance_type,
            MinCount=1,
            MaxCount=1,
            Placement={"AvailabilityZone": f"{region}{host.az_suffix}"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        ids[host.name] = reply["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[ids[_STOPPED], ids[_RESTARTED]])
    ec2.start_instances(InstanceIds=[ids[_RESTARTED]])
    return ids


def _log_events(now: datetime) -> _Events:
    """~1,400 events: two hours of ordinary traffic, then the incident in the last 20 minutes."""
    rng = random.Random(20261125)  # demo content  # noqa: S311  # nosec B311
    out: _Events = defaultdict(list)
    incident_s = _INCIDENT_MIN * 60

    def hexid(n: int) -> str:
        while "502" in (value := f"{rng.getrandbits(4 * n):0{n}x}"):
            pass
        return value

    def emit(stream: _Stream, age_s: float, msg: str, burst: bool = False) -> None:
        if not burst and "502" in msg:  # a latency or timestamp collided; a search for "502" must find the burst only
            return
        out[stream].append((int((now - timedelta(seconds=age_s)).timestamp() * 1000), msg))

    def ticks(mean_gap_s: float, start_s: float = _LOG_HISTORY_S, stop_s: float = 5) -> Iterator[float]:
        age = start_s - rng.uniform(0, mean_gap_s)
        while age > stop_s:
            yield age
            age -= rng.expovariate(1 / mean_gap_s)

    api = [("/ecs/api-prod", f"api/api/{hexid(32)}") for _ in range(2)]
    worker = [("/ecs/worker-prod", f"worker/worker/{hexid(32)}") for _ in range(2)]
    lam = ("/aws/lambda/checkout", f"{now:%Y/%m/%d}/[$LATEST]{hexid(32)}")
    for stream in api:
        for age in ticks(20):
            method, path, median = rng.choice(_ROUTES)
            status = 201 if path == "/api/cart/items" else 404 if "{n}" in path and rng.random() < 0.05 else 200
            latency = int(median * rng.lognormvariate(0, 0.35)) + 1
            path = path.format(n=rng.randint(1, 999))
            msg = f"INFO  [access] method={method} path={path} status={status} latency_ms={latency}"
            emit(stream, age, f"{msg} request_id={hexid(12)}")
        for age in ticks(300):
            emit(stream, age, f"INFO  [db] pool size=20 in_use={rng.randint(2, 7)} waiting=0")
        for age in ticks(30, incident_s):
            where = f"method=POST path=/checkout request_id={hexid(12)}"
            if rng.random() < 0.6:
                latency = 30000 + rng.randint(0, 40)
                msg = f'ERROR [gateway] {where} status=502 latency_ms={latency} error="502 Bad Gateway"'
            else:
                msg = f"WARN  [gateway] upstream timed out after 30000 ms {where} upstream=orders-svc:8080"
            emit(stream, age, msg, burst="502" in msg)
        for age in ticks(60, incident_s):
            emit(stream, age, f"WARN  [db] pool exhausted size=20 in_use=20 waiting={rng.randint(12, 48)}")
    emit(api[0], 11 * 60 + 7, _TRACEBACK.format(rid=hexid(12)))
    for stream in worker:
        for age in ticks(45):
            kind = rng.choice(("receipt", "fulfil", "stock"))
            msg = f"INFO  [worker.consumer] job done queue={_QUEUE} kind={kind} job_id={hexid(10)}"
            emit(stream, age, f"{msg} duration_ms={rng.randint(20, 900)}")
        for age in ticks(90, incident_s):
            visible = int(400 + (_INCIDENT_MIN - age / 60) ** 2 * 33)
            oldest = int(incident_s - age + 60)
            msg = f"ERROR [worker.consumer] queue backing up queue={_QUEUE} visible={visible} oldest_age_s={oldest}"
            emit(stream, age, f"{msg} threshold=5000")
            msg = f"ERROR [worker.jobs] job failed kind=fulfil job_id={hexid(10)} attempt=3/5"
            emit(stream, age - 3, f'{msg} error="OperationalError: could not connect to server: Connection timed out"')
    emit(worker[0], 9 * 60 + 41, _LEAK)
    for age in ticks(240, stop_s=60):
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        failing = age < incident_s
        duration_ms = 30030.0 if failing else rng.uniform(80, 400)
        emit(lam, age, f"START RequestId: {rid} Version: $LATEST")
        if failing:
            emit(lam, age - 30.03, f"{_iso(now, age - 30.03)} {rid} Task timed out after 30.03 seconds")
        else:
            cents = rng.randint(500, 25000)
            emit(lam, age - 0.05, f"[INFO]\t{_iso(now, age - 0.05)}\t{rid}\tcharged order ord_{hexid(8)} cents={cents}")
        emit(lam, age - duration_ms / 1000, f"END RequestId: {rid}")
        msg = f"REPORT RequestId: {rid}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {math.ceil(duration_ms)} ms"
        emit(lam, age - duration_ms / 1000, f"{msg}\tMemory Size: 512 MB\tMax Memory Used: {rng.randint(120, 180)} MB")
    return out


def _iso(now: datetime, age_s: float) -> str:
    return f"{now - timedelta(seconds=age_s):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "Z"


def _seed_logs(logs: CloudWatchLogsClient, events: _Events) -> None:
    for group, retention in _LOG_GROUPS.items():
        logs.create_log_group(logGroupName=group, tags={"env": "prod"})
        logs.put_retention_policy(logGroupName=group, retentionInDays=retention)
    for (group, stream), stream_events in events.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        for batch in _log_batches(sorted(stream_events)):
            reply = logs.put_log_events(
                logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": t, "message": m} for t, m in batch]
            )
            if reply.get("rejectedLogEventsInfo"):
                raise RuntimeError(f"{group} {stream}: events rejected: {reply['rejectedLogEventsInfo']}")


def _log_batches(events: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    """PutLogEvents takes time-sorted batches of at most 10,000 events and ~1 MiB (message + 26 bytes each)."""
    batch: list[tuple[int, str]] = []
    size = 0
    for event in events:
        cost = len(event[1].encode()) + 26
        if batch and (len(batch) == 10_000 or size + cost > 1_000_000):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        yield batch


def _cpu(host: _Host, age: int, rng: random.Random) -> float:
    """CPU % ``age`` minutes ago; NaN where the instance reported nothing (stopped or rebooting)."""
    if host.name == _STOPPED and age < _STOPPED_MIN_AGO:
        return math.nan
    if host.name == _RESTARTED and _BATCH_DOWN[1] <= age < _BATCH_DOWN[0]:
        return math.nan
    value = host.cpu_baseline * (1 + 0.25 * math.sin(age / 40)) + rng.gauss(0, 2.5)
    if host.name == _SPIKING and age < _INCIDENT_MIN:
        value = 93 + rng.uniform(0, 5) if age < _INCIDENT_MIN - 3 else 70 + rng.uniform(0, 15)
    if host.name == _RESTARTED and age < _BATCH_DOWN[1]:
        value += 30 * age / _BATCH_DOWN[1]  # boot work settling down
    return round(min(100.0, max(0.5, value)), 2)


def _datum(metric: str, dim: tuple[str, str], ts: datetime, value: float, unit: StandardUnitType) -> MetricDatumTypeDef:
    return {
        "MetricName": metric,
        "Dimensions": [{"Name": dim[0], "Value": dim[1]}],
        "Timestamp": ts,
        "Value": value,
        "Unit": unit,
    }


def _seed_metrics(cw: CloudWatchClient, ids: Mapping[str, str], now: datetime) -> dict[str, list[float]]:
    """One point a minute for three hours, oldest first; returns the series the alarm reasons quote."""
    rng = random.Random(1729)  # demo content  # noqa: S311  # nosec B311
    ages = range(_HISTORY_MIN - 1, -1, -1)
    stamps = [now.replace(second=0, microsecond=0) - timedelta(minutes=age) for age in ages]
    series: dict[str, list[float]] = {}
    ec2_data: list[MetricDatumTypeDef] = []
    for host in _HOSTS:
        dim = ("InstanceId", ids[host.name])
        series[host.name] = [_cpu(host, age, rng) for age in ages]
        for ts, cpu in zip(stamps, series[host.name], strict=True):
            if not math.isnan(cpu):
                net = round(4e7 * (1 + cpu / 50) * rng.uniform(0.8, 1.2))
                ec2_data.append(_datum("CPUUtilization", dim, ts, cpu, "Percent"))
                ec2_data.append(_datum("NetworkIn", dim, ts, net, "Bytes"))
                ec2_data.append(_datum("NetworkOut", dim, ts, round(net * 2.7), "Bytes"))
    series["5xx"] = [float(rng.randint(18, 64) if a < _INCIDENT_MIN else rng.choice((0, 0, 0, 1))) for a in ages]
    series["backlog"] = [
        400.0 + (_INCIDENT_MIN - a) ** 2 * 33 if a < _INCIDENT_MIN else rng.randint(60, 400) for a in ages
    ]
    series["latency"] = [round(rng.uniform(0.08, 0.35), 3) for _ in ages]

    def points(
        metric: str, dim: tuple[str, str], values: list[float], unit: StandardUnitType
    ) -> list[MetricDatumTypeDef]:
        return [_datum(metric, dim, ts, v, unit) for ts, v in zip(stamps, values, strict=True)]

    batches = {
        "AWS/EC2": ec2_data,
        "AWS/ApplicationELB": points("HTTPCode_Target_5XX_Count", ("LoadBalancer", _API_LB), series["5xx"], "Count")
        + points("TargetResponseTime", ("LoadBalancer", _WEB_LB), series["latency"], "Seconds"),
        "AWS/SQS": points("ApproximateNumberOfMessagesVisible", ("QueueName", _QUEUE), series["backlog"], "Count"),
    }
    for namespace, data in batches.items():
        for start in range(0, len(data), _METRICS_PER_CALL):
            cw.put_metric_data(Namespace=namespace, MetricData=data[start : start + _METRICS_PER_CALL])
    return series


def _seed_alarms(
    cw: CloudWatchClient, ids: Mapping[str, str], series: Mapping[str, list[float]], now: datetime
) -> None:
    """moto never evaluates alarms, so each is set to the state (and reason) its own data justifies."""
    pager = [f"arn:aws:sns:{cw.meta.region_name}:123456789012:oncall-pager"]
    end = now.replace(second=0, microsecond=0)
    cpu, lb, web = series[_SPIKING], ("LoadBalancer", _API_LB), ("LoadBalancer", _WEB_LB)
    alarms = {  # alarm -> the datapoints it evaluated, oldest first
        _Alarm("api-prod-5xx-high", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, "Sum", 60, 10.0,
               "API targets are returning 5xx through the ALB"): [series["5xx"][-1]],
        _Alarm("api-1-cpu-high", "AWS/EC2", "CPUUtilization", ("InstanceId", ids[_SPIKING]), "Average", 300, 80.0,
               "api-1 CPU above 80% for 10 minutes"): [sum(cpu[-10:-5]) / 5, sum(cpu[-5:]) / 5],
        _Alarm("worker-queue-depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", ("QueueName", _QUEUE),
               "Maximum", 300, 25000.0, "orders-events backlog is too deep"): [max(series["backlog"][-5:])],
        _Alarm("web-latency-p99", "AWS/ApplicationELB", "TargetResponseTime", web, "Average", 300, 1.5,
               "web target response time above 1.5 s"): [sum(series["latency"][-5:]) / 5],
    }  # fmt: skip
    for alarm, values in alarms.items():
        n = len(values)
        cw.put_metric_alarm(
            AlarmName=alarm.name,
            AlarmDescription=alarm.description,
            Namespace=alarm.namespace,
            MetricName=alarm.metric,
            Dimensions=[{"Name": alarm.dimension[0], "Value": alarm.dimension[1]}],
            Statistic=alarm.statistic,
            Period=alarm.period,
            EvaluationPeriods=n,
            DatapointsToAlarm=n,
            Threshold=alarm.threshold,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="missing",
            AlarmActions=pager,
            OKActions=pager,
        )
        firing = alarm.name in _ALARMS_IN_ALARM
        # Start of each evaluated period; the last one ends at the newest 1-minute point.
        stamps = [end - timedelta(seconds=alarm.period * (n - i) - 60) for i in range(n)]
        shown = ", ".join(
            f"{v:.1f} ({t:%d/%m/%y %H:%M:%S})" for v, t in reversed(list(zip(values, stamps, strict=True)))
        )
        reason = (
            f"Threshold Crossed: {n} out of the last {n} datapoints [{shown}] was {'' if firing else 'not '}greater "
            f"than the threshold ({alarm.threshold:.1f}) (minimum {n} datapoint{'s' if n > 1 else ''} for "
            f"{'OK -> ALARM' if firing else 'ALARM -> OK'} transition)."
        )
        data = {
            "version": "1.0",
            "queryDate": f"{now:%Y-%m-%dT%H:%M:%S.000+0000}",
            "statistic": alarm.statistic,
            "period": alarm.period,
            "threshold": alarm.threshold,
            "recentDatapoints": [round(v, 2) for v in values],
            "evaluatedDatapoints": [
                {"timestamp": f"{t:%Y-%m-%dT%H:%M:%S.000+0000}", "value": round(v, 2)}
                for v, t in zip(values, stamps, strict=True)
            ],
        }
        cw.set_alarm_state(
            AlarmName=alarm.name,
            StateValue="ALARM" if firing else "OK",
            StateReason=reason,
            StateReasonData=json.dumps(data),
        )
