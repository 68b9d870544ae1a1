"""Lambda gatherer: one function's configuration (runtime, memory, timeout, last modified, update status)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.aws.session import AwsClients
from bot.errors import NotFoundError, UserInputError

FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,140}$")


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    runtime: str
    memory_mb: int
    timeout_s: int
    last_modified: str  # as Lambda writes it: 2026-11-25T10:00:00.000+0000
    version: str
    state: str
    last_update: str  # Successful | Failed | InProgress, with the reason when failed


def function_config(aws: AwsClients, name: str) -> FunctionConfig:
    if not FUNCTION_NAME.match(name):
        raise UserInputError(f"{name[:60]!r} is not a Lambda function name", "function names look like checkout")
    try:
        raw = aws.call("lambda", "GetFunctionConfiguration", FunctionName=name)
    except NotFoundError:
        raise NotFoundError(f"no Lambda function named {name!r} in {aws.region}", "check the name and the region") \
            from None
    update = raw.get("LastUpdateStatus", "")
    if raw.get("LastUpdateStatusReason"):
        update += f" ({raw['LastUpdateStatusReason']})"
    return FunctionConfig(name=raw.get("FunctionName", name), runtime=raw.get("Runtime", "") or raw.get(
        "PackageType", ""), memory_mb=raw.get("MemorySize", 0), timeout_s=raw.get("Timeout", 0),
        last_modified=raw.get("LastModified", ""), version=raw.get("Version", ""), state=raw.get("State", ""),
        last_update=update)
