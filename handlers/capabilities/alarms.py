"""`alarms` and the model's `get_alarms`: CloudWatch alarms in a state, from one gatherer."""

from __future__ import annotations

from handlers.alarms import alarm_line, handle_alarms, read_alarms
from handlers.capability import Capability, ModelTool, ToolCall
from handlers.scope import labelled

_STATES = ("ALARM", "OK", "INSUFFICIENT_DATA", "ALL")


def get_alarms(call: ToolCall) -> str:
    state = call.text("state", "ALARM").upper()
    targets, found, notes = read_alarms(None if state == "ALL" else state, call.scope(), call.services)
    prefix = labelled(call.services, targets)
    lines = [(f"[{t.label}] " if prefix else "") + alarm_line(a, call.services) for t, a in found]
    return "\n".join(lines + notes) or f"no alarms in {state}"


CAPABILITY = Capability(
    verb="alarms", usage="alarms [alarm|ok|insufficient_data|all]",
    summary="CloudWatch alarms with metric, threshold and since when",
    handler=handle_alarms, gatherers=(read_alarms,), prompt="alarms", order=30,
    aws_actions=("cloudwatch:DescribeAlarms",),
    tools=(ModelTool("get_alarms", "CloudWatch alarms in a state (ALARM by default; OK, INSUFFICIENT_DATA or ALL).",
                     {"type": "object", "properties": {"state": {"type": "string", "enum": list(_STATES)}}},
                     get_alarms),),
)
