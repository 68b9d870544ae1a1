"""`metrics <instance> [cpu|network|disk|status] [window]`: min/avg/max, last value and trend."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.aws import cloudwatch, ec2
from bot.aws.accounts import Target
from bot.aws.records import Instance, MetricSeries
from bot.errors import UserInputError
from bot.models import Reply, Request, Section
from bot.progress import report
from handlers.charting import series_chart
from handlers.formatting import num, stamp
from handlers.parsing import format_window, split_window
from handlers.scope import Scope, fleet_targets, gather, labelled, split_scope
from handlers.services import Services
from handlers.summarize import finish

USAGE = "usage: `/cloudops metrics <instance> [cpu|network|disk|status] [1h]`, e.g. `/cloudops metrics web-1 cpu 3h`"


def trend(values: tuple[float, ...]) -> str:
    """Compare the last quarter with the first quarter: rising, falling or flat (±15 %)."""
    if len(values) < 4:
        return "too few points"
    q = max(1, len(values) // 4)
    head, tail = sum(values[:q]) / q, sum(values[-q:]) / q
    if head == 0:
        return "rising" if tail > 0 else "flat"
    change = (tail - head) / abs(head)
    return "rising" if change > 0.15 else "falling" if change < -0.15 else "flat"


def describe(series: MetricSeries) -> str:
    if series.empty:
        return f"{series.label}: no datapoints"
    v = series.values
    peak_at = series.timestamps[v.index(max(v))]
    unit = f" [{series.unit}]" if series.unit else ""
    return (f"{series.label}{unit}: min {num(min(v))}, avg {num(sum(v) / len(v))}, max {num(max(v))} "
            f"at {stamp(peak_at)}, last {num(v[-1])}, trend {trend(v)}, {len(v)} points")


def sparkline(values: tuple[float, ...], width: int = 40) -> str:
    if not values:
        return ""
    step = max(1, len(values) // width)
    pts = [max(values[i:i + step]) for i in range(0, len(values), step)]
    lo, hi = min(pts), max(pts)
    bars = "▁▂▃▄▅▆▇█"
    return "".join(bars[0 if hi == lo else int((p - lo) / (hi - lo) * 7)] for p in pts)


@dataclass(frozen=True)
class InstanceMetrics:
    target: Target
    instance: Instance
    targets: list[Target]  # the scope searched, for labelling
    series: list[MetricSeries]


def find_instance(selector: str, scope: Scope, services: Services) -> tuple[Target, Instance, list[Target]]:
    """The one instance ``selector`` names anywhere in scope; a name that matches several is refused."""
    ec2.selector_filters(selector)  # validate before any AWS call
    targets = fleet_targets(scope, services)  # an instance lives in one account/region: look everywhere in scope
    found, _ = gather(targets, services, lambda svc: ec2.describe_instances(svc.aws, selector, cap=2), lookup=True)
    matches = [(t, i) for t in sorted(found) for i in found[t]]
    if len(matches) > 1:
        places = ", ".join(f"{i.instance_id} in {t.label}" for t, i in matches[:4])
        raise UserInputError(f"{selector!r} matches several instances ({places})",
                             "use the instance id" + (" and --account/--region" if len(found) > 1 else ""))
    target, inst = matches[0]
    return target, inst, targets


def read_metrics(selector: str, kind: str, window: int, scope: Scope, services: Services) -> InstanceMetrics:
    """The one gatherer of ``metrics`` and the ``get_instance_metrics`` tool."""
    if kind not in cloudwatch.EC2_METRICS:
        raise UserInputError(f"{kind!r} is not a metric kind", f"use one of {', '.join(cloudwatch.EC2_METRICS)}")
    target, inst, targets = find_instance(selector, scope, services)
    svc = services.at(target)
    report(f"Reading {kind} metrics of {inst.name or inst.instance_id}…")
    series = cloudwatch.instance_metrics(svc.aws, inst.instance_id, kind, window, now=svc.clock())
    return InstanceMetrics(target, inst, targets, series)


def handle_metrics(request: Request, args: list[str], services: Services) -> Reply:
    args, scope = split_scope(args, request, services)
    rest, window = split_window(args, services.settings)
    if not rest:
        raise UserInputError("which instance?", USAGE)
    kind = "cpu"
    if len(rest) > 1:
        kind = rest[1].lower()
    if len(rest) > 2 or kind not in cloudwatch.EC2_METRICS:
        raise UserInputError(f"{' '.join(rest[1:])!r} is not a metric kind", USAGE)
    got = read_metrics(rest[0], kind, window, scope, services)
    target, inst, targets, series = got.target, got.instance, got.targets, got.series
    services = services.at(target)
    label = f"{inst.name or inst.instance_id} ({inst.instance_id})" + (
        f" — {target.label}" if labelled(services, targets) else "")
    lines = [describe(s) for s in series]
    charts = [f"{s.label}: {sparkline(s.values)}" for s in series if not s.empty]
    evidence = "\n".join(lines)
    sections = (Section(title=f"{kind} over the last {format_window(window)}", text="\n".join(lines + charts),
                        code=True),)
    main = series[0]
    if main.empty:
        fallback = f"No {kind} datapoints for {label} in the last {format_window(window)}."
    else:
        fallback = (f"{main.label} for {label}: last {num(main.values[-1])}{main.unit if main.unit == '%' else ''}, "
                    f"peak {num(max(main.values))}, trend {trend(main.values)}.")
    reply = finish(services, request, title=f"Metrics — {label}", sections=sections, evidence=evidence,
                   fallback=services.scrub(fallback), prompt="metrics",
                   values={"instance": label, "kind": kind, "window": format_window(window)})
    chart_title = services.scrub(f"{kind} — {label}, last {format_window(window)}")
    return replace(reply, charts=series_chart(chart_title, series))
