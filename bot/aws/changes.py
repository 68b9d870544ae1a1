"""Change gatherers: who changed what, when — CloudTrail write events, CloudFormation stack events,
Auto Scaling activities, ECS deployments, Lambda updates and version publishes.

Each returns ``Change`` records newest first within ``[start, end]``; read-only events are left out.
CloudTrail's ``LookupEvents`` takes one lookup attribute, so it is asked for write events
(``ReadOnly=false``) and the resources are matched here, from both ``Resources`` and the request's
parameters (ECS ``UpdateService`` often names its service only there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.aws.session import AwsClients

TRAIL_PAGE = 50  # LookupEvents' largest MaxResults
STACK_CAP = 20  # stacks whose events are read per request
SERVICE_BATCH = 10  # DescribeServices takes at most 10 services
SERVICE_CAP = 50
FUNCTION_CAP = 50
# requestParameters keys that name the resource a write event changed
_NAME_KEYS = ("service", "serviceName", "functionName", "dBInstanceIdentifier", "dBClusterIdentifier", "stackName",
              "autoScalingGroupName", "loadBalancerArn", "targetGroupArn", "instanceId", "bucketName", "tableName",
              "roleName", "policyArn", "groupId", "cluster", "logGroupName", "alarmName")


@dataclass(frozen=True)
class Change:
    when: datetime
    resource: str  # the short name: api-prod, checkout, orders-db
    what: str  # "ecs UpdateService", "deployment api:7 (rollout IN_PROGRESS)"
    who: str  # "alice@example.com", "Auto Scaling"
    source: str  # cloudtrail | ecs | lambda | cloudformation | autoscaling
    link: str = ""  # console link, when there is one
    also: tuple[str, ...] = ()  # other names the event touched (cluster, ARNs)

    def names(self) -> tuple[str, ...]:
        return (self.resource, *self.also)


def short(name: str) -> str:
    """The resource's own name: ``arn:…:service/prod/api-prod`` → ``api-prod``, ``arn:…:task-definition/api:42`` →
    ``api:42``, ``arn:…:function:checkout`` → ``checkout``, ``/ecs/api-prod`` → ``api-prod``."""
    if name.startswith("arn:") and name.count(":") >= 5:
        resource = name.split(":", 5)[5]
        return resource.rstrip("/").rsplit("/", 1)[-1] if "/" in resource else resource.rsplit(":", 1)[-1]
    return name.rstrip("/").rsplit("/", 1)[-1]


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def trail_changes(aws: AwsClients, start: datetime, end: datetime, cap: int) -> list[Change]:
    """CloudTrail write events in the window, newest first, up to ``cap``."""
    kwargs: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "false"}],
                              "StartTime": start, "EndTime": end, "MaxResults": min(TRAIL_PAGE, cap)}
    out: list[Change] = []
    while len(out) < cap:
        page = aws.call("cloudtrail", "LookupEvents", **kwargs)
        out += [c for c in (_trail_change(e, aws.region) for e in page.get("Events", [])) if c is not None]
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return out[:cap]


def _trail_change(raw: dict[str, Any], region: str) -> Change | None:
    if str(raw.get("ReadOnly", "false")).lower() == "true":
        return None
    try:
        record = json.loads(raw.get("CloudTrailEvent") or "{}")
    except ValueError:
        record = {}
    params = record.get("requestParameters") or {}
    named = [str(r.get("ResourceName", "")) for r in raw.get("Resources", []) if r.get("ResourceName")]
    named += [str(params[k]) for k in _NAME_KEYS if isinstance(params, dict) and isinstance(params.get(k), str)]
    names = list(dict.fromkeys(short(n) for n in named if n))
    # a service's change is not its cluster's: the cluster counts only when nothing else is named
    cluster = short(str(params.get("cluster", ""))) if isinstance(params, dict) else ""
    names = [n for n in names if n != cluster] or names
    source = str(raw.get("EventSource", "")).removesuffix(".amazonaws.com")
    event_id = str(raw.get("EventId", ""))
    link = (f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{quote(event_id)}"
            if event_id else "")
    who = str(raw.get("Username") or (record.get("userIdentity") or {}).get("arn", "") or "unknown")
    when = raw.get("EventTime")
    if not isinstance(when, datetime):
        return None
    return Change(when=_utc(when), resource=names[0] if names else "(no resource)",
                  what=f"{source} {raw.get('EventName', '')}".strip(), who=who, source="cloudtrail", link=link,
                  also=tuple(names[1:]))


def stack_changes(aws: AwsClients, start: datetime, end: datetime, cap: int) -> list[Change]:
    """Events of the stacks updated in the window (resources created, updated, rolled back)."""
    stacks = aws.call("cloudformation", "DescribeStacks").get("Stacks", [])
    recent = [s for s in stacks if _utc(s.get("LastUpdatedTime") or s["CreationTime"]) >= start][:STACK_CAP]
    out: list[Change] = []
    for stack in recent:
        events = aws.call("cloudformation", "DescribeStackEvents", StackName=stack["StackName"]).get("StackEvents", [])
        for e in events:
            when = _utc(e["Timestamp"])
            if not start <= when <= end:
                continue
            logical = e.get("LogicalResourceId", "")
            status = e.get("ResourceStatus", "")
            what = f"cloudformation {logical} {status}" + (f" ({e['ResourceStatusReason']})"
                                                           if e.get("ResourceStatusReason") else "")
            physical = short(str(e.get("PhysicalResourceId", "")))
            out.append(Change(when=when, resource=stack["StackName"], what=what, who="CloudFormation",
                              source="cloudformation", also=tuple(n for n in (physical, logical) if n)))
    out.sort(key=lambda c: c.when, reverse=True)
    return out[:cap]


def scaling_changes(aws: AwsClients, start: datetime, end: datetime, cap: int) -> list[Change]:
    """Auto Scaling activities (launches, terminations) that started in the window."""
    page = aws.call("autoscaling", "DescribeScalingActivities", MaxRecords=100)
    out = [Change(when=_utc(a["StartTime"]), resource=a.get("AutoScalingGroupName", ""),
                  what=f"autoscaling {a.get('Description', '')} ({a.get('StatusCode', '')})".strip(),
                  who="Auto Scaling", source="autoscaling")
           for a in page.get("Activities", []) if start <= _utc(a["StartTime"]) <= end]
    return out[:cap]


def service_deployments(aws: AwsClients, start: datetime, end: datetime, cap: int) -> list[Change]:
    """ECS deployments created or updated in the window, on every cluster's services."""
    out: list[Change] = []
    for cluster in aws.call("ecs", "ListClusters").get("clusterArns", []):
        arns = aws.call("ecs", "ListServices", cluster=cluster, maxResults=SERVICE_CAP).get("serviceArns", [])
        for i in range(0, len(arns), SERVICE_BATCH):
            page = aws.call("ecs", "DescribeServices", cluster=cluster, services=arns[i: i + SERVICE_BATCH])
            for svc in page.get("services", []):
                for d in svc.get("deployments", []):
                    when = _utc(d.get("createdAt") or d.get("updatedAt"))
                    if start <= when <= end:
                        rollout = d.get("rolloutState") or d.get("status", "")
                        out.append(Change(when=when, resource=svc["serviceName"], who="ECS", source="ecs",
                                          what=f"ecs deployment {short(d.get('taskDefinition', ''))} "
                                               f"({d.get('status', '')}, rollout {rollout})"))
    out.sort(key=lambda c: c.when, reverse=True)
    return out[:cap]


