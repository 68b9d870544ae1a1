"""Changes as triage evidence: the write events on a firing alarm's resources in the window before its breach,
nearest first, with who made them and the console link, and a timed ``change`` moment for each, so the
heuristics, the bundle and the model's first prompt all lead with the change an incident most often follows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.aws.changes import Change
from bot.aws.records import Alarm
from handlers.changes import change_line, changes_for_alarms
from handlers.evidence import Finding, Moment, TriageContext, TriageJobs
from handlers.services import Services

TITLE = "Changes before the firing alarms' breaches"


def changes_hook(log_groups: Callable[[Alarm, Services], list[str]]) -> Callable[[TriageContext], TriageJobs]:
    """The `changes` capability's hook; ``log_groups`` maps an alarm to its log groups (the operator's mapping)."""

    def hook(ctx: TriageContext) -> TriageJobs:
        if not ctx.alarms:
            return {}
        svc = ctx.services

        def job() -> list[Finding]:
            found, notes = changes_for_alarms(svc, ctx.alarms, lambda a: log_groups(a, svc))
            return [changes_finding(found, notes, ctx.now, svc.settings.changes_window_s)]

        return {"changes": job}

    return hook


def changes_finding(found: Sequence[tuple[Alarm, Change, datetime]], notes: Sequence[str], now: datetime,
                    window_s: int) -> Finding:
    """``found`` nearest the breach first (as ``changes_for_alarms`` returns it); notes say what was not read."""
    lines = [f"{a.name}: {change_line(c, now, breach=b, resource=True)}" for a, c, b in found]
    if not found:
        lines.append(f"none on the firing alarms' resources in the {window_s // 60} min before their breaches")
    lines += notes
    moments = tuple(Moment(c.when, "change", c.resource, f"{c.what} on {c.resource} by {c.who}") for _, c, _ in found)
    resources = tuple(dict.fromkeys(x for a, c, _ in found for x in (c.resource, a.name) if x))
    title = f"{TITLE} ({len(found)}), nearest first" if found else f"{TITLE} (none)"
    return Finding("changes", title, tuple(lines), moments, resources)
