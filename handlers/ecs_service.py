"""`service [name]`: an ECS service's rollout, counts, events, stopped tasks and the health of its targets.

Without a name: every service, those needing attention (rolling out, failed, short of desired) first.
With one: found in whichever account/region and cluster has it; one parallel round reads its stopped tasks
and each of its target groups' health, so "new tasks exit 137 and the targets are unhealthy" is one answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.aws import ecs
from bot.aws.accounts import Target
from bot.aws.ecs import EcsService, StoppedTask, TargetHealth
from bot.errors import CloudOpsError
from bot.models import Reply, Request, Section
from bot.progress import report
from handlers.formatting import ago, stamp
from handlers.scope import Scope, fleet_targets, gather, labelled, split_scope, where
from handlers.services import Services
from handlers.summarize import finish


@dataclass
class ServiceView:
    """One service with what was read around it, and what could not be."""

    target: Target
    service: EcsService
    stopped: list[StoppedTask] = field(default_factory=list)
    targets: dict[str, list[TargetHealth]] = field(default_factory=dict)  # target group name -> health
    notes: list[str] = field(default_factory=list)


def read_service(name: str, scope: Scope, services: Services) -> ServiceView:
    """The gatherer of `service <name>` and the model's `describe_ecs_service`."""
    targets = fleet_targets(scope, services)
    report(f"Reading ECS service {name}…")
    found, _ = gather(targets, services, lambda svc: ecs.find_service(svc.aws, name), lookup=True)
    target = sorted(found)[0]
    return read_around(services.at(target), target, found[target])


def read_around(svc: Services, target: Target, service: EcsService) -> ServiceView:
    """One parallel round around a found service: its stopped tasks and each target group's health."""
    view = ServiceView(target, service)

    def health(arn: str) -> Callable[[], list[TargetHealth]]:
        return lambda: ecs.target_health(svc.aws, arn)

    jobs: dict[str, Callable[[], object]] = {"stopped": lambda: ecs.stopped_tasks(svc.aws, view.service)}
    jobs.update({arn: health(arn) for arn in view.service.target_groups})
    got = svc.parallel.run(jobs)
    for key, value in got.items():
        what = "stopped tasks" if key == "stopped" else f"target health of {_tg_name(key)}"
        if isinstance(value, CloudOpsError):
            view.notes.append(f"Could not read {what}: {value.message}.")
        elif isinstance(value, Exception):
            raise value
        elif key == "stopped":
            view.stopped = value
        else:
            view.targets[_tg_name(key)] = value
    return view


def read_services(scope: Scope, services: Services) -> tuple[list[Target], list[tuple[Target, EcsService]], list[str]]:
    targets = fleet_targets(scope, services)
    report("Listing ECS services…")
    got, notes = gather(targets, services, lambda svc: ecs.list_services(svc.aws))
    rows = [(t, s) for t in sorted(got) for s in got[t]]
    rows.sort(key=lambda ts: ts[1].healthy)
    return targets, rows, notes


def _tg_name(arn: str) -> str:
    parts = arn.split(":")[-1].split("/")  # targetgroup/api-prod-tg/6d0ecf831eec9f09
    return parts[1] if len(parts) >= 2 else arn


def service_line(s: EcsService) -> str:
    primary = next((d for d in s.deployments if d.status == "PRIMARY"), None)
    rollout = f", rollout {primary.rollout}" if primary and primary.rollout else ""
    return (f"{s.cluster}/{s.name} {s.status} running {s.running}/{s.desired}, pending {s.pending}, "
            f"{s.task_definition}{rollout}" + ("" if s.healthy else "  ← needs attention"))


def view_text(view: ServiceView, services: Services) -> list[tuple[str, str]]:
    """(section title, text) pairs, all scrubbed: the reply's sections and the tool's result alike."""
    now = services.clock()
    s = view.service
    out = [("Service", service_line(s))]
    deployments = [f"{d.status} {d.task_definition}: rollout {d.rollout or '?'}"
                   + (f" ({d.rollout_reason})" if d.rollout_reason else "")
                   + f", running {d.running}/{d.desired}, pending {d.pending}, failed tasks {d.failed}, "
                   f"started {stamp(d.created)} ({ago(d.created, now)})" for d in s.deployments]
    out.append((f"Deployments ({len(deployments)})", "\n".join(deployments) or "none"))
    if view.stopped:
        lines = []
        for t in view.stopped:
            exits = ", ".join(f"{n} exit {code if code is not None else '?'}" + (f" ({r})" if r else "")
                              for n, code, r in t.containers)
            lines.append(f"{t.task_id[:12]} stopped {ago(t.stopped_at, now)}: {t.reason}"
                         + (f" [{t.stop_code}]" if t.stop_code else "") + (f"; {exits}" if exits else ""))
        out.append((f"Stopped tasks ({len(lines)}, newest first)", "\n".join(lines)))
    for group, health in view.targets.items():
        bad = [h for h in health if h.state != "healthy"]
        lines = [f"{h.target} {h.state}" + (f" — {h.reason}: {h.description}" if h.reason else "") for h in health]
        out.append((f"Targets of {group}: {len(bad)} of {len(health)} not healthy", "\n".join(lines) or "no targets"))
    if s.events:
        out.append(("Recent service events", "\n".join(f"{stamp(w)} {m}" for w, m in s.events)))
    return [(services.scrub(title), services.scrub(text)) for title, text in out]


def handle_service(request: Request, args: list[str], services: Services) -> Reply:
    args, scope = split_scope(args, request, services)
    if not args:
        targets, rows, notes = read_services(scope, services)
        label = labelled(services, targets)
        text = "\n".join((f"[{t.label}] " if label else "") + service_line(s) for t, s in rows) or "no ECS services"
        bad = [s for _, s in rows if not s.healthy]
        title = "ECS services" + (f" — {where(targets)}" if label else "")
        summary = (f"{len(bad)} of {len(rows)} ECS services need attention: " + ", ".join(s.name for s in bad[:6])
                   if bad else f"All {len(rows)} ECS services are at their desired count with no rollout pending.")
        section = Section(title=f"{len(rows)} service(s), needing attention first", text=services.scrub(text),
                          code=True)
        return Reply(title=title, summary=services.scrub(summary), notes=tuple(notes), sections=(section,))
    view = read_service(args[0], scope, services)
    pairs = view_text(view, services)
    sections = tuple(Section(title=t, text=x, code=True) for t, x in pairs)
    evidence = "\n\n".join(f"{t}:\n{x}" for t, x in pairs)
    s = view.service
    unhealthy = sum(1 for hs in view.targets.values() for h in hs if h.state != "healthy")
    fallback = services.scrub(f"{s.name}: running {s.running} of {s.desired}"
                              + (f", {len(view.stopped)} task(s) stopped recently" if view.stopped else "")
                              + (f", {unhealthy} target(s) not healthy" if unhealthy else "") + ".")
    where_ = f" — {view.target.label}" if labelled(services, [view.target]) else ""
    return finish(services, request, title=f"ECS service {s.name}{where_}", sections=sections, evidence=evidence,
                  fallback=fallback, prompt="service", values={"service": s.name}, notes=tuple(view.notes))
