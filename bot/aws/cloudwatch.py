"""CloudWatch gatherers: alarms by state and metric series via GetMetricData."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.aws.records import Alarm, MetricSeries
from bot.aws.session import AwsClients
from bot.errors import UserInputError

ALARM_STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
ALARM_CAP = 200

# Friendly metric names -> (namespace, metric, statistic, unit label) for EC2 instances.
EC2_METRICS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "cpu": (("AWS/EC2", "CPUUtilization", "Average", "%"),),
    "network": (("AWS/EC2", "NetworkIn", "Sum", "bytes"), ("AWS/EC2", "NetworkOut", "Sum", "bytes")),
    "disk": (("AWS/EC2", "EBSReadBytes", "Sum", "bytes"), ("AWS/EC2", "EBSWriteBytes", "Sum", "bytes")),
    "status": (("AWS/EC2", "StatusCheckFailed", "Maximum", "count"),),
}


def describe_alarms(aws: AwsClients, state: str | None = "ALARM") -> list[Alarm]:
    """Alarms in ``state`` (None = all), most recently changed first."""
    kwargs: dict[str, Any] = {"MaxRecords": 100}
    if state:
        if state.upper() not in ALARM_STATES:
            raise UserInputError(f"{state!r} is not an alarm state", "use alarm, ok, insufficient_data or all")
        kwargs["StateValue"] = state.upper()
    out: list[Alarm] = []
    token: str | None = None
    while len(out) < ALARM_CAP:
        if token:
            kwargs["NextToken"] = token
        page = aws.call("cloudwatch", "DescribeAlarms", **kwargs)
        out.extend(_alarm(raw) for raw in page.get("MetricAlarms", []))
        token = page.get("NextToken")
        if not token:
            break
    out.sort(key=lambda a: a.updated or datetime.min.replace(tzinfo=UTC), reverse=True)
    return out[:ALARM_CAP]


def describe_alarm(aws: AwsClients, name: str) -> Alarm | None:
    """One alarm by name (None when it no longer exists)."""
    page = aws.call("cloudwatch", "DescribeAlarms", AlarmNames=[name], AlarmTypes=["MetricAlarm"])
    found = [_alarm(raw) for raw in page.get("MetricAlarms", [])]
    return found[0] if found else None


def alarm_tags(aws: AwsClients, arn: str) -> dict[str, str]:
    """An alarm's tags (``service=api-prod``): how teams say which resource an alarm is about."""
    page = aws.call("cloudwatch", "ListTagsForResource", ResourceARN=arn)
    return {t["Key"]: t["Value"] for t in page.get("Tags", [])}


def _alarm(raw: dict[str, Any]) -> Alarm:
    metric = raw.get("MetricName") or ("(math expression)" if raw.get("Metrics") else "")
    return Alarm(
        name=raw.get("AlarmName", ""),
        state=raw.get("StateValue", ""),
        reason=raw.get("StateReason", ""),
        updated=raw.get("StateUpdatedTimestamp"),
        metric=f"{raw.get('Namespace', '')} {metric}".strip(),
        dimensions={d["Name"]: d["Value"] for d in raw.get("Dimensions", [])},
        threshold=raw.get("Threshold"),
        comparison=raw.get("ComparisonOperator", ""),
        statistic=raw.get("Statistic", "") or raw.get("ExtendedStatistic", ""),
        period_s=int(raw.get("Period", 0) or 0),
        namespace=raw.get("Namespace", ""),
        metric_name=raw.get("MetricName", ""),
        arn=raw.get("AlarmArn", ""),
    )


def period_for(window_s: int) -> int:
    """A period that keeps a series to a readable ~60–180 points (multiples of 60 s, as the API needs)."""
    for period in (60, 300, 900, 3600, 21600, 86400):
        if window_s / period <= 180:
            return period
    return 86400


def instance_metrics(
    aws: AwsClients, instance_id: str, kind: str, window_s: int, now: datetime | None = None
) -> list[MetricSeries]:
    """GetMetricData for one instance and one friendly metric kind (cpu, network, disk, status)."""
    if kind not in EC2_METRICS:
        raise UserInputError(f"{kind!r} is not a metric kind", "use cpu, network, disk or status")
    end = now or datetime.now(UTC)
    period = period_for(window_s)
    specs = EC2_METRICS[kind]
    queries = [
        {
            "Id": f"m{i}",
            "Label": f"{metric}",
            "MetricStat": {
                "Metric": {"Namespace": ns, "MetricName": metric,
                           "Dimensions": [{"Name": "InstanceId", "Value": instance_id}]},
                "Period": period,
                "Stat": stat,
            },
        }
        for i, (ns, metric, stat, _unit) in enumerate(specs)
    ]
    page = aws.call("cloudwatch", "GetMetricData", MetricDataQueries=queries,
                    StartTime=end - timedelta(seconds=window_s), EndTime=end, ScanBy="TimestampAscending")
    by_id = {r["Id"]: r for r in page.get("MetricDataResults", [])}
    out: list[MetricSeries] = []
    for i, (_ns, metric, stat, unit) in enumerate(specs):
        raw = by_id.get(f"m{i}", {})
        pairs = sorted(zip(raw.get("Timestamps", []), raw.get("Values", []), strict=False))
        out.append(MetricSeries(label=f"{metric} ({stat.lower()})", unit=unit,
                                timestamps=tuple(t for t, _ in pairs), values=tuple(v for _, v in pairs)))
    return out


def alarm_series(aws: AwsClients, alarm: Alarm, start: datetime, end: datetime) -> MetricSeries:
    """The alarm's own metric around the breach, at the alarm's period and statistic."""
    if not alarm.metric_name:
        return MetricSeries(label=f"{alarm.metric} (math expression: not fetched)", unit="", timestamps=(), values=())
    stat = alarm.statistic if alarm.statistic in {"Average", "Sum", "Minimum", "Maximum", "SampleCount"} else "Average"
    period = max(60, alarm.period_s or 60)
    query = {
        "Id": "a0",
        "MetricStat": {
            "Metric": {"Namespace": alarm.namespace, "MetricName": alarm.metric_name,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.dimensions.items()]},
            "Period": period,
            "Stat": stat,
        },
    }
    page = aws.call("cloudwatch", "GetMetricData", MetricDataQueries=[query], StartTime=start, EndTime=end,
                    ScanBy="TimestampAscending")
    raw: dict[str, Any] = next(iter(page.get("MetricDataResults", [])), {})
    pairs = sorted(zip(raw.get("Timestamps", []), raw.get("Values", []), strict=False))
    return MetricSeries(label=f"{alarm.metric_name} ({stat.lower()}, {period}s)", unit="",
                        timestamps=tuple(t for t, _ in pairs), values=tuple(v for _, v in pairs))
