"""The read-only gatherers, bound as model tools. Same code paths as the subcommands, text out.

Tool results are scrubbed and cut to a budget by the loop, so these only gather and format.
"""

from __future__ import annotations

from typing import Any

from bot.aws import cloudwatch, ec2
from bot.aws import logs as cwlogs
from bot.config import parse_duration
from bot.llm.tools import ToolSpec
from handlers.alarms import alarm_line
from handlers.logs import compact_text, gather_logs, newest_errors, scrubbed_events
from handlers.metrics import describe
from handlers.parsing import format_window, resolve_group
from handlers.services import Services
from handlers.status import _line

_WINDOW = {"type": "string", "description": "time window like 15m, 2h or 1d", "pattern": "^[0-9]{1,5}[smhd]$"}


def _window(args: dict[str, Any], services: Services) -> int:
    raw = args.get("window")
    window = parse_duration(str(raw)) if raw else services.settings.default_window_s
    return min(window, services.settings.max_window_s)


def build_tools(services: Services) -> list[ToolSpec]:
    def instances(args: dict[str, Any]) -> str:
        selector = str(args.get("selector") or "") or None
        found = ec2.describe_instances(services.aws, selector)
        health = ec2.instance_health(services.aws, [i.instance_id for i in found] if selector else None)
        return "\n".join(_line(i, health.get(i.instance_id), services) for i in found) or "no instances"

    def logs(args: dict[str, Any]) -> str:
        group = resolve_group(str(args["group"]), services.settings)
        terms = [str(t) for t in args.get("terms") or []]
        window = _window(args, services)
        events = scrubbed_events(services, gather_logs(services, group, terms, window))
        if not events:
            return f"no events in {group} over {format_window(window)}" + (f" matching {terms}" if terms else "")
        text, _, _ = compact_text(services, events)
        errors = newest_errors(events, services.settings.logs_error_examples)
        return text + ("\nNewest errors:\n" + "\n".join(e.message for e in errors) if errors else "")

    def groups(args: dict[str, Any]) -> str:
        names = cwlogs.list_groups(services.aws, str(args.get("prefix") or ""))
        aliases = ", ".join(f"{k}={v}" for k, v in services.settings.log_aliases.items())
        return "\n".join(names) + (f"\naliases: {aliases}" if aliases else "") if names else "no log groups"

    def alarms(args: dict[str, Any]) -> str:
        state = str(args.get("state") or "ALARM").upper()
        found = cloudwatch.describe_alarms(services.aws, None if state == "ALL" else state)
        return "\n".join(alarm_line(a, services) for a in found) or f"no alarms in {state}"

    def metrics(args: dict[str, Any]) -> str:
        inst = ec2.describe_instances(services.aws, str(args["instance"]), cap=1)[0]
        kind = str(args.get("kind") or "cpu")
        series = cloudwatch.instance_metrics(services.aws, inst.instance_id, kind, _window(args, services),
                                             now=services.clock())
        return f"{inst.name} {inst.instance_id}\n" + "\n".join(describe(s) for s in series)

    return [
        ToolSpec("list_instances", "EC2 instances with state, type, AZ, launch time and status checks. "
                 "Optional selector: instance id, Name tag, or tag:key=value.",
                 {"type": "object", "properties": {"selector": {"type": "string"}}}, instances),
        ToolSpec("search_logs", "CloudWatch Logs of one group over a window, grouped by line shape with counts, "
                 "plus the newest error lines. Terms are plain words that must all appear.",
                 {"type": "object", "required": ["group"],
                  "properties": {"group": {"type": "string", "description": "log group name or alias"},
                                 "terms": {"type": "array", "items": {"type": "string"}},
                                 "window": _WINDOW}}, logs),
        ToolSpec("list_log_groups", "Names of CloudWatch log groups (optionally by prefix) and configured aliases.",
                 {"type": "object", "properties": {"prefix": {"type": "string"}}}, groups),
        ToolSpec("get_alarms", "CloudWatch alarms in a state (ALARM by default; OK, INSUFFICIENT_DATA or ALL).",
                 {"type": "object", "properties": {"state": {"type": "string",
                                                             "enum": ["ALARM", "OK", "INSUFFICIENT_DATA", "ALL"]}}},
                 alarms),
        ToolSpec("get_instance_metrics", "CloudWatch metrics of one EC2 instance: min/avg/max, last, trend.",
                 {"type": "object", "required": ["instance"],
                  "properties": {"instance": {"type": "string", "description": "instance id or Name tag"},
                                 "kind": {"type": "string", "enum": ["cpu", "network", "disk", "status"]},
                                 "window": _WINDOW}}, metrics),
    ]
