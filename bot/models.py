"""The shared vocabulary: what a request is and what a reply is, with no Slack or AWS types.

Handlers take a ``Request`` and return a ``Reply``; the Slack edge, the sidecar's ``/query`` and the
CLI each turn their own input into a ``Request`` and render the ``Reply`` their own way. Keeping these
frozen and transport-free is what lets one handler serve all three.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Source(StrEnum):
    """Where a request came from; used for metrics labels and for how the reply is delivered."""

    COMMAND = "command"  # /cloudops slash command
    MENTION = "mention"  # @CloudOps in a channel or thread
    QUERY = "query"  # sidecar POST /query
    CLI = "cli"  # cloudops-bot ask
    ACTION = "action"  # a button on a bot message (alarm incidents)
    MCP = "mcp"  # a tool call from an MCP client (cloudops-bot mcp)


@dataclass(frozen=True)
class ThreadMessage:
    """One earlier message of the thread a follow-up arrives in (already sanitised and redacted)."""

    author: str  # "user" or "assistant"
    text: str


@dataclass(frozen=True)
class Request:
    """A parsed user request. ``text`` is the command text without the bot mention or the slash."""

    text: str
    source: Source
    user: str = "cli"
    channel: str = ""
    thread_ts: str | None = None
    history: tuple[ThreadMessage, ...] = ()
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    user_groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fact:
    """A short label/value pair shown as a field (e.g. "State" / "running")."""

    label: str
    value: str


@dataclass(frozen=True)
class Section:
    """One block of an answer.

    ``text`` is plain untrusted text (it will be escaped); ``code`` marks text to show verbatim in a
    code block (log lines). ``markdown`` is text the bot itself wrote with Slack mrkdwn (bold etc.);
    any untrusted parts inside it must already be escaped by the handler via ``bot.text.mrkdwn``.
    """

    title: str = ""
    text: str = ""
    code: bool = False
    facts: tuple[Fact, ...] = ()
    markdown: bool = False


@dataclass(frozen=True)
class ChartSeries:
    """One line of a chart: UTC timestamps (naive = UTC) and values, oldest first."""

    label: str
    timestamps: tuple[datetime, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class ChartSpec:
    """A chart to draw under the answer. Data, not pixels: the Slack edge renders it to a PNG, the
    sidecar and the CLI ignore it (their text already carries the numbers and a sparkline)."""

    title: str
    series: tuple[ChartSeries, ...]
    unit: str = ""
    threshold: float | None = None  # an alarm's threshold: drawn as the red dashed line
    threshold_label: str = ""
    mark_at: datetime | None = None  # e.g. when the alarm fired: a vertical marker

    @property
    def points(self) -> int:
        return sum(len(s.values) for s in self.series)


@dataclass(frozen=True)
class Usage:
    """Model usage for one request, summed over the tool loop."""

    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0


@dataclass(frozen=True)
class Reply:
    """What a handler returns. Rendering to Block Kit, JSON or terminal text is a separate step."""

    title: str
    sections: tuple[Section, ...] = ()
    summary: str = ""  # the model's (or evidence-only) answer, shown first
    notes: tuple[str, ...] = ()  # caveats: "no model configured", "capped at 10,000 events", ...
    ok: bool = True  # False for an error reply
    hint: str = ""  # what to try next, for error replies
    correlation_id: str = ""  # set for unexpected errors; also logged
    model_used: bool = False
    usage: Usage | None = None
    aws_operations: tuple[str, ...] = ()  # "ec2:DescribeInstances", ... for the audit event
    evidence: str = ""  # the raw gathered evidence (redacted), for "show evidence"
    prompt: str = ""  # what was sent to the model (redacted), for "what was sent to the model"
    prompts: tuple[str, ...] = ()  # versions of the prompts sent ("status@v2"), for the audit event
    charts: tuple[ChartSpec, ...] = ()  # drawn and uploaded into the thread by the Slack edge
    proposals: tuple[str, ...] = ()  # ids of action proposals made: the Slack edge posts their cards

    def plain_text(self) -> str:
        """A terminal/JSON-friendly rendering, used by the CLI, ``/query?format=text`` and the demo."""
        out: list[str] = [self.title]
        if self.summary:
            out += ["", self.summary]
        for sec in self.sections:
            out.append("")
            if sec.title:
                out.append(f"== {sec.title} ==")
            for fact in sec.facts:
                out.append(f"{fact.label}: {fact.value}")
            if sec.text:
                out.append(sec.text)
        if self.hint:
            out += ["", f"Hint: {self.hint}"]
        for note in self.notes:
            out.append(f"note: {note}")
        if self.correlation_id:
            out.append(f"correlation id: {self.correlation_id}")
        return "\n".join(out)
