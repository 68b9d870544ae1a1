"""Triage for an alarm that just fired: its name and dimensions are the mentions, so the same plan (alarm
dimensions → instances, functions, services, load balancers → log groups) ranks the likely causes."""

from __future__ import annotations

from collections.abc import Sequence

from bot.aws.records import Alarm
from bot.errors import CloudOpsError
from bot.models import Request, Section
from handlers.capability import Capability
from handlers.scope import Scope
from handlers.services import Services
from handlers.triage.causes import HEURISTICS_LABEL, likely_causes, render_causes
from handlers.triage.plan import gather_bundle


def alarm_causes(alarm: Alarm, request: Request, services: Services,
                 sources: Sequence[Capability]) -> Section | None:
    """The heuristics' section for an alarm's evidence pack; None when triage could read nothing."""
    text = " ".join([alarm.name, *alarm.dimensions.values()])
    try:
        bundle = gather_bundle(text, request, services, sources, Scope())
    except CloudOpsError:
        return None  # the evidence pack still stands; it says itself what it could not read
    text = services.scrub(render_causes(likely_causes(bundle.findings)))
    return Section(title=HEURISTICS_LABEL, text=text, code=True)
