"""ECS redeploy / rollback, Auto Scaling capacity and SSM Run Command: each action's preconditions
(the resource's current state, parameters validated against configuration), its one write, and how its
effect is verified. Every AWS call goes through ``bot.aws.act_services`` under the action role."""

from __future__ import annotations

import re

from bot.aws import act_ec2, act_services
from bot.aws.session import AwsClients
from bot.config import Settings
from bot.errors import UserInputError
from handlers.action_spec import ActionSpec, Done, Plan, Verdict

_MAX_PARAM_CHARS = 200
_SSM_DONE = {"Success": True, "Failed": False, "TimedOut": False, "Cancelled": False, "DeliveryTimedOut": False}


def _one(name: str, args: list[str], usage: str) -> str:
    if len(args) != 1:
        raise UserInputError(f"{name} takes one target", f"`/cloudops do {name} {usage}`")
    return args[0]


def _deployments(svc: act_services.EcsService) -> str:
    return ", ".join(f"{s.lower()} {r.lower() or 'n/a'}" for s, r in svc.deployments) or "none"


def _service_checks(svc: act_services.EcsService) -> tuple[str, ...]:
    return (f"service ACTIVE, task definition {svc.task_definition.rsplit('/', 1)[-1]}",
            f"tasks running {svc.running} of {svc.desired}; deployments: {_deployments(svc)}")


def _ecs_verdict(svc: act_services.EcsService, want_task_definition: str = "") -> Verdict:
    detail = f"tasks running {svc.running} of {svc.desired}; deployments: {_deployments(svc)}"
    if any(r == "FAILED" for _, r in svc.deployments):
        return Verdict(True, False, detail)
    if want_task_definition and not svc.task_definition.endswith(want_task_definition.rsplit("/", 1)[-1]):
        return Verdict(True, False, f"the service runs {svc.task_definition}, not {want_task_definition}")
    return Verdict(svc.settled, svc.settled, detail)


def ecs_redeploy() -> ActionSpec:
    def plan(actor: AwsClients, args: list[str], settings: Settings) -> Plan:
        cluster, name = act_services.split_service(_one("ecs-redeploy", args, "<cluster>/<service>"))
        svc = act_services.ecs_service(actor, cluster, name)
        return Plan(target=f"{cluster}/{name}", label=f"{cluster}/{name}", checks=_service_checks(svc),
                    effect=f"ECS starts {svc.desired} new task(s) of the same task definition and drains the old "
                           "ones, as the service's deployment configuration allows")

    def execute(actor: AwsClients, p: Plan) -> Done:
        cluster, name = act_services.split_service(p.target)
        return Done(act_services.force_new_deployment(actor, cluster, name), f"ecs:UpdateService (force new "
                                                                              f"deployment) accepted for {p.label}")

    def verify(actor: AwsClients, p: Plan, done: Done) -> Verdict:
        return _ecs_verdict(act_services.ecs_service(actor, *act_services.split_service(p.target)))

    return ActionSpec("ecs-redeploy", "<cluster>/<service>", ("ecs:DescribeServices", "ecs:UpdateService"),
                      plan, execute, verify)


def ecs_rollback() -> ActionSpec:
    def plan(actor: AwsClients, args: list[str], settings: Settings) -> Plan:
        cluster, name = act_services.split_service(_one("ecs-rollback", args, "<cluster>/<service>"))
        svc = act_services.ecs_service(actor, cluster, name)
        previous = act_services.previous_task_definition(actor, svc.task_definition)
        short = previous.rsplit("/", 1)[-1]
        return Plan(target=f"{cluster}/{name}", label=f"{cluster}/{name}",
                    checks=(*_service_checks(svc), f"previous active revision: {short}"),
                    params={"task_definition": previous},
                    effect=f"the service moves from {svc.task_definition.rsplit('/', 1)[-1]} back to {short}: "
                           "ECS replaces every task")

    def execute(actor: AwsClients, p: Plan) -> Done:
        cluster, name = act_services.split_service(p.target)
        previous = p.params["task_definition"]
        return Done(act_services.set_task_definition(actor, cluster, name, previous),
                    f"ecs:UpdateService to {previous.rsplit('/', 1)[-1]} accepted for {p.label}")

    def verify(actor: AwsClients, p: Plan, done: Done) -> Verdict:
        svc = act_services.ecs_service(actor, *act_services.split_service(p.target))
        return _ecs_verdict(svc, p.params["task_definition"])

    return ActionSpec("ecs-rollback", "<cluster>/<service>",
                      ("ecs:DescribeServices", "ecs:ListTaskDefinitions", "ecs:UpdateService"), plan, execute, verify)


