"""What a capability is: one declaration that every front end reads instead of re-listing it.

The Slack router and help, the model's toolbox, the metric labels, the sidecar's OpenAPI, the README's
command table and the IAM-policy check all derive from ``Capability`` entries (``handlers.registry``).
A model tool is part of its capability and calls the same gatherer as the command, so a tool refuses
an ambiguous name or degrades on a refused permission exactly as the command does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.config import parse_duration
from bot.models import Reply, Request
from handlers.action_spec import ActionSpec
from handlers.evidence import TriageHook
from handlers.scope import Scope, split_scope
from handlers.services import Services

Handler = Callable[[Request, list[str], Services], Reply]


class Access(StrEnum):
    """The access class admission checks (``handlers.guard``)."""

    READ = "read"  # shows AWS evidence to the asker
    MODEL = "model"  # sends evidence to the model provider, a third party
    ACTION = "action"  # changes something: only ever proposed, then run once a second person approves


@dataclass(frozen=True)
class ToolCall:
    """One model tool call: the arguments plus what the asker's command would have had."""

    services: Services
    request: Request
    args: dict[str, Any]

    def text(self, key: str, default: str = "") -> str:
        value = self.args.get(key)
        return str(value) if value not in (None, "") else default

    def scope(self) -> Scope:
        """``account``/``region`` arguments, validated like ``--account``/``--region``."""
        words: list[str] = []
        for key in ("account", "region"):
            if self.args.get(key):
                words += [f"--{key}", str(self.args[key])]
        return split_scope(words, self.request, self.services)[1]

    def window(self, services: Services | None = None) -> int:
        settings = (services or self.services).settings
        raw = self.args.get("window")
        window = parse_duration(str(raw)) if raw else settings.default_window_s
        return min(window, settings.max_window_s)


@dataclass(frozen=True)
class ModelTool:
    """A read-only tool the model may call. ``parameters`` is the JSON schema of its arguments; the
    toolbox adds ``account``/``region`` when accounts are configured."""

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[ToolCall], str]


@dataclass(frozen=True)
class Capability:
    """One thing the bot can do, declared once.

    ``gatherers`` are the functions that read AWS for it (the command and its tools both call them);
    ``aws_actions`` are the calls they make, ``service:Operation`` as ``AwsClients.call`` names them
    ("ec2:DescribeInstances", which for every service used so far is also the IAM action): the deploy
    policy grants exactly their union and the metrics pre-initialise them. ``prompt`` names its template
    in ``prompts/``; ``order`` places it in help; ``free_text``: the rest of the command is one argument
    (a question), not words.
    ``action``: set on the ``action``-class entries (``Access.ACTION``): the write they propose. Their
    ``aws_actions`` stay empty because nothing of theirs runs under the read-only role; what the action
    role needs is ``action.iam_actions``. Front ends that must never change anything (an MCP server)
    skip every entry whose ``access`` is ``Access.ACTION``, tools included.
    ``triage``: optional hook contributing evidence for the entities a question or alarm names
    (``handlers.evidence``); the planner (``handlers.triage``) runs every entry's jobs in one round.
    """

    verb: str
    usage: str
    summary: str
    handler: Handler
    access: Access = Access.READ
    gatherers: tuple[Callable[..., Any], ...] = ()
    tools: tuple[ModelTool, ...] = ()
    prompt: str | None = None
    aws_actions: tuple[str, ...] = ()
    order: int = 50
    free_text: bool = False
    action: ActionSpec | None = None
    triage: TriageHook | None = None

    @property
    def uses_model(self) -> bool:
        return self.access is Access.MODEL
