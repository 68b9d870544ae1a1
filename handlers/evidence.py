"""What a capability contributes to triage: the context it is given and the findings it returns.

Kept apart from ``handlers.triage`` (the planner) so ``handlers.capability`` can name the hook's types
without importing the planner, which itself reads the capability entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.aws.records import Alarm, Instance, InstanceHealth
from bot.models import Request
from handlers.services import Services


@dataclass(frozen=True)
class Moment:
    """A timed fact a heuristic can correlate: ``kind`` is one of ``KINDS``; ``resource`` what it is about.
    ``at`` is None when AWS says what happened but not when (a stopped instance without a transition time)."""

    at: datetime | None
    kind: str
    resource: str
    text: str


KINDS = ("change", "first_error", "state_change", "breach", "alarm")


@dataclass(frozen=True)
class Finding:
    """One piece of evidence for the bundle: a titled block of scrubbed lines, plus its timed facts."""

    source: str  # "logs", "metrics", "status", … (the capability's verb)
    title: str
    lines: tuple[str, ...]
    moments: tuple[Moment, ...] = ()
    resources: tuple[str, ...] = ()  # ids and names this finding is about (for the citation check)


@dataclass(frozen=True)
class TriageContext:
    """What the question or alarm names, resolved against the inventory read in the first round."""

    services: Services
    request: Request
    text: str
    now: datetime
    window_s: int
    since: datetime | None  # a time hint ("since 10:40"), else None
    http_codes: tuple[str, ...]
    words: tuple[str, ...]
    groups: tuple[str, ...]  # log groups named, aliased or implied (alarm dimensions)
    instances: tuple[tuple[Instance, InstanceHealth | None], ...]  # instances named, tagged or alarmed
    alarms: tuple[Alarm, ...]  # firing alarms related to the question (all firing ones when none match)
    dimensions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # FunctionName -> ("checkout",)…


# A capability's triage hook: given the context, the jobs it wants run in the evidence round, by key.
# Each job returns findings; the planner runs every capability's jobs at once and keeps going when one fails.
TriageJobs = Mapping[str, Callable[[], list[Finding]]]
TriageHook = Callable[[TriageContext], TriageJobs]
