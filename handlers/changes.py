"""What changed: one gatherer over every change source, for `changes`, its tool, the evidence pack and
the evidence-only answer.

Sources run in parallel per account/region; a source AWS refuses or throttles becomes one note and the
rest of the answer stands. ``related_names`` says which resources an alarm is about (its dimensions,
its tags, the log groups mapped to it), so an incident shows the changes on those, nearest the breach first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.aws import changes as aws_changes
from bot.aws import cloudwatch
from bot.aws.accounts import Target
from bot.aws.changes import Change, short
from bot.aws.records import Alarm
from bot.errors import AwsAccessDenied, AwsThrottled, CloudOpsError
from bot.progress import report
from handlers.formatting import ago, stamp
from handlers.scope import Scope, fleet_targets, gather, where
from handlers.services import Services

# kind word of `changes <kind> <name>` -> the sources that can speak about it (CloudTrail always can)
KINDS: dict[str, tuple[str, ...]] = {
    "resource": ("cloudtrail", "cloudformation", "autoscaling", "ecs", "lambda"),
    "service": ("cloudtrail", "ecs"),
    "function": ("cloudtrail", "lambda"),
    "db": ("cloudtrail",),
    "stack": ("cloudtrail", "cloudformation"),
}
_LABEL = {"cloudtrail": "CloudTrail", "cloudformation": "CloudFormation stack events",
          "autoscaling": "Auto Scaling activities", "ecs": "ECS deployments", "lambda": "Lambda updates"}
_SOURCES: dict[str, Callable[..., list[Change]]] = {
    "cloudtrail": aws_changes.trail_changes, "cloudformation": aws_changes.stack_changes,
    "autoscaling": aws_changes.scaling_changes, "ecs": aws_changes.service_deployments,
    "lambda": aws_changes.function_changes,
}
# alarm dimensions that name a resource a change could have touched
_DIMENSIONS = ("ServiceName", "ClusterName", "FunctionName", "DBInstanceIdentifier", "DBClusterIdentifier",
               "LoadBalancer", "TargetGroup", "AutoScalingGroupName", "InstanceId", "QueueName", "TableName")


# alarm tag keys whose value names the resource the alarm is about
_TAG_KEYS = ("service", "app", "application", "function", "component", "db", "stack")


def alarm_tags(svc: Services, alarm: Alarm) -> tuple[dict[str, str], list[str]]:
    """The alarm's tags, or a note when they could not be read (the rest of the lookup goes on)."""
    if not alarm.arn:
        return {}, []
    try:
        return cloudwatch.alarm_tags(svc.aws, alarm.arn), []
    except CloudOpsError as exc:
        return {}, [f"Tags of {alarm.name} not read: {exc.message}."]


