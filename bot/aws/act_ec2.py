"""EC2 reboot / stop / start under the action role: the instance's state, a ``DryRun`` of the write, the
write itself, and the status checks that verify it.

``actor`` is always an ``AwsClients`` on the action role (``AwsAccounts.action_clients``), never the
read-only clients: the dry run asks AWS whether *that* role may make the call. Every call names its
operation literally, so tests/test_iam_actions.py can hold deploy/iam-policy-actions.json to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.aws.session import AwsClients
from bot.errors import AwsAccessDenied, DryRunPassed, NotFoundError, UserInputError

WRITES = ("RebootInstances", "StopInstances", "StartInstances")


@dataclass(frozen=True)
class Ec2Instance:
    instance_id: str
    name: str
    state: str
    instance_status: str = ""
    system_status: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.instance_id})" if self.name else self.instance_id


def find_instance(actor: AwsClients, selector: str) -> Ec2Instance:
    """One instance by id or Name tag; ambiguous names are refused rather than guessed."""
    if selector.startswith("i-"):
        resp = actor.call("ec2", "DescribeInstances", InstanceIds=[selector])
    else:
        resp = actor.call("ec2", "DescribeInstances", Filters=[{"Name": "tag:Name", "Values": [selector]}])
    found = [i for r in resp.get("Reservations", []) for i in r.get("Instances", [])
             if i.get("State", {}).get("Name") != "terminated"]
    if not found:
        raise NotFoundError(f"no EC2 instance {selector!r} in {actor.label}", "check the id or Name tag and region")
    if len(found) > 1:
        raise UserInputError(f"{len(found)} instances are named {selector!r}", "use the instance id")
    inst = found[0]
    name = next((t["Value"] for t in inst.get("Tags", []) if t.get("Key") == "Name"), "")
    return Ec2Instance(inst["InstanceId"], name, inst.get("State", {}).get("Name", "unknown"))


def with_checks(actor: AwsClients, instance: Ec2Instance) -> Ec2Instance:
    """The instance's state and its two status checks, now."""
    resp = actor.call("ec2", "DescribeInstanceStatus", InstanceIds=[instance.instance_id], IncludeAllInstances=True)
    statuses = resp.get("InstanceStatuses", [])
    if not statuses:
        return instance
    st = statuses[0]
    return Ec2Instance(instance.instance_id, instance.name, st.get("InstanceState", {}).get("Name", instance.state),
                       st.get("InstanceStatus", {}).get("Status", ""), st.get("SystemStatus", {}).get("Status", ""))


def dry_run(actor: AwsClients, write: str, instance_id: str) -> str:
    """"" when AWS says the write would succeed for this role; otherwise why not."""
    try:
        _write(actor, write, instance_id, dry_run=True)
    except DryRunPassed:
        return ""
    except AwsAccessDenied as exc:
        return f"the action role may not call ec2:{write} ({exc.message})"
    return f"ec2:{write} DryRun did not answer DryRunOperation"


def write(actor: AwsClients, write_op: str, instance_id: str) -> str:
    """Make the write; returns AWS's request id."""
    resp = _write(actor, write_op, instance_id, dry_run=False)
    return str(resp.get("ResponseMetadata", {}).get("RequestId", ""))


def _write(actor: AwsClients, op: str, instance_id: str, *, dry_run: bool) -> dict[str, Any]:
    ids = [instance_id]
    if op == "RebootInstances":
        return actor.call("ec2", "RebootInstances", InstanceIds=ids, DryRun=dry_run)
    if op == "StopInstances":
        return actor.call("ec2", "StopInstances", InstanceIds=ids, DryRun=dry_run)
    if op == "StartInstances":
        return actor.call("ec2", "StartInstances", InstanceIds=ids, DryRun=dry_run)
    raise ValueError(f"not an EC2 action write: {op}")
