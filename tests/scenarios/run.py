"""Running one scenario's question through the real ``ask`` handler and scoring the answer.

Shared by the offline suite (``tests/test_triage_scenarios.py``) and ``make eval`` (``tests.scenarios.eval``),
so the score a user sees for their model is computed exactly as the tests check it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.metrics import Metrics
from bot.models import Reply, Request, Source
from handlers import registry
from handlers.services import Services
from handlers.triage.citations import invented_ids
from tests.scenarios.catalog import Scenario
from tests.scenarios.seed import plant

_TOOL_CALLS = re.compile(r"model tool calls: (\d+) \((\d+) malformed\)")


def settings_for(sc: Scenario, model: dict[str, Any] | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"aws_region": sc.region, "log_aliases": dict(sc.aliases), "aws_max_attempts": 2,
                              "llm_max_retries": 0, **(model or {}), **overrides}
    return Settings.from_values(values)


def resolve_fact(fact: str, ids: dict[str, str]) -> str:
    """``@name`` in a fact is the seeded instance id of ``name``."""
    return ids[fact[1:]] if fact.startswith("@") else fact


@dataclass(frozen=True)
class Outcome:
    scenario: str
    model: str
    reply: Reply
    ids: dict[str, str]
    causes_named: int
    causes_total: int
    invented: tuple[str, ...]
    tool_calls: int
    bad_calls: int
    model_calls: int
    tokens: int
    seconds: float


def ask(sc: Scenario, settings: Settings, now: datetime) -> Outcome:
    """Seed (once per region), ask the scenario's question through the ``ask`` capability, score the reply."""
    ids = plant(sc.seed, sc.region, now)
    services = Services.build(settings, Metrics())
    try:
        question = sc.ask(now)
        start = time.perf_counter()
        reply = registry.BY_VERB["ask"].handler(Request(text=question, source=Source.CLI, user="eval"), [question],
                                               services)
        seconds = time.perf_counter() - start
    finally:
        services.close()
    answer = (reply.summary if reply.model_used
              else reply.summary + "\n" + next((s.text for s in reply.sections if "heuristics" in s.title), "")).lower()
    causes = sum(1 for c in sc.causes if any(alt in answer for alt in c.lower().split("|")))
    how = "\n".join(s.text for s in reply.sections if s.title == "How I checked")
    m = _TOOL_CALLS.search(how)
    invented = tuple(invented_ids(reply.summary, ids.values(), reply.evidence + reply.prompt)) if reply.model_used \
        else ()
    usage = reply.usage
    return Outcome(sc.name, settings.llm_model if reply.model_used else "(no model)", reply, ids, causes,
                   len(sc.causes), invented, int(m.group(1)) if m else 0, int(m.group(2)) if m else 0,
                   usage.calls if usage else 0, (usage.prompt_tokens + usage.completion_tokens) if usage else 0,
                   seconds)


def table(outcomes: list[Outcome]) -> str:
    """One block per model: a row per scenario and a total row."""
    head = (f"{'scenario':<22} {'causes':>7} {'invented':>8} {'tool args ok':>12} {'calls':>5} {'tokens':>7} "
            f"{'seconds':>7}")
    blocks: list[str] = []
    for model in dict.fromkeys(o.model for o in outcomes):
        rows = [o for o in outcomes if o.model == model]
        lines = [f"model: {model}", head]
        for o in rows:
            lines.append(_row(o.scenario, o.causes_named, o.causes_total, len(o.invented), o.tool_calls, o.bad_calls,
                              o.model_calls, o.tokens, o.seconds))
        lines.append(_row("TOTAL", sum(o.causes_named for o in rows), sum(o.causes_total for o in rows),
                          sum(len(o.invented) for o in rows), sum(o.tool_calls for o in rows),
                          sum(o.bad_calls for o in rows), sum(o.model_calls for o in rows),
                          sum(o.tokens for o in rows), sum(o.seconds for o in rows)))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _row(name: str, named: int, total: int, invented: int, calls: int, bad: int, model_calls: int, tokens: int,
         seconds: float) -> str:
    ok = f"{calls - bad}/{calls}" if calls else "-"
    return (f"{name:<22} {f'{named}/{total}':>7} {invented:>8} {ok:>12} {model_calls:>5} {tokens:>7} "
            f"{seconds:>7.2f}")
