"""The action capability entries: each action's own verb (``/cloudops ec2-reboot web-1``), and ``do``
(``/cloudops do ec2-reboot web-1``) with the model's one action tool, ``propose_action``, which — like
every path here — only creates a proposal. Nothing in this module writes to AWS.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import UserInputError
from bot.models import Reply, Request, Section
from handlers.action_spec import ActionSpec
from handlers.actions.flow import expires_text, propose
from handlers.actions.proposals import Proposal
from handlers.capability import Access, Capability, ModelTool, ToolCall
from handlers.services import Services

DO_VERB = "do"


def proposal_reply(p: Proposal) -> Reply:
    """The answer in the thread; the card with the Approve/Reject buttons follows it."""
    return Reply(title=f"Proposed: {p.action} {p.label}",
                 summary=f"Nothing has changed yet. Someone other than the requester who may approve "
                         f"{p.action} must approve the card below before {expires_text(p)}.",
                 sections=(Section(title="Preconditions checked", text="\n".join(p.checks)),))


def action_capability(spec: ActionSpec, summary: str, order: int) -> Capability:
    def handler(request: Request, args: list[str], services: Services) -> Reply:
        return proposal_reply(propose(request, spec, args, services))

    return Capability(verb=spec.name, usage=f"{spec.name} {spec.target_usage}", summary=summary, handler=handler,
                      access=Access.ACTION, order=order, action=spec)


def do_capability(actions: Sequence[Capability]) -> Capability:
    """``do <action> …`` and the ``propose_action`` tool over the declared action entries."""
    by_name = {c.verb: c for c in actions if c.action is not None}

    def handler(request: Request, args: list[str], services: Services) -> Reply:
        if not args or args[0].lower() not in by_name:
            raise UserInputError("which action?", "actions: " + ", ".join(f"`{n}`" for n in by_name))
        return by_name[args[0].lower()].handler(request, args[1:], services)

    def propose_action(call: ToolCall) -> str:
        spec = by_name[call.text("action")].action if call.text("action") in by_name else None
        if spec is None:
            return f"error: unknown action; one of {', '.join(by_name)}"
        words = [call.text("target"), *[str(p) for p in call.args.get("params") or []]]
        for key in ("account", "region"):
            if call.args.get(key):
                words += [f"--{key}", str(call.args[key])]
        p = propose(call.request, spec, [w for w in words if w], call.services)
        return (f"Proposal {p.id} created and shown to the users as a card: {p.action} {p.label} in {p.where}. "
                f"Expected effect: {p.effect}. Nothing has changed: a second person must approve it in Slack "
                f"before {expires_text(p)}.")

    tool = ModelTool(
        "propose_action",
        "Propose (never perform) one operational action for a human to approve in Slack: "
        + "; ".join(f"{n} {c.action.target_usage}" for n, c in by_name.items() if c.action) + ". "
        "Only propose when the evidence supports it and the user asked for a fix.",
        {"type": "object", "required": ["action", "target"],
         "properties": {"action": {"type": "string", "enum": list(by_name)},
                        "target": {"type": "string", "description": "instance id or Name, cluster/service, "
                                                                    "or Auto Scaling group name"},
                        "params": {"type": "array", "items": {"type": "string"},
                                   "description": "extra parameters, e.g. the capacity or document=… key=value"}}},
        propose_action)
    return Capability(verb=DO_VERB, usage="do <action> <target> [params]",
                      summary="propose an action; it runs only after a second person approves",
                      handler=handler, access=Access.ACTION, order=60, tools=(tool,))
