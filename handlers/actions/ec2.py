"""EC2 reboot / stop / start: preconditions (the instance's state and a ``DryRun`` of the write under the
action role), the write, and verification (the state reached and, for running, both status checks ok)."""

from __future__ import annotations

from bot.aws import act_ec2
from bot.aws.session import AwsClients
from bot.config import Settings
from bot.errors import UserInputError
from handlers.action_spec import ActionSpec, Done, Plan, Verdict

_IAM_READS = ("ec2:DescribeInstances", "ec2:DescribeInstanceStatus")


def ec2_spec(name: str, write: str, *, from_states: tuple[str, ...], to_state: str, effect: str) -> ActionSpec:
    def plan(actor: AwsClients, args: list[str], settings: Settings) -> Plan:
        if len(args) != 1:
            raise UserInputError(f"{name} takes one instance", f"`/cloudops do {name} <instance id or Name>`")
        inst = act_ec2.with_checks(actor, act_ec2.find_instance(actor, args[0]))
        checks = [f"state: {inst.state} (needs {' or '.join(from_states)})"]
        if inst.instance_status or inst.system_status:
            checks.append(f"status checks: instance {inst.instance_status or 'n/a'}, "
                          f"system {inst.system_status or 'n/a'}")
        blocked = "" if inst.state in from_states else f"{inst.label} is {inst.state}"
        refused = act_ec2.dry_run(actor, write, inst.instance_id) if not blocked else ""
        checks.append(f"ec2:{write} DryRun: " + (refused or "AWS says it would succeed") if not blocked
                      else f"ec2:{write} DryRun: not tried")
        return Plan(target=inst.instance_id, label=inst.label, effect=effect, checks=tuple(checks),
                    blocked=blocked or refused)

    def execute(actor: AwsClients, p: Plan) -> Done:
        request_id = act_ec2.write(actor, write, p.target)
        return Done(request_id, f"ec2:{write} accepted for {p.label}")

    def verify(actor: AwsClients, p: Plan, done: Done) -> Verdict:
        inst = act_ec2.with_checks(actor, act_ec2.Ec2Instance(p.target, "", "unknown"))
        if to_state == "running" and inst.state == "running":
            passed = inst.instance_status == "ok" and inst.system_status == "ok"
            return Verdict(passed, passed, f"running; status checks instance {inst.instance_status or 'n/a'}, "
                                           f"system {inst.system_status or 'n/a'}")
        if inst.state == to_state:
            return Verdict(True, True, inst.state)
        if inst.state in ("terminated", "shutting-down"):
            return Verdict(True, False, inst.state)
        return Verdict(False, False, inst.state)

    return ActionSpec(name=name, target_usage="<instance id or Name>",
                      iam_actions=(*_IAM_READS, f"ec2:{write}"), plan=plan, execute=execute, verify=verify)
