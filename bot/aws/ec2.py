"""EC2 gatherers: find instances by id, Name tag or tag:key=value, and read their status checks."""

from __future__ import annotations

import re
from typing import Any

from bot.aws.records import Instance, InstanceHealth
from bot.aws.session import AwsClients
from bot.errors import NotFoundError, UserInputError

INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8}([0-9a-f]{9})?$")
_TAG_SELECTOR = re.compile(r"^tag:([\w.:/+=@ -]{1,128})=([\w.:/+=@ *-]{0,256})$")
_NAME = re.compile(r"^[\w.:/+=@*-]{1,255}$")
FLEET_CAP = 500  # instances listed in a fleet summary; more are counted, not shown


def selector_filters(selector: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Turn the user's selector into DescribeInstances InstanceIds/Filters, validating it first."""
    if INSTANCE_ID.match(selector):
        return [selector], []
    if selector.startswith("i-"):
        raise UserInputError(f"{selector!r} is not a valid instance id",
                             "instance ids look like i-0123456789abcdef0")
    m = _TAG_SELECTOR.match(selector)
    if m:
        return [], [{"Name": f"tag:{m.group(1)}", "Values": [m.group(2)]}]
    if selector.startswith("tag:"):
        raise UserInputError(f"{selector!r} is not a tag selector", "use tag:key=value, e.g. tag:team=api")
    if not _NAME.match(selector):
        raise UserInputError(f"{selector!r} is not an instance id or Name tag",
                             "use an instance id (i-…), a Name tag (web-1) or tag:key=value")
    return [], [{"Name": "tag:Name", "Values": [selector]}]


def describe_instances(aws: AwsClients, selector: str | None = None, cap: int = FLEET_CAP) -> list[Instance]:
    """Instances matching ``selector`` (all when None), newest-first pages merged, capped at ``cap``."""
    kwargs: dict[str, Any] = {}
    if selector:
        ids, filters = selector_filters(selector)
        if ids:
            kwargs["InstanceIds"] = ids
        if filters:
            kwargs["Filters"] = filters
    out: list[Instance] = []
    token: str | None = None
    while len(out) < cap:
        if token:
            kwargs["NextToken"] = token
        try:
            page = aws.call("ec2", "DescribeInstances", **kwargs)
        except NotFoundError:
            raise NotFoundError(f"no instance {selector!r} in {aws.region}",
                                "check the id and the region, or run `status` for the fleet") from None
        for res in page.get("Reservations", []):
            out.extend(_instance(raw) for raw in res.get("Instances", []))
        token = page.get("NextToken")
        if not token:
            break
    if selector and not out:
        raise NotFoundError(f"no instance matches {selector!r} in {aws.region}",
                            "run `/cloudops status` to list the fleet, or try the instance id")
    return out[:cap]


def instance_health(aws: AwsClients, instance_ids: list[str] | None = None) -> dict[str, InstanceHealth]:
    """Status checks and scheduled events, keyed by instance id (stopped instances included)."""
    kwargs: dict[str, Any] = {"IncludeAllInstances": True}
    if instance_ids:
        kwargs["InstanceIds"] = instance_ids[:100]
    out: dict[str, InstanceHealth] = {}
    token: str | None = None
    for _ in range(20):  # 20 pages x 1000 is far beyond a sane fleet summary
        if token:
            kwargs["NextToken"] = token
        page = aws.call("ec2", "DescribeInstanceStatus", **kwargs)
        for raw in page.get("InstanceStatuses", []):
            events = tuple(
                f"{e.get('Code', '?')} {e.get('Description', '')} "
                f"(not before {e['NotBefore']:%Y-%m-%d %H:%M} UTC)".replace("  ", " ")
                if e.get("NotBefore") else f"{e.get('Code', '?')} {e.get('Description', '')}".strip()
                for e in raw.get("Events", [])
            )
            out[raw["InstanceId"]] = InstanceHealth(
                instance_id=raw["InstanceId"],
                instance_status=raw.get("InstanceStatus", {}).get("Status", "unknown"),
                system_status=raw.get("SystemStatus", {}).get("Status", "unknown"),
                events=events,
            )
        token = page.get("NextToken")
        if not token:
            break
    return out


def _instance(raw: dict[str, Any]) -> Instance:
    tags = {t["Key"]: t["Value"] for t in raw.get("Tags", []) or []}
    return Instance(
        instance_id=raw["InstanceId"],
        name=tags.get("Name", ""),
        state=raw.get("State", {}).get("Name", "unknown"),
        instance_type=raw.get("InstanceType", ""),
        az=raw.get("Placement", {}).get("AvailabilityZone", ""),
        launch_time=raw.get("LaunchTime"),
        private_ip=raw.get("PrivateIpAddress", "") or "",
        tags=tags,
        state_reason=(raw.get("StateReason") or {}).get("Message", "") or raw.get("StateTransitionReason", ""),
    )
