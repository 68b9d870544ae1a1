"""The triage hooks of the built-in capabilities: log errors compacted, metrics around the breach, the
named instances' status. Each calls its capability's own gatherer, so triage degrades as the command does."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

from bot.aws import cloudwatch
from bot.aws.records import Alarm, Instance, InstanceHealth, LogEvent, MetricSeries
from bot.text.compaction import is_error_line
from handlers.alarms import condition
from handlers.evidence import Finding, Moment, TriageContext, TriageJobs
from handlers.formatting import ms_stamp, stamp
from handlers.logs import compact_text, gather_logs, newest_errors, scrubbed_events
from handlers.metrics import describe, sparkline
from handlers.parsing import format_window
from handlers.services import Services
from handlers.status import instance_line, problems

BREACH_LOOKBACK_S = 1800  # metric read before an alarm's breach, as the alarm evidence pack does
CPU_HOT = 90.0  # an instance's CPU at or above this is a breach without an alarm to say so
_CHANGE = re.compile(r"\b(deploy(?:ed|ing|ment)?|release[ds]?|rolled out|rollout|rollback|config(?:uration)? "
                     r"(?:change|reload)|migrat(?:ed|ion)|restart(?:ed|ing)|scaled|version=)", re.IGNORECASE)
_GMT = re.compile(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) GMT\)")
_NEWEST = 3
T = TypeVar("T")


def logs_hook(ctx: TriageContext) -> TriageJobs:
    return {f"logs:{g}": partial(_log_findings, ctx, g) for g in ctx.groups}


def metrics_hook(ctx: TriageContext) -> TriageJobs:
    jobs = {f"metric:{a.name}": partial(_listed, _alarm_metric, ctx, a) for a in ctx.alarms}
    alarmed = {a.dimensions.get("InstanceId") for a in ctx.alarms}
    more = {f"cpu:{i.instance_id}": partial(_listed, _cpu, ctx, i) for i, _ in ctx.instances
            if i.instance_id not in alarmed and i.state == "running"}
    return {**jobs, **more}


def status_hook(ctx: TriageContext) -> TriageJobs:
    if not ctx.instances:
        return {}
    return {"status": lambda: [_status(ctx)]}


def _listed(fn: Callable[[TriageContext, T], Finding], ctx: TriageContext, item: T) -> list[Finding]:
    return [fn(ctx, item)]


def _log_findings(ctx: TriageContext, group: str) -> list[Finding]:
    return [_log_finding(ctx, group)]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _log_finding(ctx: TriageContext, group: str) -> Finding:
    svc = ctx.services
    events = scrubbed_events(svc, gather_logs(svc, group, [], ctx.window_s))
    return log_finding(svc, group, events, ctx.window_s, ctx.http_codes)


def log_finding(svc: Services, group: str, events: list[LogEvent], window_s: int,
                http_codes: tuple[str, ...] = ()) -> Finding:
    """One group's scrubbed events as evidence: errors compacted, HTTP-code counts, change lines, timed facts."""
    errors = [e for e in events if is_error_line(e.message)]
    window = format_window(window_s)
    head = f"{len(events)} lines over {window}, {len(errors)} look like errors"
    moments: list[Moment] = []
    if errors:
        head += f", the first at {ms_stamp(errors[0].timestamp_ms)} UTC"
        moments.append(Moment(_at(errors[0].timestamp_ms), "first_error", group, errors[0].message[:200]))
    lines = [head]
    for code in http_codes:
        pattern = re.compile(r"\b" + code.lower().replace("x", r"\d") + r"\b")
        hits = [e for e in events if pattern.search(e.message.lower())]
        if hits:
            lines.append(f"{len(hits)} lines mention {code}: first {ms_stamp(hits[0].timestamp_ms)}, "
                         f"last {ms_stamp(hits[-1].timestamp_ms)} UTC")
            moments.append(Moment(_at(hits[0].timestamp_ms), "first_error", group,
                                  f"first {code}: {hits[0].message[:160]}"))
    changes = [e for e in events if _CHANGE.search(e.message)][-_NEWEST:]
    moments += [Moment(_at(e.timestamp_ms), "change", group, e.message[:200]) for e in changes]
    lines += [f"change? {ms_stamp(e.timestamp_ms)} {e.message}" for e in changes]
    if errors:
        grouped, _, _ = compact_text(svc, errors)
        lines += ["Error lines, grouped by shape:", grouped, "Newest errors:"]
        lines += [f"{ms_stamp(e.timestamp_ms)} {e.message}" for e in newest_errors(events, _NEWEST)]
    return Finding("logs", f"Logs {group}, last {window}", tuple(lines), tuple(moments), (group,))