def asg_capacity() -> ActionSpec:
    def plan(actor: AwsClients, args: list[str], settings: Settings) -> Plan:
        if len(args) != 2 or not args[1].isdigit():
            raise UserInputError("asg-capacity takes a group and a number", "`/cloudops do asg-capacity workers 4`")
        g = act_services.asg_state(actor, args[0])
        want = int(args[1])
        blocked = ("" if g.minimum <= want <= g.maximum else f"{want} is outside the group's min {g.minimum} / "
                   f"max {g.maximum}") or ("" if want != g.desired else f"{g.name} already wants {want}")
        return Plan(target=g.name, label=g.name, params={"capacity": str(want)}, blocked=blocked,
                    checks=(f"min {g.minimum}, max {g.maximum}, desired {g.desired}, {g.in_service} in service",),
                    effect=f"desired capacity {g.desired} → {want}: Auto Scaling "
                           + ("launches" if want > g.desired else "terminates") + f" {abs(want - g.desired)} "
                           "instance(s)")

    def execute(actor: AwsClients, p: Plan) -> Done:
        return Done(act_services.set_desired_capacity(actor, p.target, int(p.params["capacity"])),
                    f"autoscaling:SetDesiredCapacity {p.params['capacity']} accepted for {p.label}")

    def verify(actor: AwsClients, p: Plan, done: Done) -> Verdict:
        g = act_services.asg_state(actor, p.target)
        want = int(p.params["capacity"])
        reached = g.desired == want and g.in_service == want
        return Verdict(reached, reached, f"{g.in_service} of {want} in service (desired {g.desired})")

    return ActionSpec("asg-capacity", "<group> <capacity>",
                      ("autoscaling:DescribeAutoScalingGroups", "autoscaling:SetDesiredCapacity"),
                      plan, execute, verify)


def _ssm_parameters(words: list[str], settings: Settings) -> tuple[str, dict[str, str]]:
    given: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise UserInputError(f"{word!r} is not key=value", "e.g. `document=AWS-RestartService ServiceName=nginx`")
        given[key] = value
    document = given.pop("document", "")
    allowed = settings.action_ssm_documents
    if document not in allowed:
        raise UserInputError(f"document {document!r} is not on the allowlist",
                             "allowed: " + (", ".join(allowed) or "none (CLOUDOPS_ACTION_SSM_DOCUMENTS)"))
    patterns = allowed[document]
    for key, value in given.items():
        if key not in patterns:
            raise UserInputError(f"{document} takes no parameter {key!r} here", "allowed: " + ", ".join(patterns))
        if len(value) > _MAX_PARAM_CHARS or not re.fullmatch(patterns[key], value):
            raise UserInputError(f"{key}={value[:40]!r} does not match the allowed pattern {patterns[key]}")
    missing = sorted(set(patterns) - set(given))
    if missing:
        raise UserInputError(f"{document} needs {', '.join(missing)}")
    return document, given


def ssm_run() -> ActionSpec:
    def plan(actor: AwsClients, args: list[str], settings: Settings) -> Plan:
        if not args:
            raise UserInputError("ssm-run needs an instance", "`/cloudops do ssm-run web-1 document=… key=value`")
        document, params = _ssm_parameters(args[1:], settings)
        inst = act_ec2.find_instance(actor, args[0])
        shown = " ".join(f"{k}={v}" for k, v in params.items())
        return Plan(target=inst.instance_id, label=inst.label, params={"document": document, **params},
                    checks=(f"state: {inst.state} (needs running)", f"{document} is on the allowlist; "
                            f"parameters match their patterns: {shown or 'none'}"),
                    blocked="" if inst.state == "running" else f"{inst.label} is {inst.state}",
                    effect=f"SSM runs {document} ({shown or 'no parameters'}) on the instance")

    def execute(actor: AwsClients, p: Plan) -> Done:
        params = dict(p.params)
        document = params.pop("document")
        request_id, command_id = act_services.send_command(actor, p.target, document,
                                                           {k: [v] for k, v in params.items()})
        return Done(request_id, f"ssm:SendCommand {document} accepted for {p.label} (command {command_id})",
                    {"command_id": command_id})

    def verify(actor: AwsClients, p: Plan, done: Done) -> Verdict:
        status = act_services.command_status(actor, done.params["command_id"], p.target)
        return Verdict(status in _SSM_DONE, _SSM_DONE.get(status, False), f"command {status}")

    return ActionSpec("ssm-run", "<instance> document=<name> [key=value…]",
                      ("ec2:DescribeInstances", "ssm:SendCommand", "ssm:GetCommandInvocation"),
                      plan, execute, verify)
