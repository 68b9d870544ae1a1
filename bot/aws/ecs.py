"""ECS and load balancer gatherers: a service's deployments, counts and events, its stopped tasks' reasons
and exit codes, and the health of the targets behind it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.aws.changes import short
from bot.aws.session import AwsClients
from bot.errors import NotFoundError, UserInputError

SERVICE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
CLUSTER_CAP = 20  # clusters searched for a service name
SERVICES_CAP = 100  # services listed without a name
BATCH = 10  # DescribeServices' limit
EVENTS = 8  # newest service events shown
STOPPED = 5  # newest stopped tasks shown


@dataclass(frozen=True)
class Deployment:
    status: str  # PRIMARY | ACTIVE | INACTIVE
    rollout: str  # COMPLETED | IN_PROGRESS | FAILED
    rollout_reason: str
    task_definition: str  # api:42
    desired: int
    running: int
    pending: int
    failed: int
    created: datetime | None


@dataclass(frozen=True)
class EcsService:
    name: str
    cluster: str
    status: str
    desired: int
    running: int
    pending: int
    task_definition: str
    deployments: tuple[Deployment, ...]
    events: tuple[tuple[datetime | None, str], ...]  # newest first
    target_groups: tuple[str, ...]  # ARNs

    @property
    def healthy(self) -> bool:
        rolling = any(d.rollout in ("IN_PROGRESS", "FAILED") for d in self.deployments)
        return self.running >= self.desired and not rolling


@dataclass(frozen=True)
class StoppedTask:
    task_id: str
    stopped_at: datetime | None
    reason: str
    stop_code: str
    containers: tuple[tuple[str, int | None, str], ...]  # (name, exit code, reason)


@dataclass(frozen=True)
class TargetHealth:
    target: str  # id:port
    state: str  # healthy | unhealthy | draining | unused | initial | unavailable
    reason: str
    description: str


def _service(raw: dict[str, Any]) -> EcsService:
    deployments = tuple(Deployment(
        status=d.get("status", ""), rollout=d.get("rolloutState", ""), rollout_reason=d.get("rolloutStateReason", ""),
        task_definition=short(d.get("taskDefinition", "")), desired=d.get("desiredCount", 0),
        running=d.get("runningCount", 0), pending=d.get("pendingCount", 0), failed=d.get("failedTasks", 0),
        created=d.get("createdAt")) for d in raw.get("deployments", []))
    events = sorted(((e.get("createdAt"), str(e.get("message", ""))) for e in raw.get("events", [])),
                    key=lambda e: e[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
    return EcsService(
        name=raw.get("serviceName", ""), cluster=short(raw.get("clusterArn", "")), status=raw.get("status", ""),
        desired=raw.get("desiredCount", 0), running=raw.get("runningCount", 0), pending=raw.get("pendingCount", 0),
        task_definition=short(raw.get("taskDefinition", "")), deployments=deployments, events=tuple(events[:EVENTS]),
        target_groups=tuple(lb["targetGroupArn"] for lb in raw.get("loadBalancers", []) if lb.get("targetGroupArn")))


def find_service(aws: AwsClients, name: str) -> EcsService:
    """The service called ``name`` (or ``cluster/name``) in whichever cluster has it: names are unique per
    cluster, not per account."""
    cluster_name, _, name = name.rpartition("/")
    if not SERVICE_NAME.match(name) or (cluster_name and not SERVICE_NAME.match(cluster_name)):
        raise UserInputError(f"{name[:60]!r} is not an ECS service name", "service names look like api-prod")
    clusters = ([cluster_name] if cluster_name
                else aws.call("ecs", "ListClusters", maxResults=CLUSTER_CAP).get("clusterArns", []))
    found = []
    for cluster in clusters:
        page = aws.call("ecs", "DescribeServices", cluster=cluster, services=[name])
        found += [_service(s) for s in page.get("services", []) if s.get("status") != "INACTIVE"]
    if not found:
        raise NotFoundError(f"no ECS service named {name!r} in {aws.region}",
                            "`/cloudops service` lists the services")
    if len(found) > 1:
        raise UserInputError(f"{name!r} is a service in {len(found)} clusters: "
                             + ", ".join(s.cluster for s in found), "add the cluster: `service <cluster>/<name>`")
    return found[0]


def list_services(aws: AwsClients) -> list[EcsService]:
    out: list[EcsService] = []
    for cluster in aws.call("ecs", "ListClusters", maxResults=CLUSTER_CAP).get("clusterArns", []):
        arns = aws.call("ecs", "ListServices", cluster=cluster, maxResults=SERVICES_CAP).get("serviceArns", [])
        for i in range(0, len(arns), BATCH):
            page = aws.call("ecs", "DescribeServices", cluster=cluster, services=arns[i: i + BATCH])
            out += [_service(s) for s in page.get("services", [])]
        if len(out) >= SERVICES_CAP:
            break
    return out[:SERVICES_CAP]


def stopped_tasks(aws: AwsClients, service: EcsService, limit: int = STOPPED) -> list[StoppedTask]:
    """The service's newest stopped tasks with why they stopped (ECS keeps them about an hour)."""
    arns = aws.call("ecs", "ListTasks", cluster=service.cluster, serviceName=service.name, desiredStatus="STOPPED",
                    maxResults=100).get("taskArns", [])
    if not arns:
        return []
    tasks = aws.call("ecs", "DescribeTasks", cluster=service.cluster, tasks=arns[:100]).get("tasks", [])
    out = [StoppedTask(task_id=short(t.get("taskArn", "")), stopped_at=t.get("stoppedAt"),
                       reason=t.get("stoppedReason", ""), stop_code=t.get("stopCode", ""),
                       containers=tuple((c.get("name", ""), c.get("exitCode"), c.get("reason", ""))
                                        for c in t.get("containers", [])))
           for t in tasks]
    out.sort(key=lambda t: t.stopped_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return out[:limit]


def target_health(aws: AwsClients, target_group_arn: str) -> list[TargetHealth]:
    page = aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=target_group_arn)
    out = []
    for d in page.get("TargetHealthDescriptions", []):
        target, health = d.get("Target", {}), d.get("TargetHealth", {})
        port = f":{target['Port']}" if target.get("Port") else ""
        out.append(TargetHealth(target=f"{target.get('Id', '')}{port}", state=health.get("State", ""),
                                reason=health.get("Reason", ""), description=health.get("Description", "")))
    out.sort(key=lambda h: h.state == "healthy")
    return out
