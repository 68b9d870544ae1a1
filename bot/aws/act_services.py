"""ECS, Auto Scaling and SSM Run Command under the action role: the current state each proposal checks,
the one write each action makes, and the reads that verify it.

``actor`` is always an ``AwsClients`` on the action role (see ``bot.aws.act_ec2``). Operations are
named literally so tests/test_iam_actions.py can hold deploy/iam-policy-actions.json to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.aws.session import AwsClients
from bot.errors import NotFoundError, UserInputError


def _request_id(resp: dict[str, Any]) -> str:
    return str(resp.get("ResponseMetadata", {}).get("RequestId", ""))


# --- ECS ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EcsService:
    cluster: str
    name: str
    task_definition: str
    desired: int
    running: int
    deployments: tuple[tuple[str, str], ...]  # (status, rolloutState), primary first

    @property
    def settled(self) -> bool:
        """One deployment, completed, with every desired task running: what "deployed" means."""
        return (len(self.deployments) == 1 and self.deployments[0][1] in ("COMPLETED", "")
                and self.running >= self.desired)


def split_service(text: str) -> tuple[str, str]:
    cluster, sep, service = text.partition("/")
    if not sep or not cluster or not service:
        raise UserInputError(f"{text!r} is not cluster/service", "e.g. `prod/api`")
    return cluster, service


def ecs_service(actor: AwsClients, cluster: str, service: str) -> EcsService:
    resp = actor.call("ecs", "DescribeServices", cluster=cluster, services=[service])
    found = [s for s in resp.get("services", []) if s.get("status") == "ACTIVE"]
    if not found:
        raise NotFoundError(f"no active ECS service {cluster}/{service} in {actor.label}",
                            "check the cluster and service names and the region")
    s = found[0]
    deployments = sorted(s.get("deployments", []), key=lambda d: d.get("status") != "PRIMARY")
    return EcsService(cluster, service, str(s.get("taskDefinition", "")), int(s.get("desiredCount", 0)),
                      int(s.get("runningCount", 0)),
                      tuple((str(d.get("status", "")), str(d.get("rolloutState", ""))) for d in deployments))


def previous_task_definition(actor: AwsClients, current: str) -> str:
    """The ACTIVE revision of the same family just before ``current`` (ARN or family:revision)."""
    family, _, revision = current.rsplit("/", 1)[-1].partition(":")
    resp = actor.call("ecs", "ListTaskDefinitions", familyPrefix=family, status="ACTIVE", sort="DESC")
    older = [arn for arn in resp.get("taskDefinitionArns", [])
             if arn.rsplit("/", 1)[-1].partition(":")[0] == family
             and revision.isdigit() and int(arn.rsplit(":", 1)[-1]) < int(revision)]
    if not older:
        raise NotFoundError(f"{family} has no active revision before {revision}", "nothing to roll back to")
    return str(max(older, key=lambda arn: int(arn.rsplit(":", 1)[-1])))


def force_new_deployment(actor: AwsClients, cluster: str, service: str) -> str:
    return _request_id(actor.call("ecs", "UpdateService", cluster=cluster, service=service, forceNewDeployment=True))


def set_task_definition(actor: AwsClients, cluster: str, service: str, task_definition: str) -> str:
    return _request_id(actor.call("ecs", "UpdateService", cluster=cluster, service=service,
                                  taskDefinition=task_definition))


# --- Auto Scaling ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AsgState:
    name: str
    minimum: int
    maximum: int
    desired: int
    in_service: int


def asg_state(actor: AwsClients, name: str) -> AsgState:
    resp = actor.call("autoscaling", "DescribeAutoScalingGroups", AutoScalingGroupNames=[name])
    groups = resp.get("AutoScalingGroups", [])
    if not groups:
        raise NotFoundError(f"no Auto Scaling group {name!r} in {actor.label}", "check the name and region")
    g = groups[0]
    healthy = sum(1 for i in g.get("Instances", [])
                  if i.get("LifecycleState") == "InService" and i.get("HealthStatus", "Healthy") == "Healthy")
    return AsgState(name, int(g["MinSize"]), int(g["MaxSize"]), int(g["DesiredCapacity"]), healthy)


def set_desired_capacity(actor: AwsClients, name: str, capacity: int) -> str:
    return _request_id(actor.call("autoscaling", "SetDesiredCapacity", AutoScalingGroupName=name,
                                  DesiredCapacity=capacity, HonorCooldown=False))


# --- SSM Run Command ------------------------------------------------------------------------------------

def send_command(actor: AwsClients, instance_id: str, document: str,
                 parameters: dict[str, list[str]]) -> tuple[str, str]:
    """(request id, command id)."""
    resp = actor.call("ssm", "SendCommand", InstanceIds=[instance_id], DocumentName=document,
                      Parameters=parameters, Comment="cloudops approved action")
    return _request_id(resp), str(resp.get("Command", {}).get("CommandId", ""))


def command_status(actor: AwsClients, command_id: str, instance_id: str) -> str:
    """Pending, InProgress, Success, Failed, TimedOut, Cancelled … (SSM's own words)."""
    resp = actor.call("ssm", "GetCommandInvocation", CommandId=command_id, InstanceId=instance_id)
    return str(resp.get("Status", "Unknown"))
