"""Likely causes from time and resource correlation: the bot's heuristics, ranked, each with its evidence.

Rules, strongest first: a change shortly before the first error (or else shortly before an alarm's breach;
a recorded write event over a log line that looks like a change); an instance state change near it; an error
signature in the logs that names a failing dependency; a metric breach close to the first error; the first
error itself. They rank leads for a human; they are not a diagnosis, and the reply says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.evidence import Finding, Moment
from handlers.formatting import stamp

HEURISTICS_LABEL = ("Likely causes — the bot's heuristics from time and resource correlation, "
                    "not a diagnosis")
BEFORE = timedelta(minutes=30)  # a change or state change this long before the first error is a suspect
NEAR = timedelta(minutes=10)
RECORDED = 0.3  # a write event AWS recorded (with its author) outranks a log line that merely looks like a change

_SIGNATURES: tuple[tuple[re.Pattern[str], str, float], ...] = tuple((re.compile(p, re.IGNORECASE), label, score)
                                                                   for p, label, score in (
    (r"could not connect|connection (?:timed out|refused|reset)|connect timeout|econnrefused|upstream timed out"
     r"|timed out after \d+ ?ms", "a dependency is not answering", 3.0),
    (r"pool exhausted|too many connections|remaining connection slots", "a connection pool is exhausted", 2.6),
    (r"getaddrinfo|enotfound|name or service not known|nxdomain|no such host", "DNS resolution is failing", 3.0),
    (r"outofmemory|oomkilled|out of memory|cannot allocate memory|memoryerror", "out of memory", 3.0),
    (r"no space left on device|disk full|enospc", "a disk is full", 3.0),
    (r"throttl|rate exceeded|toomanyrequests|slowdown", "throttled by a downstream API", 2.8),
    (r"certificate (?:has )?expired|certificate verify failed|x509", "a TLS certificate problem", 3.0),
    (r"task timed out after", "a function is timing out", 2.4),
    (r"accessdenied|access denied|not authorized|forbidden", "permission denied", 2.7),
    (r"queue backing up|backlog", "a queue is backing up", 2.2),
))  # fmt: skip
_TARGET = re.compile(r'host "([\w.-]+)"|upstream=([\w.:-]+)|enotfound ([\w.-]+)|getaddrinfo \w+ ([\w.-]+)'
                     r"|queue=([\w.-]+)|(?:connect(?:ing)? to|dial tcp) ([\w-]+[.:][\w.:-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Cause:
    score: float
    headline: str
    evidence: tuple[str, ...]


def likely_causes(findings: list[Finding], limit: int = 4) -> list[Cause]:
    moments = [m for f in findings for m in f.moments]
    errors = sorted((m for m in moments if m.kind == "first_error" and m.at), key=lambda m: m.at)  # type: ignore[arg-type, return-value]
    first = errors[0] if errors else None
    t0 = first.at if first else None
    fired = [m for m in moments if m.kind in ("breach", "alarm") and m.at]
    out: list[Cause] = []
    for f, m in ((found, m) for found in findings for m in found.moments):
        recorded = RECORDED if f.source == "changes" else 0.0
        anchor = _fired_after(m, fired)
        if m.kind == "change" and m.at and t0 and t0 - BEFORE <= m.at <= t0 + timedelta(minutes=1):
            lead = (t0 - m.at).total_seconds() / 60
            out.append(Cause(3.6 + recorded - lead / 30, f"A change {lead:.0f} min before the first error: {m.text}",
                             (f"{stamp(m.at)} change: {m.text}", _first_line(first))))
        elif m.kind == "change" and m.at and anchor is not None and anchor.at:
            lead = (anchor.at - m.at).total_seconds() / 60
            out.append(Cause(3.5 + recorded - lead / 30, f"A change {lead:.0f} min before {anchor.resource} "
                                                         f"breached: {m.text}",
                             (f"{stamp(m.at)} change: {m.text}", f"{stamp(anchor.at)} {anchor.text}")))
        elif m.kind == "state_change":
            near = m.at is not None and t0 is not None and t0 - BEFORE <= m.at <= t0 + NEAR
            out.append(Cause(3.2 if near else 2.0, f"Instance state: {m.text}",
                             tuple(x for x in (f"{stamp(m.at) if m.at else 'time unknown'}: {m.text}",
                                               _first_line(first) if near else "") if x)))
        elif m.kind == "breach" and m.at:
            close = t0 is not None and abs(m.at - t0) <= NEAR
            out.append(Cause(2.3 if close else 1.6, f"Metric breach: {m.text}",
                             (f"{stamp(m.at)} {m.text}",) + ((_first_line(first),) if close and first else ())))
    out += _signatures(findings)
    if first is not None:
        out.append(Cause(1.0, f"Errors began at {stamp(first.at)} in {first.resource}", (_first_line(first),)))
    best: dict[str, Cause] = {}
    for c in out:
        if c.headline not in best or best[c.headline].score < c.score:
            best[c.headline] = c
    return sorted(best.values(), key=lambda c: -c.score)[:limit]


def _fired_after(change: Moment, fired: list[Moment]) -> Moment | None:
    """The first breach or alarm within ``BEFORE`` after a change (a minute's clock skew allowed)."""
    at = change.at
    if change.kind != "change" or at is None:
        return None
    after = [(m.at, m) for m in fired if m.at and at - timedelta(minutes=1) <= m.at <= at + BEFORE]
    return min(after, key=lambda tm: tm[0])[1] if after else None


def _first_line(m: Moment | None) -> str:
    return f"{stamp(m.at)} first error in {m.resource}: {m.text}" if m else ""


def _signatures(findings: list[Finding]) -> list[Cause]:
    """Error shapes that name a failure mode (and, when they say, which dependency)."""
    out: list[Cause] = []
    for f in findings:
        if f.source != "logs":
            continue
        for pattern, label, score in _SIGNATURES:
            lines = [x for block in f.lines for x in block.split("\n")]
            hits = [x for x in lines if pattern.search(x) and not x.startswith(("change?", "breach:"))]
            if not hits:
                continue
            targets = [next(g for g in t.groups() if g) for h in hits for t in _TARGET.finditer(h)]
            target = max(set(targets), key=targets.count) if targets else ""
            group = f.resources[0] if f.resources else f.title
            headline = f"{label[0].upper()}{label[1:]}" + (f": {target}" if target else "") + f" (in {group})"
            out.append(Cause(score + min(len(hits), 5) * 0.05, headline, tuple(h[:240] for h in hits[:2])))
    return out


def render_causes(causes: list[Cause]) -> str:
    if not causes:
        return "No correlated change, state change, breach or error signature in the evidence read."
    return "\n".join(f"{n}. {c.headline}\n" + "\n".join(f"   · {e}" for e in c.evidence)
                     for n, c in enumerate(causes, 1))


def first_error_at(findings: list[Finding]) -> datetime | None:
    times = [m.at for f in findings for m in f.moments if m.kind == "first_error" and m.at]
    return min(times) if times else None
