"""`status [instance | Name | tag:k=v]`: EC2 state and status checks; the fleet, unhealthy first."""

from __future__ import annotations

from bot.aws import ec2
from bot.aws.records import Instance, InstanceHealth
from bot.errors import CloudOpsError
from bot.models import Fact, Reply, Request, Section
from bot.progress import report
from handlers.formatting import ago, stamp
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


def _line(inst: Instance, health: InstanceHealth | None, services: Services) -> str:
    now = services.clock()
    checks = f"checks {health.instance_status}/{health.system_status}" if health else "checks n/a"
    issues = problems(inst, health)
    flag = "⚠ " if issues else ""
    name = inst.name or "(no Name)"
    base = (f"{flag}{name} {inst.instance_id} {inst.state} {inst.instance_type} {inst.az} — {checks}, "
            f"launched {ago(inst.launch_time, now)}")
    return base + (f" — {'; '.join(issues)}" if issues else "")


def handle_status(request: Request, args: list[str], services: Services) -> Reply:
    selector = " ".join(args).strip() or None
    report(f"Checking EC2 status of {selector or 'the fleet'}…")
    if selector:
        ec2.selector_filters(selector)  # validate before any AWS call
    if selector and ec2.INSTANCE_ID.match(selector):
        got = services.parallel.run({
            "instances": lambda: ec2.describe_instances(services.aws, selector),
            "health": lambda: ec2.instance_health(services.aws, [selector]),
        })
        _raise_first(got["instances"])
        instances: list[Instance] = got["instances"]
        health = got["health"] if isinstance(got["health"], dict) else {}
    elif selector:
        instances = ec2.describe_instances(services.aws, selector)
        health = ec2.instance_health(services.aws, [i.instance_id for i in instances])
    else:
        got = services.parallel.run({
            "instances": lambda: ec2.describe_instances(services.aws),
            "health": lambda: ec2.instance_health(services.aws),
        })
        _raise_first(got["instances"])
        instances = got["instances"]
        health = got["health"] if isinstance(got["health"], dict) else {}
    notes: tuple[str, ...] = ()
    if not isinstance(health, dict) or (not health and instances):
        notes = ("Status checks could not be read; showing instance state only.",)
    return _reply(request, selector, instances, health, services, notes)


def _raise_first(value: object) -> None:
    if isinstance(value, CloudOpsError):
        raise value
    if isinstance(value, Exception):
        raise value


def _reply(request: Request, selector: str | None, instances: list[Instance], health: dict[str, InstanceHealth],
           services: Services, notes: tuple[str, ...]) -> Reply:
    ranked = sorted(instances, key=lambda i: (not problems(i, health.get(i.instance_id)), i.name, i.instance_id))
    bad = [i for i in ranked if problems(i, health.get(i.instance_id))]
    lines = [services.scrub(_line(i, health.get(i.instance_id), services)) for i in ranked]
    evidence = "\n".join(lines)
    sections: list[Section] = []
    if selector and len(instances) == 1:
        inst = instances[0]
        h = health.get(inst.instance_id)
        facts = [
            Fact("Instance", f"{inst.name or '(no Name)'} {inst.instance_id}"),
            Fact("State", inst.state + (f" ({inst.state_reason})" if inst.state_reason else "")),
            Fact("Type / AZ", f"{inst.instance_type} / {inst.az}"),
            Fact("Launched", f"{stamp(inst.launch_time)} ({ago(inst.launch_time, services.clock())})"),
            Fact("Status checks", f"instance {h.instance_status}, system {h.system_status}" if h else "n/a"),
            Fact("Scheduled events", "; ".join(h.events) if h and h.events else "none"),
        ]
        sections.append(Section(facts=tuple(Fact(f.label, services.scrub(f.value)) for f in facts)))
        issues = problems(inst, h)
        fallback = (f"{inst.name or inst.instance_id} needs attention: {'; '.join(issues)}." if issues
                    else f"{inst.name or inst.instance_id} is {inst.state} and its status checks pass.")
    else:
        shown = lines[:FLEET_LINES]
        more = len(lines) - len(shown)
        text = "\n".join(shown) + (f"\n… and {more} more healthy instances" if more else "")
        sections.append(Section(title=f"{len(instances)} instances ({len(bad)} need attention)", text=text,
                                code=True))
        fallback = (f"{len(bad)} of {len(instances)} instances need attention: "
                    + ", ".join(i.name or i.instance_id for i in bad[:8]) + "." if bad
                    else f"All {len(instances)} instances are running with passing status checks.")
    title = f"EC2 status — {selector}" if selector else f"EC2 fleet status — {services.aws.region}"
    return finish(services, request, title=title, sections=tuple(sections), evidence=evidence,
                  fallback=services.scrub(fallback), prompt="status", values={"selector": selector or ""},
                  notes=notes)
