"""`status [instance | Name | tag:k=v]`: EC2 state and status checks; the fleet, unhealthy first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.aws import ec2
from bot.aws.accounts import Target
from bot.aws.records import Instance, InstanceHealth
from bot.errors import CloudOpsError
from bot.models import Fact, Reply, Request, Section
from bot.progress import report
from handlers.formatting import ago, stamp
from handlers.scope import Scope, fleet_targets, gather, labelled, split_scope, where
from handlers.services import Services
from handlers.summarize import finish

FLEET_LINES = 40  # instances listed in the fleet view; the rest are counted


def problems(inst: Instance, health: InstanceHealth | None) -> list[str]:
    """What an on-call engineer would flag about one instance."""
    out: list[str] = []
    if inst.state != "running":
        out.append(inst.state + (f" ({inst.state_reason})" if inst.state_reason else ""))
    if health is not None:
        if health.instance_status not in {"ok", "not-applicable"} and inst.state == "running":
            out.append(f"instance check {health.instance_status}")
        if health.system_status not in {"ok", "not-applicable"} and inst.state == "running":
            out.append(f"system check {health.system_status}")
        out += [f"scheduled: {e}" for e in health.events]
    return out


def instance_line(inst: Instance, health: InstanceHealth | None, services: Services) -> str:
    now = services.clock()
    checks = f"checks {health.instance_status}/{health.system_status}" if health else "checks n/a"
    issues = problems(inst, health)
    flag = "⚠ " if issues else ""
    name = inst.name or "(no Name)"
    base = (f"{flag}{name} {inst.instance_id} {inst.state} {inst.instance_type} {inst.az} — {checks}, "
            f"launched {ago(inst.launch_time, now)}")
    return base + (f" — {'; '.join(issues)}" if issues else "")


def _gather(selector: str | None, services: Services) -> tuple[list[Instance], dict[str, InstanceHealth], bool]:
    """One account/region: its instances and status checks, the two read at once."""
    if selector and not ec2.INSTANCE_ID.match(selector):
        instances = ec2.describe_instances(services.aws, selector)
        health: object = _soft(lambda: ec2.instance_health(services.aws, [i.instance_id for i in instances]))
    else:
        got = services.parallel.run({
            "instances": lambda: ec2.describe_instances(services.aws, selector),
            "health": lambda: ec2.instance_health(services.aws, [selector] if selector else None),
        })
        _raise_first(got["instances"])
        instances, health = got["instances"], got["health"]
    ok = isinstance(health, dict) and (bool(health) or not instances)
    return instances, health if isinstance(health, dict) else {}, ok


def _soft(fn: Callable[[], dict[str, InstanceHealth]]) -> object:
    try:
        return fn()
    except CloudOpsError as exc:  # status checks are a bonus: state alone still answers the question
        return exc


@dataclass(frozen=True)
class Fleet:
    """Instances in scope with their status checks; ``notes`` say what could not be read."""

    targets: list[Target]
    rows: list[tuple[Target, Instance]]
    health: dict[tuple[Target, str], InstanceHealth]
    notes: list[str]

    def health_of(self, target: Target, inst: Instance) -> InstanceHealth | None:
        return self.health.get((target, inst.instance_id))

    def ranked(self) -> list[tuple[Target, Instance]]:
        """Instances needing attention first, then by name."""
        return sorted(self.rows, key=lambda r: (not problems(r[1], self.health_of(*r)), r[1].name, r[0],
                                                r[1].instance_id))

    def lines(self, services: Services) -> list[str]:
        """One scrubbed line per instance, ranked, labelled with account/region when that matters."""
        label = labelled(services, self.targets)
        return [services.scrub((f"[{t.label}] " if label else "") + instance_line(i, self.health_of(t, i), services))
                for t, i in self.ranked()]


def read_fleet(selector: str | None, scope: Scope, services: Services) -> Fleet:
    """The one EC2 gatherer of ``status`` and the ``list_instances`` tool: every target in scope, status
    checks read beside the instances; refused or failed status checks leave the instances standing."""
    if selector:
        ec2.selector_filters(selector)  # validate before any AWS call
    targets = fleet_targets(scope, services)
    report(f"Checking EC2 status of {selector or 'the fleet'}" + (f" in {where(targets)}" if len(targets) > 1
                                                                  else "") + "…")
    got, notes = gather(targets, services, lambda svc: _gather(selector, svc), lookup=bool(selector))
    rows = [(t, inst) for t in sorted(got) for inst in got[t][0]]
    health = {(t, iid): h for t in got for iid, h in got[t][1].items()}
    if not all(ok for _, _, ok in got.values()):
        notes.append("Status checks could not be read; showing instance state only.")
    return Fleet(targets, rows, health, notes)


def handle_status(request: Request, args: list[str], services: Services) -> Reply:
    rest, scope = split_scope(args, request, services)
    selector = " ".join(rest).strip() or None
    fleet = read_fleet(selector, scope, services)
    return _reply(request, selector, fleet, services)


def _raise_first(value: object) -> None:
    if isinstance(value, CloudOpsError):
        raise value
    if isinstance(value, Exception):
        raise value


def _reply(request: Request, selector: str | None, fleet: Fleet, services: Services) -> Reply:
    h_of, rows, targets = fleet.health_of, fleet.rows, fleet.targets
    label = labelled(services, targets)
    ranked = fleet.ranked()
    bad = [i for t, i in ranked if problems(i, h_of(t, i))]
    lines = fleet.lines(services)
    evidence = "\n".join(lines)
    sections: list[Section] = []
    if selector and len(rows) == 1:
        target, inst = rows[0]
        h = h_of(target, inst)
        facts = [
            Fact("Instance", f"{inst.name or '(no Name)'} {inst.instance_id}"),
            *([Fact("Account / region", target.label)] if label else []),
            Fact("State", inst.state + (f" ({inst.state_reason})" if inst.state_reason else "")),
            Fact("Type / AZ", f"{inst.instance_type} / {inst.az}"),
            Fact("Launched", f"{stamp(inst.launch_time)} ({ago(inst.launch_time, services.clock())})"),
            Fact("Status checks", f"instance {h.instance_status}, system {h.system_status}" if h else "n/a"),
            Fact("Scheduled events", "; ".join(h.events) if h and h.events else "none"),
        ]
        sections.append(Section(facts=tuple(Fact(f.label, services.scrub(f.value)) for f in facts)))
        issues = problems(inst, h)
        fallback = (f"{inst.name or inst.instance_id} needs attention: {'; '.join(issues)}." if issues
                    else f"{inst.name or inst.instance_id} is {inst.state}; its status checks could not be read."
                    if h is None else f"{inst.name or inst.instance_id} is {inst.state} and its status checks pass.")
    else:
        shown = lines[:FLEET_LINES]
        more = len(lines) - len(shown)
        text = "\n".join(shown) + (f"\n… and {more} more healthy instances" if more else "")
        sections.append(Section(title=f"{len(rows)} instances ({len(bad)} need attention)", text=text,
                                code=True))
        fallback = (f"{len(bad)} of {len(rows)} instances need attention: "
                    + ", ".join(i.name or i.instance_id for i in bad[:8]) + "." if bad
                    else f"All {len(rows)} instances are running with passing status checks.")
    title = (f"EC2 status — {selector}" if selector
             else f"EC2 fleet status — {where(targets) if label else targets[0].region}")
    return finish(services, request, title=title, sections=tuple(sections), evidence=evidence,
                  fallback=services.scrub(fallback), prompt="status", values={"selector": selector or ""},
                  notes=tuple(fleet.notes))
