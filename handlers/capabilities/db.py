"""`db` and the model's `describe_db`: an RDS instance's status, recent events and pressure metrics."""

from __future__ import annotations

from handlers.capability import Capability, ModelTool, ToolCall
from handlers.parsing import WINDOW_SCHEMA
from handlers.workloads import handle_db, read_db


def describe_db(call: ToolCall) -> str:
    got = read_db(call.text("instance"), call.window(), call.scope(), call.services)
    return "\n".join([got.text(), *got.notes])


CAPABILITY = Capability(
    verb="db", usage="db <instance> [window]",
    summary="RDS instance: status, recent events (reboots, failovers), CPU/connections/free storage",
    handler=handle_db, gatherers=(read_db,), prompt="workload", order=44,
    aws_actions=("rds:DescribeDBInstances", "rds:DescribeEvents", "cloudwatch:GetMetricData"),
    tools=(ModelTool("describe_db", "One RDS DB instance: status, engine, recent RDS events (reboot, failover, "
                     "storage) and CPUUtilization/DatabaseConnections/FreeStorageSpace over a window.",
                     {"type": "object", "required": ["instance"],
                      "properties": {"instance": {"type": "string", "description": "DB instance identifier"},
                                     "window": WINDOW_SCHEMA}},
                     describe_db),),
)
