"""`make eval`: the scenario suite against whatever OpenAI-compatible endpoint you configure, one score table
per model, so models can be compared on the same seeded incidents.

    OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_API_KEY=ollama CLOUDOPS_EVAL_MODELS=qwen2.5:7b,llama3.1:8b \
        make eval

Models: ``CLOUDOPS_EVAL_MODELS`` (comma-separated), else ``CLOUDOPS_LLM_MODEL``. ``CLOUDOPS_LLM_TOOLS`` is
honoured (auto by default). Without ``OPENAI_API_KEY`` the table scores the evidence-only answers.
AWS is a local moto server seeded here; nothing reaches real AWS.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from tests.harness import aws_sandbox
from tests.scenarios.catalog import SCENARIOS
from tests.scenarios.run import Outcome, ask, settings_for, table
from tests.scenarios.seed import utc_now


def run(models: Sequence[str], *, base_url: str, api_key: str, tools: str = "auto", timeout_s: float = 120.0,
        out: TextIO = sys.stdout, now: datetime | None = None) -> list[Outcome]:
    """Every scenario for every model (or once without a model when ``api_key`` is empty); prints the tables.
    ``now`` anchors the seeded logs; a caller that may have seeded some regions already passes its own."""
    now = now or utc_now()
    outcomes: list[Outcome] = []
    for model in (models if api_key else [""]):
        given: dict[str, Any] = ({"openai_api_key": api_key, "openai_base_url": base_url, "llm_model": model,
                                  "llm_timeout_s": timeout_s} if api_key else {})
        for sc in SCENARIOS:
            outcome = ask(sc, settings_for(sc, given, llm_tools=tools), now)
            outcomes.append(outcome)
            print(f"{outcome.model} {sc.name}: {outcome.causes_named}/{outcome.causes_total} causes, "
                  f"{outcome.seconds:.1f}s", file=sys.stderr)
    print(table(outcomes), file=out)
    return outcomes


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    models = [m.strip() for m in (env.get("CLOUDOPS_EVAL_MODELS") or env.get("CLOUDOPS_LLM_MODEL")
                                  or "gpt-4o-mini").split(",") if m.strip()]
    key, base = env.get("OPENAI_API_KEY", ""), env.get("OPENAI_BASE_URL", "")
    with aws_sandbox():
        run(models, base_url=base, api_key=key, tools=env.get("CLOUDOPS_LLM_TOOLS", "auto"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
