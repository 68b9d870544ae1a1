"""Likely causes for an alarm that just fired, ranked from what its evidence pack already read (the metric
around the breach, the changes before it, the instance, the mapped log groups): the same heuristics as a
question's, no extra AWS call."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.aws.records import Alarm, Instance, InstanceHealth, LogQueryResult, MetricSeries
from bot.models import Section
from handlers.evidence import Finding, Moment
from handlers.logs import scrubbed_events
from handlers.services import Services
from handlers.triage.causes import HEURISTICS_LABEL, likely_causes, render_causes
from handlers.triage.sources import alarm_metric_finding, log_finding, status_finding


def alarm_causes(alarm: Alarm, services: Services, now: datetime, window_s: int, *,
                 series: MetricSeries | None = None,
                 instances: tuple[tuple[Instance, InstanceHealth | None], ...] = (),
                 logs: Mapping[str, LogQueryResult] | None = None, changes: Finding | None = None) -> Section:
    """The heuristics' section for an alarm's evidence pack, from the pack's own (already read) evidence."""
    findings: list[Finding] = []
    if alarm.updated is not None:
        findings.append(Finding("alarms", alarm.name, (), (Moment(alarm.updated, "alarm", alarm.name,
                                                                  f"{alarm.name} entered ALARM"),)))
    if changes is not None:
        findings.append(changes)
    if series is not None:
        findings.append(alarm_metric_finding(alarm, series))
    if instances:
        findings.append(status_finding(services, instances, now, window_s))
    for group, result in (logs or {}).items():
        findings.append(log_finding(services, group, scrubbed_events(services, result), window_s))
    text = services.scrub(render_causes(likely_causes(findings)))
    return Section(title=HEURISTICS_LABEL, text=text, code=True)
