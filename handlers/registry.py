"""Every capability, found once: the modules of ``handlers.capabilities`` plus help and ask.

Router, help, toolbox, metric labels (``bot.runtime``), the sidecar's OpenAPI check, the README table
check and the IAM-policy check read ``CAPABILITIES``; none of them lists verbs or actions itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import ModuleType

from handlers import capabilities
from handlers.action_spec import ActionSpec
from handlers.actions.entries import do_capability
from handlers.ask import capability as ask_capability
from handlers.capability import Capability
from handlers.help import capability as help_capability

# Called by the bot but by no capability: the sidecar's /status probe (bot.aws.health).
SERVICE_ACTIONS = ("sts:GetCallerIdentity",)
# The alarm queue consumer (bot.slack.alarm_queue), with CLOUDOPS_ALARM_QUEUE_URL only: the bot's own role,
# from deploy/iam-policy-alarm-queue.json, never the read-only roles (deleting a message is a write).
QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage")


def _declared(module: ModuleType) -> Capability:
    entry = getattr(module, "CAPABILITY", None)
    if not isinstance(entry, Capability):  # a module here that declares nothing is a mistake, not a helper
        raise RuntimeError(f"{module.__name__} declares no CAPABILITY")
    return entry


def _discover() -> tuple[Capability, ...]:
    found = [_declared(importlib.import_module(f"{capabilities.__name__}.{m.name}"))
             for m in pkgutil.iter_modules(capabilities.__path__)]
    return tuple(sorted(found, key=lambda c: (c.order, c.verb)))


_DISCOVERED = _discover()
_DO = do_capability([c for c in _DISCOVERED if c.action is not None])
_TOOLED = tuple(sorted((*_DISCOVERED, _DO), key=lambda c: (c.order, c.verb)))
_ASK = ask_capability(_TOOLED)
CAPABILITIES: tuple[Capability, ...] = (help_capability((*_TOOLED, _ASK)), *_TOOLED, _ASK)
BY_VERB = {c.verb: c for c in CAPABILITIES}
_TOOL_NAMES = [t.name for c in CAPABILITIES for t in c.tools]
if len(BY_VERB) != len(CAPABILITIES) or len(set(_TOOL_NAMES)) != len(_TOOL_NAMES):
    raise RuntimeError("two capabilities declare the same verb or model tool name")


def verbs() -> tuple[str, ...]:
    return tuple(BY_VERB)


def action_names() -> tuple[str, ...]:
    """The declared actions (``Access.ACTION`` entries that carry an ``ActionSpec``)."""
    return tuple(c.verb for c in CAPABILITIES if c.action is not None)


def action_rule_problems(rules: Mapping[str, object]) -> list[str]:
    """Rules naming an action no entry declares (configuration cannot import the entries to check)."""
    unknown = sorted(set(rules) - set(action_names()))
    return [f"CLOUDOPS_ACTION_RULES names unknown action(s) {', '.join(unknown)}; "
            f"known: {', '.join(action_names())}"] if unknown else []


def action_spec(name: str) -> ActionSpec | None:
    entry = BY_VERB.get(name)
    return entry.action if entry is not None else None


def action_iam_actions() -> tuple[str, ...]:
    """Everything the action role is called for: deploy/iam-policy-actions.json grants exactly this."""
    return tuple(sorted({a for c in CAPABILITIES if c.action is not None for a in c.action.iam_actions}))


# IAM prefix -> boto3 service name, where they differ: metric labels name the service as the calls do
_BOTO_SERVICE = {"elasticloadbalancing": "elbv2"}


def aws_operations() -> tuple[str, ...]:
    """The same actions as ``service:Operation`` the way ``AwsClients.call`` labels its metrics."""
    out = []
    for action in aws_actions():
        prefix, _, op = action.partition(":")
        out.append(f"{_BOTO_SERVICE.get(prefix, prefix)}:{op}")
    return tuple(out)


def aws_actions() -> tuple[str, ...]:
    """Every AWS action the bot may call: the capabilities' and the service's own probe."""
    return tuple(sorted({a for c in CAPABILITIES for a in c.aws_actions} | set(SERVICE_ACTIONS)))
