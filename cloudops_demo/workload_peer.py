"""ECS and load-balancer target health as a sandbox can tell a story with: served by the same loopback peer
as CloudTrail (``cloudops_demo.trail_peer``), on their real wires.

moto runs ECS services but cannot give a deployment a past start time, a stopped task an exit code (it is
always 0) or a target a failed health check (targets are healthy unless their instance is stopped), which
is exactly what an incident looks like. So the sandbox seeds those here and boto3 reaches them through
``AWS_ENDPOINT_URL_ECS`` (AWS JSON 1.1) and ``AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`` (the query
protocol, XML answers). Operations served: ECS ListClusters, ListServices, DescribeServices, ListTasks,
DescribeTasks; ELBv2 DescribeTargetHealth.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

ECS_TARGET = "AmazonEC2ContainerServiceV20141113."
_ELB_NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"


class PeerFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class SeededService:
    cluster: str
    name: str
    desired: int
    running: int
    pending: int
    deployments: list[dict[str, Any]]  # newest first: status, taskDefinition, rolloutState, counts, createdAt
    events: list[tuple[datetime, str]] = field(default_factory=list)
    target_group_arn: str = ""
    stopped: list[dict[str, Any]] = field(default_factory=list)  # tasks: stoppedAt, stoppedReason, containers


@dataclass
class WorkloadState:
    account: str = "123456789012"
    region: str = "us-east-1"
    services: list[SeededService] = field(default_factory=list)
    targets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # target group ARN -> descriptions
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_service(self, service: SeededService) -> None:
        with self.lock:
            self.services.append(service)

    def set_targets(self, target_group_arn: str, descriptions: list[dict[str, Any]]) -> None:
        with self.lock:
            self.targets[target_group_arn] = descriptions

    def _arn(self, kind: str, *parts: str) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account}:{kind}/" + "/".join(parts)

    # --- ECS ----------------------------------------------------------------------------------------
    def ecs(self, operation: str, body: dict[str, Any], region: str) -> dict[str, Any]:
        """One ECS operation; the seeded services live in ``self.region`` only, like real ones."""
        with self.lock:
            services = list(self.services) if region == self.region else []
        if operation == "ListClusters":
            return {"clusterArns": sorted({self._arn("cluster", s.cluster) for s in services})}
        cluster = str(body.get("cluster", "default")).rsplit("/", 1)[-1]
        mine = [s for s in services if s.cluster == cluster]
        if operation == "ListServices":
            return {"serviceArns": [self._arn("service", cluster, s.name) for s in mine]}
        if operation == "DescribeServices":
            wanted = [str(n).rsplit("/", 1)[-1] for n in body.get("services", [])]
            found = [s for s in mine if s.name in wanted]
            missing = [n for n in wanted if n not in {s.name for s in found}]
            return {"services": [self._service(s) for s in found],
                    "failures": [{"arn": self._arn("service", cluster, n), "reason": "MISSING"} for n in missing]}
        if operation == "ListTasks":
            name = body.get("serviceName")
            stopped = [t for svc in mine if svc.name == name or not name for t in svc.stopped] \
                if body.get("desiredStatus") == "STOPPED" else []
            return {"taskArns": [self._arn("task", cluster, t["taskId"]) for t in stopped]}
        if operation == "DescribeTasks":
            task_ids = {str(a).rsplit("/", 1)[-1] for a in body.get("tasks", [])}
            pairs = [(svc, t) for svc in mine for t in svc.stopped if t["taskId"] in task_ids]
            return {"tasks": [self._task(svc, t) for svc, t in pairs], "failures": []}
        raise PeerFault("InvalidParameterException", f"{operation} is not served by the sandbox peer")

    def _service(self, s: SeededService) -> dict[str, Any]:
        lbs = ([{"targetGroupArn": s.target_group_arn, "containerName": s.name, "containerPort": 8080}]
               if s.target_group_arn else [])
        return {"serviceArn": self._arn("service", s.cluster, s.name), "serviceName": s.name,
                "clusterArn": self._arn("cluster", s.cluster), "status": "ACTIVE", "desiredCount": s.desired,
                "runningCount": s.running, "pendingCount": s.pending, "launchType": "FARGATE",
                "taskDefinition": self._arn("task-definition", s.deployments[0]["taskDefinition"]),
                "loadBalancers": lbs,
                "deployments": [{"id": f"ecs-svc/{i}", **{k: v.timestamp() if isinstance(v, datetime) else v
                                                         for k, v in d.items()}}
                                for i, d in enumerate(s.deployments)],
                "events": [{"id": str(i), "createdAt": w.timestamp(), "message": m}
                           for i, (w, m) in enumerate(s.events)]}

    def _task(self, s: SeededService, t: dict[str, Any]) -> dict[str, Any]:
        return {"taskArn": self._arn("task", s.cluster, t["taskId"]), "clusterArn": self._arn("cluster", s.cluster),
                "group": f"service:{s.name}", "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                "stoppedAt": t["stoppedAt"].timestamp(), "stoppedReason": t["stoppedReason"],
                "stopCode": t.get("stopCode", "EssentialContainerExited"),
                "taskDefinitionArn": self._arn("task-definition", t["taskDefinition"]),
                "containers": [{"name": n, "exitCode": code, "reason": reason, "lastStatus": "STOPPED"}
                               for n, code, reason in t["containers"]]}

    # --- ELBv2 --------------------------------------------------------------------------------------
    def elb(self, form: dict[str, str], region: str) -> str:
        action = form.get("Action", "")
        if action != "DescribeTargetHealth":
            raise PeerFault("InvalidAction", f"{action} is not served by the sandbox peer")
        arn = form.get("TargetGroupArn", "")
        with self.lock:
            descriptions = self.targets.get(arn) if region == self.region else None
        if descriptions is None:
            raise PeerFault("TargetGroupNotFound", f"Target group '{arn}' not found")
        members = "".join(
            f"<member><Target><Id>{escape(d['id'])}</Id><Port>{d['port']}</Port></Target>"
            f"<HealthCheckPort>{d['port']}</HealthCheckPort><TargetHealth><State>{escape(d['state'])}</State>"
            + (f"<Reason>{escape(d['reason'])}</Reason><Description>{escape(d['description'])}</Description>"
               if d.get("reason") else "") + "</TargetHealth></member>" for d in descriptions)
        return (f'<DescribeTargetHealthResponse xmlns="{_ELB_NS}"><DescribeTargetHealthResult>'
                f"<TargetHealthDescriptions>{members}</TargetHealthDescriptions></DescribeTargetHealthResult>"
                f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                "</DescribeTargetHealthResponse>")


def elb_error(code: str, message: str) -> str:
    return (f'<ErrorResponse xmlns="{_ELB_NS}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
