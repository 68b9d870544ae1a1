"""The read-only gatherers, bound as model tools. Same code paths as the subcommands, text out.

Tool results are scrubbed and cut to a budget by the loop, so these only gather and format.
"""

from __future__ import annotations

from typing import Any

from bot.aws import cloudwatch, ec2
from bot.aws import logs as cwlogs
from bot.aws.accounts import Target
from bot.config import parse_duration
from bot.llm.tools import ToolSpec
from bot.models import Request, Source
from handlers.alarms import alarm_line
from handlers.logs import tool_text as logs_tool_text
from handlers.metrics import describe
from handlers.parsing import resolve_group
from handlers.scope import Scope, fleet_targets, gather, labelled, single_target, split_scope
from handlers.services import Services
from handlers.status import _line

_WINDOW = {"type": "string", "description": "time window like 15m, 2h or 1d", "pattern": "^[0-9]{1,5}[smhd]$"}


def _where_properties(services: Services) -> dict[str, Any]:
    """``account``/``region`` arguments, offered only when the operator configured accounts."""
    if services.accounts is None or not services.accounts.configured:
        return {}
    names = list(services.accounts.specs)
    regions = sorted({t.region for t in services.accounts.targets()})
    return {"account": {"type": "string", "enum": [*names, "all"],
                        "description": "account name; omit for the default (fleet-wide tools: all accounts)"},
            "region": {"type": "string", "enum": regions, "description": "region; omit for every region in scope"}}


def _window(args: dict[str, Any], services: Services) -> int:
    raw = args.get("window")
    window = parse_duration(str(raw)) if raw else services.settings.default_window_s
    return min(window, services.settings.max_window_s)


def _scope_args(args: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("account", "region"):
        if args.get(key):
            out += [f"--{key}", str(args[key])]
    return out


def build_tools(services: Services, request: Request | None = None) -> list[ToolSpec]:
    asker = request or Request(text="", source=Source.CLI)

    def scope(args: dict[str, Any]) -> Scope:
        return split_scope(_scope_args(args), asker, services)[1]

    def labelled_lines(targets: list[Target], got: dict[Target, list[str]], notes: list[str]) -> str:
        label = labelled(services, targets)
        lines = [(f"[{t.label}] " if label else "") + line for t in sorted(got) for line in got[t]]
        return "\n".join(lines + notes)

    def instances(args: dict[str, Any]) -> str:
        selector = str(args.get("selector") or "") or None
        targets = fleet_targets(scope(args), services)

        def one(svc: Services) -> list[str]:
            found = ec2.describe_instances(svc.aws, selector)
            health = ec2.instance_health(svc.aws, [i.instance_id for i in found] if selector else None)
            return [_line(i, health.get(i.instance_id), svc) for i in found]

        got, notes = gather(targets, services, one, lookup=bool(selector))
        return labelled_lines(targets, got, notes) or "no instances"

    def logs(args: dict[str, Any]) -> str:
        target = single_target(scope(args), services)
        svc = services.at(target)
        group = resolve_group(str(args["group"]), svc.settings)
        terms = [str(t) for t in args.get("terms") or []]
        window = _window(args, svc)
        where = f" ({target.label})" if labelled(svc, [target]) else ""
        return logs_tool_text(svc, group, terms, window, where)

    def groups(args: dict[str, Any]) -> str:
        target = single_target(scope(args), services)
        names = cwlogs.list_groups(services.at(target).aws, str(args.get("prefix") or ""))
        aliases = ", ".join(f"{k}={v}" for k, v in services.settings.log_aliases.items())
        head = f"log groups in {target.label}:\n" if labelled(services, [target]) else ""
        return head + "\n".join(names) + (f"\naliases: {aliases}" if aliases else "") if names else "no log groups"

    def alarms(args: dict[str, Any]) -> str:
        state = str(args.get("state") or "ALARM").upper()
        targets = fleet_targets(scope(args), services)
        got, notes = gather(targets, services, lambda svc: [
            alarm_line(a, svc) for a in cloudwatch.describe_alarms(svc.aws, None if state == "ALL" else state)])
        return labelled_lines(targets, got, notes) or f"no alarms in {state}"

    def metrics(args: dict[str, Any]) -> str:
        targets = fleet_targets(scope(args), services)
        found, _ = gather(targets, services, lambda svc: ec2.describe_instances(svc.aws, str(args["instance"]), cap=1),
                          lookup=True)
        target = sorted(found)[0]
        inst = found[target][0]
        svc = services.at(target)
        kind = str(args.get("kind") or "cpu")
        series = cloudwatch.instance_metrics(svc.aws, inst.instance_id, kind, _window(args, svc), now=svc.clock())
        where = f" ({target.label})" if labelled(svc, targets) else ""
        return f"{inst.name} {inst.instance_id}{where}\n" + "\n".join(describe(s) for s in series)

    where_props = _where_properties(services)
    return [
        ToolSpec("list_instances", "EC2 instances with state, type, AZ, launch time and status checks. "
                 "Optional selector: instance id, Name tag, or tag:key=value.",
                 {"type": "object", "properties": {"selector": {"type": "string"}, **where_props}}, instances),
        ToolSpec("search_logs", "CloudWatch Logs of one group over a window, grouped by line shape with counts, "
                 "plus the newest error lines. Terms are plain words that must all appear.",
                 {"type": "object", "required": ["group"],
                  "properties": {"group": {"type": "string", "description": "log group name or alias"},
                                 "terms": {"type": "array", "items": {"type": "string"}},
                                 "window": _WINDOW, **where_props}}, logs),
        ToolSpec("list_log_groups", "Names of CloudWatch log groups (optionally by prefix) and configured aliases.",
                 {"type": "object", "properties": {"prefix": {"type": "string"}, **where_props}}, groups),
        ToolSpec("get_alarms", "CloudWatch alarms in a state (ALARM by default; OK, INSUFFICIENT_DATA or ALL).",
                 {"type": "object", "properties": {"state": {"type": "string",
                                                             "enum": ["ALARM", "OK", "INSUFFICIENT_DATA", "ALL"]},
                                                   **where_props}},
                 alarms),
        ToolSpec("get_instance_metrics", "CloudWatch metrics of one EC2 instance: min/avg/max, last, trend.",
                 {"type": "object", "required": ["instance"],
                  "properties": {"instance": {"type": "string", "description": "instance id or Name tag"},
                                 "kind": {"type": "string", "enum": ["cpu", "network", "disk", "status"]},
                                 "window": _WINDOW, **where_props}}, metrics),
    ]
