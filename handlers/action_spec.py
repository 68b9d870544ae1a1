"""What an action is: how it plans (parses its target, checks preconditions), makes its one write,
and verifies the effect. Each action capability (``handlers.capabilities.act_*``) declares one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.aws.session import AwsClients
from bot.config import Settings


@dataclass(frozen=True)
class Plan:
    """A proposal's content, worked out before anyone is asked to approve it.

    ``blocked`` names a failed precondition: then nothing is proposed.
    """

    target: str  # what the write acts on: an instance id, cluster/service, group name
    label: str  # how people know it: "web-1 (i-0abc…)"
    effect: str  # the expected effect, in words
    checks: tuple[str, ...] = ()  # preconditions checked, one line each
    params: dict[str, str] = field(default_factory=dict)  # validated parameters the write uses
    blocked: str = ""


@dataclass(frozen=True)
class Done:
    """The write's result: AWS's request id and what it answered, in words."""

    request_id: str
    summary: str
    params: dict[str, str] = field(default_factory=dict)  # anything verification needs (an SSM command id)


@dataclass(frozen=True)
class Verdict:
    """One verification look: finished (and whether it is what we wanted) or not yet."""

    finished: bool
    ok: bool
    detail: str


@dataclass(frozen=True)
class ActionSpec:
    """One action. ``iam_actions``: everything it calls under the action role (the write, its dry run,
    the reads behind its checks and verification) — deploy/iam-policy-actions.json grants their union."""

    name: str
    target_usage: str
    iam_actions: tuple[str, ...]
    plan: Callable[[AwsClients, list[str], Settings], Plan]
    execute: Callable[[AwsClients, Plan], Done]
    verify: Callable[[AwsClients, Plan, Done], Verdict]
