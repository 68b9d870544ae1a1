"""`changes` and the model's `recent_changes`: who changed what and when, from one gatherer."""

from __future__ import annotations

from datetime import timedelta

from bot.errors import UserInputError
from bot.models import Reply, Request, Section
from handlers.alarm_map import log_groups_for
from handlers.capability import Capability, ModelTool, ToolCall
from handlers.changes import KINDS, grouped, read_changes
from handlers.parsing import WINDOW_SCHEMA, format_window, split_window
from handlers.scope import fleet_targets, labelled, split_scope, where
from handlers.services import Services
from handlers.summarize import finish
from handlers.triage.changes import changes_hook


def _kind_and_name(args: list[str]) -> tuple[str, str]:
    kind = "resource"
    if args and args[0].lower() in KINDS:
        kind, args = args[0].lower(), args[1:]
    if len(args) > 1:
        raise UserInputError(f"{' '.join(args)!r} is more than one resource name",
                             "e.g. `/cloudops changes service api-prod 2h` or `/cloudops changes 30m`")
    name = args[0] if args else ""
    if len(name) > 256:
        raise UserInputError("the resource name is longer than 256 characters", "use the resource's name")
    return kind, name


def handle_changes(request: Request, args: list[str], services: Services) -> Reply:
    args, scope = split_scope(args, request, services)
    args, window = split_window(args, services.settings)
    kind, name = _kind_and_name(args)
    end = services.clock()
    got = read_changes(scope, services, end - timedelta(seconds=window), end, names=[name] if name else [], kind=kind)
    targets = fleet_targets(scope, services)
    label = labelled(services, targets)
    about = f" to {name}" if name else ""
    title = f"Changes{about} — last {format_window(window)}" + (f" — {where(targets)}" if label else "")
    if not got.found:
        return Reply(title=title, notes=tuple(got.notes),
                     summary=f"No write events{about} in the last {format_window(window)}.")
    text = services.scrub(grouped(got.found, end, label=label))
    newest = got.found[0][1]
    fallback = services.scrub(f"{len(got.found)} change(s){about} in the last {format_window(window)}; newest: "
                              f"{newest.what} on {newest.resource} by {newest.who}.")
    section = Section(title=f"{len(got.found)} change(s), newest first, per resource", text=text, code=True)
    return finish(services, request, title=title, sections=(section,), evidence=text, fallback=fallback,
                  prompt="changes", values={"window": format_window(window)}, notes=tuple(got.notes))


def recent_changes(call: ToolCall) -> str:
    window = call.window()
    end = call.services.clock()
    kind = call.text("kind", "resource")
    if kind not in KINDS:
        kind = "resource"
    name = call.text("resource")
    got = read_changes(call.scope(), call.services, end - timedelta(seconds=window), end,
                       names=[name] if name else [], kind=kind)
    targets = fleet_targets(call.scope(), call.services)
    text = grouped(got.found, end, label=labelled(call.services, targets))
    head = text or f"no write events{' to ' + name if name else ''} in the last {format_window(window)}"
    return "\n".join([head, *got.notes])


CAPABILITY = Capability(
    verb="changes", usage="changes [service|function|db|stack] [name] [window]",
    summary="who changed what: CloudTrail writes, deployments, stack events, scaling, newest first",
    handler=handle_changes, prompt="changes", order=35,
    gatherers=(read_changes,), triage=changes_hook(log_groups_for),
    aws_actions=("cloudtrail:LookupEvents", "cloudwatch:ListTagsForResource", "cloudformation:DescribeStacks",
                 "cloudformation:DescribeStackEvents",
                 "autoscaling:DescribeScalingActivities", "ecs:ListClusters", "ecs:ListServices",
                 "ecs:DescribeServices", "lambda:ListFunctions", "lambda:ListVersionsByFunction"),
    tools=(ModelTool("recent_changes", "Write events (who changed what, when, on which resource) from CloudTrail, "
                     "ECS deployments, Lambda updates, CloudFormation stack events and Auto Scaling activities, "
                     "newest first, grouped per resource. Optional resource name and kind.",
                     {"type": "object", "properties": {
                         "resource": {"type": "string", "description": "service, function, db or stack name"},
                         "kind": {"type": "string", "enum": list(KINDS)},
                         "window": WINDOW_SCHEMA}},
                     recent_changes),),
)