def function_changes(aws: AwsClients, start: datetime, end: datetime, cap: int) -> list[Change]:
    """Lambda functions whose code or configuration changed in the window, and versions published in it."""
    out: list[Change] = []
    functions = aws.call("lambda", "ListFunctions", MaxItems=FUNCTION_CAP).get("Functions", [])
    for fn in functions:
        modified = _lambda_time(fn.get("LastModified", ""))
        if modified is None or modified < start:
            continue
        name = fn["FunctionName"]
        if modified <= end:
            out.append(Change(when=modified, resource=name, who="Lambda", source="lambda",
                              what="lambda code or configuration updated"))
        versions = aws.call("lambda", "ListVersionsByFunction", FunctionName=name).get("Versions", [])
        for v in versions:
            when = _lambda_time(v.get("LastModified", ""))
            if v.get("Version") != "$LATEST" and when is not None and start <= when <= end:
                out.append(Change(when=when, resource=name, who="Lambda", source="lambda",
                                  what=f"lambda version {v['Version']} published"))
    out.sort(key=lambda c: c.when, reverse=True)
    return out[:cap]


def _lambda_time(text: str) -> datetime | None:
    """Lambda's ``2026-11-25T10:00:00.000+0000`` (any number of fraction digits, ``Z`` too)."""
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return None
