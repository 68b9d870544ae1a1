"""`status` and the model's `list_instances`: EC2 state and status checks from one gatherer."""

from __future__ import annotations

from handlers.capability import Capability, ModelTool, ToolCall
from handlers.status import handle_status, read_fleet
from handlers.triage.sources import status_hook


def list_instances(call: ToolCall) -> str:
    fleet = read_fleet(call.text("selector") or None, call.scope(), call.services)
    return "\n".join(fleet.lines(call.services) + fleet.notes) or "no instances"


CAPABILITY = Capability(
    verb="status", usage="status [instance | Name | tag:key=value]",
    summary="EC2 state and status checks; the fleet, unhealthy first",
    handler=handle_status, gatherers=(read_fleet,), prompt="status", order=10,
    aws_actions=("ec2:DescribeInstances", "ec2:DescribeInstanceStatus"),
    triage=status_hook,
    tools=(ModelTool("list_instances", "EC2 instances with state, type, AZ, launch time and status checks, "
                     "those needing attention first. Optional selector: instance id, Name tag, or tag:key=value.",
                     {"type": "object", "properties": {"selector": {"type": "string"}}}, list_instances),),
)