def _crossings(series: MetricSeries, above: float) -> datetime | None:
    """When the series last went from below ``above`` to at or above it (the start of the current breach)."""
    start: datetime | None = None
    for ts, value in zip(series.timestamps, series.values, strict=False):
        if value >= above and start is None:
            start = ts
        elif value < above:
            start = None
    return start


def _alarm_metric(ctx: TriageContext, alarm: Alarm) -> Finding:
    start = (alarm.updated or ctx.now) - timedelta(seconds=BREACH_LOOKBACK_S)
    return alarm_metric_finding(alarm, cloudwatch.alarm_series(ctx.services.aws, alarm, start, ctx.now))


def alarm_metric_finding(alarm: Alarm, series: MetricSeries) -> Finding:
    """The alarm's metric around its breach, and when the current breach began."""
    lines = [describe(series)] + ([sparkline(series.values)] if series.values else [])
    moments: list[Moment] = []
    greater = "Greater" in alarm.comparison
    if alarm.threshold is not None and series.values and greater:
        at = _crossings(series, alarm.threshold + (1e-9 if "Than" in alarm.comparison and "Equal" not in
                                                   alarm.comparison else 0))
        if at is not None:
            text = f"{alarm.metric} {condition(alarm)} from {stamp(at)} ({alarm.name})"
            moments.append(Moment(at, "breach", alarm.name, text))
            lines.append(f"breach: {text}")
    resources = (alarm.name, *alarm.dimensions.values())
    return Finding("metrics", f"{alarm.metric} around {alarm.name}'s breach", tuple(lines), tuple(moments),
                   resources)


def _cpu(ctx: TriageContext, inst: Instance) -> Finding:
    series = cloudwatch.instance_metrics(ctx.services.aws, inst.instance_id, "cpu", ctx.window_s, now=ctx.now)[0]
    lines = [describe(series)] + ([sparkline(series.values)] if series.values else [])
    moments: list[Moment] = []
    at = _crossings(series, CPU_HOT) if series.values else None
    if at is not None:
        text = f"CPU of {inst.name or inst.instance_id} at or above {CPU_HOT:.0f}% from {stamp(at)}"
        moments.append(Moment(at, "breach", inst.instance_id, text))
        lines.append(f"breach: {text}")
    name = inst.name or inst.instance_id
    return Finding("metrics", f"CPU of {name} ({inst.instance_id})", tuple(lines), tuple(moments),
                   (inst.instance_id, inst.name))


def _status(ctx: TriageContext) -> Finding:
    return status_finding(ctx.services, ctx.instances, ctx.now, ctx.window_s)


def status_finding(svc: Services, instances: tuple[tuple[Instance, InstanceHealth | None], ...], now: datetime,
                   window_s: int) -> Finding:
    """The instances involved, with their state changes, restart/deploy tags and recent launches."""
    lines: list[str] = []
    moments: list[Moment] = []
    for inst, health in instances:
        lines.append(svc.scrub(instance_line(inst, health, svc)))
        moments += _instance_moments(inst, health, now, window_s)
    return Finding("status", f"Instances involved ({len(instances)})", tuple(lines), tuple(moments),
                   tuple(x for i, _ in instances for x in (i.instance_id, i.name) if x))


def _instance_moments(inst: Instance, health: InstanceHealth | None, now: datetime, window_s: int) -> list[Moment]:
    name = inst.name or inst.instance_id
    out: list[Moment] = []
    if problems(inst, health):
        m = _GMT.search(inst.state_reason)
        at = datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC) if m else None
        out.append(Moment(at, "state_change", inst.instance_id,
                          f"{name} ({inst.instance_id}) is {'; '.join(problems(inst, health))}"))
    for key, value in inst.tags.items():
        if key.endswith(("-at", "_at")) and any(w in key for w in ("deploy", "restart", "release", "change")):
            try:
                at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            out.append(Moment(at, "change", inst.instance_id, f"{name} tag {key}={value}"))
    launched = inst.launch_time
    if launched is not None and now - launched < timedelta(seconds=window_s):
        out.append(Moment(launched, "change", inst.instance_id,
                          f"{name} ({inst.instance_id}) launched {stamp(launched)}"))
    return out
