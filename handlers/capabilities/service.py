"""`service` and the model's `describe_ecs_service` / `list_ecs_services`: ECS and its targets, one gatherer."""

from __future__ import annotations

from handlers.capability import Capability, ModelTool, ToolCall
from handlers.ecs_service import handle_service, read_service, read_services, service_line, view_text
from handlers.triage.workload import service_hook


def describe_ecs_service(call: ToolCall) -> str:
    view = read_service(call.text("service"), call.scope(), call.services)
    head = f"({view.target.label})\n" if call.services.accounts and call.services.accounts.configured else ""
    return head + "\n\n".join(f"{t}:\n{x}" for t, x in view_text(view, call.services)) + "".join(
        f"\n{n}" for n in view.notes)


def list_ecs_services(call: ToolCall) -> str:
    _, rows, notes = read_services(call.scope(), call.services)
    lines = [f"[{t.label}] " + call.services.scrub(service_line(s)) for t, s in rows]
    return "\n".join(lines + notes) or "no ECS services"


CAPABILITY = Capability(
    verb="service", usage="service [name | cluster/name]",
    summary="ECS service: rollout, desired/running, stopped tasks' exit codes, unhealthy targets and why",
    handler=handle_service, gatherers=(read_service, read_services), prompt="service", order=15,
    triage=service_hook,
    aws_actions=("ecs:ListClusters", "ecs:ListServices", "ecs:DescribeServices", "ecs:ListTasks",
                 "ecs:DescribeTasks", "elasticloadbalancing:DescribeTargetHealth"),
    tools=(
        ModelTool("describe_ecs_service", "One ECS service: deployments and rollout state, desired/running/pending, "
                  "recent service events, newest stopped tasks with reasons and exit codes, and the health of its "
                  "load balancer targets (unhealthy ones with the reason).",
                  {"type": "object", "required": ["service"],
                   "properties": {"service": {"type": "string", "description": "service name or cluster/name"}}},
                  describe_ecs_service),
        ModelTool("list_ecs_services", "Every ECS service with running/desired counts and rollout state, those "
                  "needing attention first.", {"type": "object", "properties": {}}, list_ecs_services),
    ),
)
