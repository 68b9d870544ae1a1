"""The answer without a model (none configured, over budget, or it failed): the bot's ranked heuristics
first, then the evidence each rests on, so the reader sees the lead and can check it."""

from __future__ import annotations

from bot.models import Reply, Section
from handlers.services import Services
from handlers.triage.causes import HEURISTICS_LABEL, likely_causes, render_causes
from handlers.triage.plan import Bundle


def checked(bundle: Bundle) -> str:
    """One line per source triage read, for "How I checked"."""
    return "\n".join(f"triage: {f.title}" for f in bundle.findings) or "triage: nothing could be read"


def evidence_reply(bundle: Bundle, title: str, services: Services, note: str) -> Reply:
    causes = likely_causes(bundle.findings)
    sections = [Section(title=HEURISTICS_LABEL, text=services.scrub(render_causes(causes)), code=True)]
    sections += [Section(title=f.title, text="\n".join(f.lines) or "none", code=True) for f in bundle.findings]
    alarms = next((f for f in bundle.findings if f.source == "alarms"), None)
    firing = [r for r in alarms.resources] if alarms else []
    lead = (f"the bot's heuristics point first to: {causes[0].headline}" if causes
            else "the bot's heuristics found no correlated cause in the evidence read")
    summary = (f"Evidence only (no model): {lead}. "
               + (f"{len(firing)} alarm(s) firing: {', '.join(firing[:5])}. " if alarms else "")
               + f"After listing alarms, instances and log groups, triage read {bundle.jobs} sources at once; "
                 "the evidence is below.")
    notes = (note, *bundle.notes)
    evidence = "\n\n".join(f"{s.title}\n{s.text}" for s in sections)
    return Reply(title=title, summary=services.scrub(summary), sections=tuple(sections), notes=notes,
                 evidence=evidence)
