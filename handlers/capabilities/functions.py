"""`lambda` and the model's `describe_lambda`: a function's configuration, metrics and newest errors."""

from __future__ import annotations

from handlers.capability import Capability, ModelTool, ToolCall
from handlers.parsing import WINDOW_SCHEMA
from handlers.workloads import handle_lambda, read_function


def describe_lambda(call: ToolCall) -> str:
    got = read_function(call.text("function"), call.window(), call.scope(), call.services)
    return "\n".join([got.text(), *got.notes])


CAPABILITY = Capability(
    verb="lambda", usage="lambda <function> [window]",
    summary="Lambda function: configuration, last modified, errors/throttles/duration, newest error lines",
    handler=handle_lambda, gatherers=(read_function,), prompt="workload", order=42,
    aws_actions=("lambda:GetFunctionConfiguration", "cloudwatch:GetMetricData", "logs:FilterLogEvents"),
    tools=(ModelTool("describe_lambda", "One Lambda function: configuration, last modified and update status, "
                     "Invocations/Errors/Throttles/Duration over a window, and its newest error log lines.",
                     {"type": "object", "required": ["function"],
                      "properties": {"function": {"type": "string"}, "window": WINDOW_SCHEMA}},
                     describe_lambda),),
)