@dataclass
class Changes:
    """Changes found (with where), and one note per source or target not read."""

    found: list[tuple[Target, Change]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_changes(scope: Scope, services: Services, start: datetime, end: datetime, *,
                 names: Iterable[str] = (), kind: str = "resource") -> Changes:
    """The one change gatherer: every source of ``kind`` in every target, kept to ``names`` when given."""
    targets = fleet_targets(scope, services)
    report("Reading recent changes…" if len(targets) == 1 else f"Reading recent changes in {where(targets)}…")
    wanted = [n for n in names if n]
    per_target, unread = gather(targets, services,
                                lambda svc: changes_here(svc, start, end, wanted, kind, exact=False))
    out = Changes(notes=list(unread))
    for target in sorted(per_target):
        found, notes = per_target[target]
        out.found += [(target, c) for c in found]
        out.notes += [f"{target.label}: {n}" if len(targets) > 1 else n for n in notes]
    out.found.sort(key=lambda tc: tc[1].when, reverse=True)
    return out


def changes_here(svc: Services, start: datetime, end: datetime, names: Iterable[str] = (),
                 kind: str = "resource", *, exact: bool = True) -> tuple[list[Change], list[str]]:
    """Every source of ``kind`` in ``svc``'s own account/region, in parallel: (changes newest first, notes).

    ``exact``: a change must name one of ``names`` itself (an alarm's resources); otherwise a part of a name
    will do (``changes api`` finds api-prod)."""
    wanted = {n.lower() for n in names if n}
    cap = svc.settings.changes_max_events
    def job(source: str) -> Callable[[], list[Change]]:
        return lambda: _SOURCES[source](svc.aws, start, end, cap)

    got = svc.parallel.run({s: job(s) for s in KINDS[kind]})
    found: list[Change] = []
    notes: list[str] = []
    for source, result in got.items():
        if isinstance(result, CloudOpsError):
            notes.append(_note(source, result))
        elif isinstance(result, Exception):
            raise result
        else:
            found += [c for c in result if not wanted or _matches(c, wanted, exact=exact)]
    found.sort(key=lambda c: c.when, reverse=True)
    return found, notes


def _matches(change: Change, wanted: set[str], *, exact: bool = True) -> bool:
    return any(n.lower() in wanted or (not exact and any(w in n.lower() for w in wanted)) for n in change.names())


def _note(source: str, exc: CloudOpsError) -> str:
    """One line: the rest of the answer stands."""
    label = _LABEL[source]
    if isinstance(exc, AwsThrottled):
        return f"{label} not read: AWS is throttling it; try again in a minute."
    if isinstance(exc, AwsAccessDenied):
        return f"{label} not read: {exc.message}."
    return f"{label} not read: {exc.message}."


def related_names(alarm: Alarm, log_groups: Iterable[str], tags: dict[str, str] | None = None) -> list[str]:
    """Resources an alarm is about: its dimensions, its tags naming a resource (``service=api-prod``) and its
    mapped log groups (``/ecs/api-prod`` → api-prod)."""
    names = [v for k, v in (tags or {}).items() if k.lower() in _TAG_KEYS]
    for dim in _DIMENSIONS:
        value = alarm.dimensions.get(dim, "")
        parts = value.split("/")
        # LoadBalancer app/api-prod-alb/50dc…, TargetGroup targetgroup/api-prod-tg/6d0e…: the middle is the name
        names.append(parts[1] if dim in ("LoadBalancer", "TargetGroup") and len(parts) == 3 else short(value))
    names += [short(group) for group in log_groups]
    return list(dict.fromkeys(n for n in names if n))


def changes_before(alarm: Alarm, services: Services,
                   log_groups: Iterable[str]) -> tuple[list[Change], list[str], datetime]:
    """Changes on the alarm's resources in the window before its breach (in the alarm's own account/region),
    nearest the breach first, and the breach time."""
    breach = alarm.updated or services.clock()
    tags, notes = alarm_tags(services, alarm)
    names = related_names(alarm, log_groups, tags)
    if not names:
        return [], [*notes, "No resource to look up changes for: the alarm names no service, function, db or "
                            "log group (dimensions, tags, CLOUDOPS_ALARM_LOG_GROUPS)."], breach
    found, more = changes_here(services, breach - timedelta(seconds=services.settings.changes_window_s), breach,
                               names)
    return found, notes + more, breach


def changes_for_alarms(svc: Services, alarms: Iterable[Alarm], log_groups: Callable[[Alarm], list[str]],
                       limit: int = 5) -> tuple[list[tuple[Alarm, Change, datetime]], list[str]]:
    """For up to ``limit`` alarms of one account/region: each alarm's changes in the window before its breach,
    read in one pass (CloudTrail allows ~2 lookups a second). Returns (alarm, change, breach) nearest first."""
    chosen = list(alarms)[:limit]
    tagged = {a.name: alarm_tags(svc, a) for a in chosen}
    tag_notes = [n for _, ns in tagged.values() for n in ns]
    wanted = {a.name: related_names(a, log_groups(a), tagged[a.name][0]) for a in chosen}
    names = [n for ns in wanted.values() for n in ns]
    if not names:
        return [], tag_notes
    span = timedelta(seconds=svc.settings.changes_window_s)
    breaches = {a.name: a.updated or svc.clock() for a in chosen}
    found, notes = changes_here(svc, min(breaches.values()) - span, max(breaches.values()), names)
    notes = tag_notes + notes
    out: list[tuple[Alarm, Change, datetime]] = []
    for alarm in chosen:
        breach = breaches[alarm.name]
        mine = {n.lower() for n in wanted[alarm.name]}
        out += [(alarm, c, breach) for c in found if breach - span <= c.when <= breach and _matches(c, mine)]
    out.sort(key=lambda acb: acb[2] - acb[1].when)
    return out, notes


def change_line(change: Change, now: datetime, *, breach: datetime | None = None, resource: bool = False) -> str:
    """``16:02 UTC (4m before the breach) ecs UpdateService by alice@example.com — link``."""
    when = (f"{stamp(change.when)} ({before(change.when, breach)} the breach)" if breach is not None
            else f"{stamp(change.when)} ({ago(change.when, now)})")
    on = f" on {change.resource}" if resource else ""
    return f"{when} {change.what}{on} by {change.who}" + (f" — {change.link}" if change.link else "")


def before(when: datetime, breach: datetime) -> str:
    secs = int((breach - when).total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} before"
    return f"{max(secs, 0)}s before"


def grouped(found: list[tuple[Target, Change]], now: datetime, *, label: bool) -> str:
    """Newest first, grouped per resource (resources ordered by their newest change)."""
    groups: dict[tuple[str, str], list[Change]] = {}
    for target, change in found:
        groups.setdefault((target.label if label else "", change.resource), []).append(change)
    blocks = []
    for (where_, resource), changes in groups.items():
        head = (f"[{where_}] " if where_ else "") + resource + f" ({len(changes)})"
        blocks.append(head + "\n" + "\n".join("  " + change_line(c, now) for c in changes))
    return "\n".join(blocks)
