"""The evidence pack for an alarm that just fired: what an engineer would gather first, in parallel.

metric datapoints around the breach · changes on the alarm's resources before it · EC2 status for
instance dimensions · mapped (or guessed) log groups, compacted · the other alarms firing now · then the
model's triage (evidence-only without one).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.aws import cloudwatch, ec2
from bot.aws.changes import Change
from bot.aws.records import Alarm
from bot.models import ChartSpec, Reply, Request, Section
from handlers.alarm_map import log_groups_for
from handlers.alarms import alarm_line
from handlers.changes import change_line, changes_before
from handlers.charting import alarm_chart
from handlers.evidence import Finding
from handlers.formatting import stamp
from handlers.logs import compact_text, gather_logs, newest_errors, scrubbed_events
from handlers.metrics import describe, sparkline
from handlers.services import Services
from handlers.status import instance_line
from handlers.summarize import finish
from handlers.triage.alarm import alarm_causes
from handlers.triage.changes import changes_finding

BEFORE_S = 1800  # metric window before the breach
LOG_WINDOW_S = 1800


def evidence_pack(alarm: Alarm, services: Services, request: Request) -> Reply:
    now = services.clock()
    start = (alarm.updated or now) - timedelta(seconds=BEFORE_S)
    jobs = {
        "metric": lambda: cloudwatch.alarm_series(services.aws, alarm, start, now),
        "others": lambda: [a for a in cloudwatch.describe_alarms(services.aws, "ALARM") if a.name != alarm.name],
    }
    instance = alarm.dimensions.get("InstanceId")
    if instance:
        jobs["ec2"] = lambda: (ec2.describe_instances(services.aws, instance),
                               ec2.instance_health(services.aws, [instance]))
    groups = log_groups_for(alarm, services)
    jobs["changes"] = lambda: changes_before(alarm, services, groups)
    for group in groups:
        jobs[f"logs:{group}"] = lambda g=group: gather_logs(services, g, [], LOG_WINDOW_S)  # type: ignore[misc]
    got = services.parallel.run(jobs)
    sections: list[Section] = []
    evidence: list[str] = [services.scrub(f"Alarm: {alarm.name} [{alarm.state}] since {stamp(alarm.updated)}: "
                                          f"{alarm.reason}")]
    missing: list[str] = []
    charts: tuple[ChartSpec, ...] = ()
    metric = got["metric"]
    if isinstance(metric, Exception):
        missing.append("the alarm's metric")
    else:
        text = describe(metric) + (f"\n{sparkline(metric.values)}" if metric.values else "")
        sections.append(Section(title=f"{alarm.metric} around the breach", text=text, code=True))
        charts = alarm_chart(alarm, metric, services.scrub)
        evidence.append(text)
    notes_changes = _changes_section(got["changes"], services, sections, evidence, missing)
    if "ec2" in got:
        if isinstance(got["ec2"], Exception):
            missing.append(f"EC2 status of {instance}")
        else:
            instances, health = got["ec2"]
            text = "\n".join(services.scrub(instance_line(i, health.get(i.instance_id), services)) for i in instances)
            sections.append(Section(title="Instance", text=text, code=True))
            evidence.append(text)
    for group in groups:
        result = got[f"logs:{group}"]
        if isinstance(result, Exception):
            missing.append(f"logs of {group}")
            continue
        events = scrubbed_events(services, result)
        if not events:
            continue
        grouped, _, total = compact_text(services, events)
        errors = newest_errors(events, 3)
        text = grouped + ("\nNewest errors:\n" + "\n".join(e.message for e in errors) if errors else "")
        sections.append(Section(title=f"{group}, last 30m ({len(events)} lines, {total} shapes)", text=text,
                                code=True))
        evidence.append(f"Logs {group}:\n{text}")
    others = got["others"]
    if isinstance(others, Exception):
        missing.append("other alarms")
    else:
        text = "\n".join(alarm_line(a, services) for a in others) or "none"
        sections.append(Section(title=f"Other alarms firing now ({len(others)})", text=text, code=True))
        evidence.append(f"Other alarms firing:\n{text}")
    causes = alarm_causes(  # ranked from what was read above, no extra AWS call
        alarm, services, now, LOG_WINDOW_S, series=None if isinstance(metric, Exception) else metric,
        instances=() if isinstance(got.get("ec2"), Exception) or "ec2" not in got else
        tuple((i, got["ec2"][1].get(i.instance_id)) for i in got["ec2"][0]),
        logs={g: got[f"logs:{g}"] for g in groups if not isinstance(got[f"logs:{g}"], Exception)},
        changes=_changes_finding(alarm, got["changes"], services))
    sections.insert(0, causes)
    evidence.append(f"{causes.title}:\n{causes.text}")
    notes: tuple[str, ...] = ((f"Could not read: {', '.join(missing)}.",) if missing else ()) + notes_changes
    if not groups:
        notes += ("No log group is mapped to this alarm (CLOUDOPS_ALARM_LOG_GROUPS).",)
    fallback = services.scrub(f"{alarm.name} fired: {alarm.reason}")
    reply = finish(services, request, title=f"Evidence pack — {alarm.name}", sections=tuple(sections),
                   evidence="\n\n".join(evidence), fallback=fallback, prompt="incident",
                   values={"alarm": alarm.name}, notes=notes)
    return replace(reply, charts=charts)


def _changes_finding(alarm: Alarm, result: object, services: Services) -> Finding | None:
    """The changes read for the pack, as the heuristics' evidence (nothing when they could not be read)."""
    if isinstance(result, Exception):
        return None
    found: list[Change]
    breach: datetime
    found, _, breach = result  # type: ignore[misc]
    return changes_finding([(alarm, c, breach) for c in found], (), services.clock(),
                           services.settings.changes_window_s)


def _changes_section(result: object, services: Services, sections: list[Section], evidence: list[str],
                     missing: list[str]) -> tuple[str, ...]:
    """Changes before the breach, nearest first, placed right after the metric: most incidents follow one."""
    if isinstance(result, Exception):
        missing.append("recent changes")
        return ()
    found: list[Change]
    notes: list[str]
    breach: datetime
    found, notes, breach = result  # type: ignore[misc]
    window = services.settings.changes_window_s // 60
    if found:
        text = services.scrub("\n".join(change_line(c, services.clock(), breach=breach, resource=True) for c in found))
        sections.append(Section(title=f"Changes in the {window} min before the breach ({len(found)}), nearest first",
                                text=text, code=True))
        evidence.append(f"Changes before the breach, nearest first:\n{text}")
    elif not notes:
        evidence.append(f"Changes before the breach: none in the {window} min before it.")
    return tuple(notes)
