"""Which log groups an alarm is about: one rule for the evidence pack, triage and the changes lookup."""

from __future__ import annotations

from bot.aws.records import Alarm
from handlers.services import Services


def by_prefix(mapping: dict[str, str], name: str) -> str | None:
    """Longest configured prefix wins, so `api-prod-` can override `api-`."""
    best = max((p for p in mapping if name.startswith(p)), key=len, default=None)
    return mapping[best] if best is not None else None


def log_groups_for(alarm: Alarm, services: Services) -> list[str]:
    """The alarm's mapped groups (CLOUDOPS_ALARM_LOG_GROUPS), else the groups its dimensions imply."""
    mapped = by_prefix(services.settings.alarm_log_groups, alarm.name)
    if mapped:
        return [services.settings.log_aliases.get(g, g) for g in mapped.split("+")]
    # A Lambda function's group has a fixed name; ECS services usually log to /ecs/<service>.
    dims = alarm.dimensions
    if "FunctionName" in dims:
        return [f"/aws/lambda/{dims['FunctionName']}"]
    if "ServiceName" in dims:
        return [f"/ecs/{dims['ServiceName']}"]
    return []
