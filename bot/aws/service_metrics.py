"""CloudWatch series for any resource: a namespace, its dimensions and (metric, statistic, unit) triples.

EC2's friendly kinds live in ``bot.aws.cloudwatch``; Lambda functions and RDS instances ask here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.aws.cloudwatch import period_for
from bot.aws.records import MetricSeries
from bot.aws.session import AwsClients

LAMBDA_METRICS = (("Invocations", "Sum", "count"), ("Errors", "Sum", "count"), ("Throttles", "Sum", "count"),
                  ("Duration", "Average", "ms"), ("Duration", "Maximum", "ms"))
RDS_METRICS = (("CPUUtilization", "Average", "%"), ("DatabaseConnections", "Average", "count"),
               ("FreeStorageSpace", "Minimum", "bytes"))


def resource_series(aws: AwsClients, namespace: str, dimensions: dict[str, str],
                    specs: tuple[tuple[str, str, str], ...], window_s: int,
                    now: datetime | None = None) -> list[MetricSeries]:
    end = now or datetime.now(UTC)
    period = period_for(window_s)
    dims = [{"Name": k, "Value": v} for k, v in dimensions.items()]
    queries = [{"Id": f"m{i}", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": metric,
                                                          "Dimensions": dims}, "Period": period, "Stat": stat}}
               for i, (metric, stat, _unit) in enumerate(specs)]
    page = aws.call("cloudwatch", "GetMetricData", MetricDataQueries=queries,
                    StartTime=end - timedelta(seconds=window_s), EndTime=end, ScanBy="TimestampAscending")
    by_id = {r["Id"]: r for r in page.get("MetricDataResults", [])}
    out = []
    for i, (metric, stat, unit) in enumerate(specs):
        raw = by_id.get(f"m{i}", {})
        pairs = sorted(zip(raw.get("Timestamps", []), raw.get("Values", []), strict=False))
        out.append(MetricSeries(label=f"{metric} ({stat.lower()})", unit=unit,
                                timestamps=tuple(t for t, _ in pairs), values=tuple(v for _, v in pairs)))
    return out
