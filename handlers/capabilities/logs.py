"""`logs` and the model's `search_logs` / `list_log_groups`, over handlers.logs' gatherer."""

from __future__ import annotations

from bot.aws import logs as cwlogs
from handlers.capability import Capability, ModelTool, ToolCall
from handlers.logs import gather_logs, handle_logs, tool_text
from handlers.parsing import WINDOW_SCHEMA, resolve_group
from handlers.scope import labelled, single_target
from handlers.triage.sources import logs_hook


def search_logs(call: ToolCall) -> str:
    target = single_target(call.scope(), call.services)
    svc = call.services.at(target)
    group = resolve_group(call.text("group"), svc.settings)
    terms = [str(t) for t in call.args.get("terms") or []]
    where = f" ({target.label})" if labelled(svc, [target]) else ""
    return tool_text(svc, group, terms, call.window(svc), where)


def list_log_groups(call: ToolCall) -> str:
    target = single_target(call.scope(), call.services)
    names = cwlogs.list_groups(call.services.at(target).aws, call.text("prefix"))
    aliases = ", ".join(f"{k}={v}" for k, v in call.services.settings.log_aliases.items())
    head = f"log groups in {target.label}:\n" if labelled(call.services, [target]) else ""
    return head + "\n".join(names) + (f"\naliases: {aliases}" if aliases else "") if names else "no log groups"


CAPABILITY = Capability(
    verb="logs", usage="logs <group|alias> [terms…] [15m|2h|1d]",
    summary="CloudWatch Logs grouped by shape, newest errors, summary",
    handler=handle_logs, gatherers=(gather_logs, cwlogs.list_groups), prompt="logs", order=20,
    aws_actions=("logs:FilterLogEvents", "logs:DescribeLogGroups"),
    triage=logs_hook,
    tools=(
        ModelTool("search_logs", "CloudWatch Logs of one group over a window, grouped by line shape with counts, "
                  "plus the newest error lines. Terms are plain words that must all appear.",
                  {"type": "object", "required": ["group"],
                   "properties": {"group": {"type": "string", "description": "log group name or alias"},
                                  "terms": {"type": "array", "items": {"type": "string"}},
                                  "window": WINDOW_SCHEMA}}, search_logs),
        ModelTool("list_log_groups", "Names of CloudWatch log groups (optionally by prefix) and configured aliases.",
                  {"type": "object", "properties": {"prefix": {"type": "string"}}}, list_log_groups),
    ),
)
