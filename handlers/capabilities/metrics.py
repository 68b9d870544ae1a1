"""`metrics` and the model's `get_instance_metrics`: one instance's CloudWatch metrics, one gatherer."""

from __future__ import annotations

from bot.aws.cloudwatch import EC2_METRICS
from handlers.capability import Capability, ModelTool, ToolCall
from handlers.metrics import describe, handle_metrics, read_metrics
from handlers.parsing import WINDOW_SCHEMA
from handlers.scope import labelled
from handlers.triage.sources import metrics_hook


def get_instance_metrics(call: ToolCall) -> str:
    got = read_metrics(call.text("instance"), call.text("kind", "cpu"), call.window(), call.scope(), call.services)
    where = f" ({got.target.label})" if labelled(call.services, got.targets) else ""
    return f"{got.instance.name} {got.instance.instance_id}{where}\n" + "\n".join(describe(s) for s in got.series)


CAPABILITY = Capability(
    verb="metrics", usage="metrics <instance> [cpu|network|disk|status] [window]",
    summary="metric min/avg/max, last value and trend",
    handler=handle_metrics, gatherers=(read_metrics,), prompt="metrics", order=40,
    aws_actions=("ec2:DescribeInstances", "cloudwatch:GetMetricData"),
    triage=metrics_hook,
    tools=(ModelTool("get_instance_metrics", "CloudWatch metrics of one EC2 instance: min/avg/max, last, trend.",
                     {"type": "object", "required": ["instance"],
                      "properties": {"instance": {"type": "string", "description": "instance id or Name tag"},
                                     "kind": {"type": "string", "enum": list(EC2_METRICS)},
                                     "window": WINDOW_SCHEMA}},
                     get_instance_metrics),),
)
