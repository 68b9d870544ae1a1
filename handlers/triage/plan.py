"""The plan, run: the inventory round (alarms, instances, status checks, log group names — listing calls, at
once), then one parallel round of every capability's triage jobs for the resolved entities. No model.

The bundle holds findings in a fixed order (alarms, changes, status, metrics, logs, then other capabilities'), the
notes on what could not be read, and every id the evidence names, for the citation check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.models import Request
from bot.progress import report
from handlers.alarms import alarm_line
from handlers.capability import Capability
from handlers.evidence import Finding, Moment, TriageContext
from handlers.scope import Scope, fleet_targets, gather, labelled
from handlers.services import Services
from handlers.triage.mentions import Mentions, read_mentions
from handlers.triage.resolve import Inventory, read_inventory, resolve

_ORDER = {"alarms": 0, "changes": 1, "status": 2, "metrics": 3, "logs": 4}


@dataclass
class Bundle:
    """What triage gathered for one question or alarm, before any model is asked."""

    text: str  # the question, or the alarm's name and reason
    mentions: Mentions
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    known: set[str] = field(default_factory=set)  # ids and names seen in AWS, for the citation check
    jobs: int = 0  # evidence jobs run in the parallel round

    @property
    def moments(self) -> list[Moment]:
        return [m for f in self.findings for m in f.moments]

    def render(self, limit: int) -> str:
        """The bundle as the model reads it, cut to ``limit`` characters from the least specific end."""
        parts = [f"### {f.title}\n" + "\n".join(f.lines) for f in self.findings]
        if self.notes:
            parts.append("### Not read\n" + "\n".join(self.notes))
        text = "\n\n".join(parts)
        return text if len(text) <= limit else text[:limit] + f"\n… [bundle cut at {limit} chars]"

    def evidence_text(self) -> str:
        return self.render(10**9)


def gather_bundle(text: str, request: Request, services: Services, sources: Sequence[Capability],
                  scope: Scope) -> Bundle:
    """Triage ``text`` over every account/region in ``scope``; a failed source is a note, not an error."""
    s = services.settings
    now = services.clock()
    mentions = read_mentions(text, s, now, s.triage_window_s)
    bundle = Bundle(text, mentions)
    targets = fleet_targets(scope, services)
    report("Gathering the evidence: alarms, instances, log groups…")
    inventories, unread = gather(targets, services, read_inventory)
    bundle.notes += unread
    label = labelled(services, sorted(inventories))
    hooks = [c.triage for c in sources if c.triage is not None]
    jobs: dict[str, Callable[[], list[Finding]]] = {}
    for target in sorted(inventories):
        inv = inventories[target]
        tag = f"[{target.label}] " if label else ""
        _inventory_findings(bundle, inv, services.at(target), tag)
        ctx = _context(text, request, services.at(target), now, mentions, inv)
        for hook in hooks:
            for key, job in hook(ctx).items():
                jobs[tag + key] = job
    report(f"Reading {len(jobs)} sources at once…")
    bundle.jobs = len(jobs)
    got = services.parallel.run(jobs)
    found: list[tuple[str, Finding]] = []
    for key, value in got.items():
        tag = key[: key.index("] ") + 2] if key.startswith("[") else ""
        if isinstance(value, Exception):
            bundle.notes.append(f"{key}: not read — {getattr(value, 'message', '') or type(value).__name__}")
            continue
        found += [(tag, f) for f in value]
    found.sort(key=lambda tf: _ORDER.get(tf[1].source, 9))
    for tag, f in found:
        lines = tuple(services.scrub(x) for x in f.lines)
        bundle.findings.append(Finding(f.source, services.scrub(tag + f.title), lines, f.moments, f.resources))
        bundle.known.update(r for r in f.resources if r)
    return bundle


def _context(text: str, request: Request, services: Services, now: datetime, m: Mentions,
             inv: Inventory) -> TriageContext:
    r = resolve(m, inv, services)
    return TriageContext(services=services, request=request, text=text, now=now, window_s=m.window_s,
                         since=m.since, http_codes=m.http_codes, words=m.words, groups=r.groups,
                         instances=r.instances, alarms=r.alarms, dimensions=r.dimensions)


def _inventory_findings(bundle: Bundle, inv: Inventory, services: Services, tag: str) -> None:
    """Firing alarms (always: they are the first thing on-call reads) and what the inventory saw."""
    if "alarms" not in inv.unread:
        lines = tuple(tag + alarm_line(a, services) for a in inv.alarms) or ("none",)
        moments = tuple(Moment(a.updated, "alarm", a.name, f"{a.name} entered ALARM") for a in inv.alarms)
        bundle.findings.append(Finding("alarms", f"{tag}Alarms firing now ({len(inv.alarms)})", lines, moments,
                                       tuple(a.name for a in inv.alarms)))
    bundle.known.update(a.name for a in inv.alarms)
    bundle.known.update(x for i in inv.instances for x in (i.instance_id, i.name) if x)
    bundle.known.update(inv.groups)
    bundle.known.update(v for a in inv.alarms for v in a.dimensions.values())
    bundle.notes += [f"{tag}could not read {what}" for what in inv.unread]
