"""`alarms [alarm|ok|insufficient_data|all]`: CloudWatch alarms with metric, threshold and since when."""

from __future__ import annotations

from bot.aws import cloudwatch
from bot.aws.accounts import Target
from bot.aws.records import Alarm
from bot.errors import UserInputError
from bot.models import Reply, Request, Section
from bot.progress import report
from handlers.formatting import ago, num, stamp
from handlers.scope import Scope, fleet_targets, gather, labelled, split_scope, where
from handlers.services import Services
from handlers.summarize import finish

_STATES = {"alarm": "ALARM", "ok": "OK", "insufficient_data": "INSUFFICIENT_DATA",
           "insufficient": "INSUFFICIENT_DATA", "all": None}
_OPS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": "≥", "LessThanThreshold": "<",
        "LessThanOrEqualToThreshold": "≤"}


def condition(a: Alarm) -> str:
    """``Average > 80``: the alarm's statistic, comparison and threshold (empty without a threshold)."""
    return f"{a.statistic} {_OPS.get(a.comparison, a.comparison)} {num(a.threshold)}" if a.threshold is not None else ""


def alarm_line(a: Alarm, services: Services) -> str:
    dims = ", ".join(f"{k}={v}" for k, v in a.dimensions.items())
    cond = condition(a)
    since = f"since {stamp(a.updated)} ({ago(a.updated, services.clock())})"
    head = f"{a.name} [{a.state}] {a.metric}" + (f" ({dims})" if dims else "") + (f" {cond}" if cond else "")
    return services.scrub(f"{head} — {since}\n    {a.reason}")


def read_alarms(state: str | None, scope: Scope,
                services: Services) -> tuple[list[Target], list[tuple[Target, Alarm]], list[str]]:
    """The one alarm gatherer of ``alarms`` and the ``get_alarms`` tool: (targets, alarms, unread notes)."""
    targets = fleet_targets(scope, services)
    report("Checking alarms…" if len(targets) == 1 else f"Checking alarms in {where(targets)}…")
    got, notes = gather(targets, services, lambda svc: cloudwatch.describe_alarms(svc.aws, state))
    return targets, [(t, a) for t in sorted(got) for a in got[t]], notes


def handle_alarms(request: Request, args: list[str], services: Services) -> Reply:
    args, scope = split_scope(args, request, services)
    word = (args[0].lower() if args else "alarm")
    if word not in _STATES or len(args) > 1:
        raise UserInputError(f"{' '.join(args)!r} is not an alarm state",
                             "use `/cloudops alarms`, `alarms ok`, `alarms insufficient_data` or `alarms all`")
    state = _STATES[word]
    targets, found, notes = read_alarms(state, scope, services)
    label = state or "any state"
    prefix = labelled(services, targets)
    title = f"CloudWatch alarms — {label}" + (f" — {where(targets)}" if prefix else "")
    if not found:
        return Reply(title=title, notes=tuple(notes),
                     summary=f"No alarms in {label} in {where(targets) if prefix else targets[0].region}." + (
                         " Nothing is firing." if state == "ALARM" else ""))
    lines = [(f"[{t.label}] " if prefix else "") + alarm_line(a, services) for t, a in found]
    evidence = "\n".join(lines)
    firing = [a for _, a in found if a.state == "ALARM"]
    fallback = (f"{len(firing)} alarm(s) firing: " + ", ".join(a.name for a in firing[:8]) + "."
                if firing else f"{len(found)} alarm(s) in {label}.")
    section = Section(title=f"{len(found)} alarm(s) in {label}", text=evidence, code=True)
    return finish(services, request, title=title, sections=(section,), evidence=evidence,
                  fallback=services.scrub(fallback), prompt="alarms", values={"state": label}, notes=tuple(notes))
