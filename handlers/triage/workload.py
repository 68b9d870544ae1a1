"""The `service` capability's triage hook: the ECS services behind the firing alarms and the named log groups
(an alarm's ServiceName, ``/ecs/<service>``), with their rollout, stopped tasks' exit codes and target health,
so "the new tasks exit 137 and the targets fail health checks" is in the first round's evidence."""

from __future__ import annotations

from functools import partial

from bot.aws import ecs
from bot.aws.accounts import Target
from bot.errors import NotFoundError, UserInputError
from handlers.ecs_service import read_around, view_text
from handlers.evidence import Finding, TriageContext, TriageJobs

MAX_SERVICES = 3  # services read per question, nearest the alarms first


def service_names(ctx: TriageContext) -> list[str]:
    """``cluster/name`` from the alarms' dimensions, then service names implied by ``/ecs/…`` log groups."""
    names = [f"{a.dimensions['ClusterName']}/{a.dimensions['ServiceName']}" if "ClusterName" in a.dimensions
             else a.dimensions["ServiceName"] for a in ctx.alarms if "ServiceName" in a.dimensions]
    names += [g.removeprefix("/ecs/") for g in ctx.groups if g.startswith("/ecs/") and g.count("/") == 2]
    return list(dict.fromkeys(names))[:MAX_SERVICES]


def service_hook(ctx: TriageContext) -> TriageJobs:
    return {f"service:{name}": partial(_service_finding, ctx, name) for name in service_names(ctx)}


def _service_finding(ctx: TriageContext, name: str) -> list[Finding]:
    svc = ctx.services
    try:
        found = ecs.find_service(svc.aws, name)
    except (NotFoundError, UserInputError):
        return []  # a log group named like a service that is not one: nothing to add
    view = read_around(svc, Target(svc.aws.account, svc.aws.region), found)
    lines = [f"{title}: {text}" if "\n" not in text else f"{title}:\n{text}" for title, text in view_text(view, svc)]
    s = view.service
    resources = (s.name, s.cluster, s.task_definition, *view.targets)
    return [Finding("service", f"ECS service {s.cluster}/{s.name}", (*lines, *view.notes), (),
                    tuple(r for r in resources if r))]
