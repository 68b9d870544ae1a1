"""Triage first vs today's tool-first loop: model round trips and time per answer at a fixed model latency.

moto (own process, seeded with the demo incident) behind a proxy adding a fixed latency to every AWS call;
the fake OpenAI-compatible model in this process answers every request after a fixed delay.
Question: "why is checkout returning 502s?" with the demo's log aliases.

- baseline, tool-first: the model gets the question and the tools only (the ask prompt before triage, restated
  here), and reads what it needs step by step, as a capable model does it: step 1 alarms + log group names,
  step 2 the api and checkout logs + api-1's CPU at once, step 3 the answer. Same tools, same gatherers.
- triage first: the ``ask`` handler as shipped (``CLOUDOPS_LLM_TOOLS=auto``): one inventory round, one parallel
  evidence round, the bundle in the first prompt; the model answers from it in one request.
- evidence only: the same triage with no model (the heuristics answer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peers import FAKE_AWS, moto_process
from bot.config import Settings
from bot.llm.loop import run_tool_loop
from bot.logsetup import configure_logging
from bot.metrics import Metrics
from bot.models import Request, Source
from cloudops_demo.main import ALIASES
from cloudops_demo.sandbox import seed_incident
from handlers import registry
from handlers.services import Services
from handlers.summarize import system_prompt
from handlers.toolbox import build_tools
from tests.peers.aws_faults import ThrottlingProxy
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall

QUESTION = "why is checkout returning 502s?"
ANSWER = "Checkout 502s: the api gateway times out on orders-svc:8080; the orders database refuses connections."
TOOL_FIRST_PROMPT = ("Question from the on-call engineer:\n{q}\n\nUse the tools to gather the evidence you need "
                     "(they are read-only and cheap; call several in one step when they are independent). "
                     "Then answer the question.")


def tool_first_turns(delay: float) -> list[Scripted]:
    return [
        Scripted(tool_calls=(ToolCall("get_alarms", {"state": "ALARM"}), ToolCall("list_log_groups", {})),
                 delay_s=delay),
        Scripted(tool_calls=(ToolCall("search_logs", {"group": "api", "terms": ["502"], "window": "1h"}),
                             ToolCall("search_logs", {"group": "checkout", "window": "1h"}),
                             ToolCall("get_instance_metrics", {"instance": "api-1", "kind": "cpu"})), delay_s=delay),
        Scripted(content=ANSWER, delay_s=delay),
    ]


def settings(llm: FakeLLMServer | None) -> Settings:
    model = {"openai_api_key": "sk-bench", "openai_base_url": llm.base_url, "llm_model": "gpt-bench",
             "llm_max_retries": 0} if llm else {}
    return Settings.from_values({"aws_region": "us-east-1", "log_aliases": dict(ALIASES), **model})


def tool_first(services: Services, llm: FakeLLMServer, delay: float) -> tuple[float, int, int]:
    llm.script(*tool_first_turns(delay))
    request = Request(text=QUESTION, source=Source.CLI, user="bench")
    tooled = [c for c in registry.CAPABILITIES if c.tools]
    start = time.perf_counter()
    messages = [{"role": "system", "content": system_prompt(services, tools=True)},
                {"role": "user", "content": TOOL_FIRST_PROMPT.format(q=QUESTION)}]
    s = services.settings
    assert services.llm is not None
    result = run_tool_loop(services.llm, messages, build_tools(services, request, tooled), max_steps=s.llm_max_steps,
                           result_chars=s.llm_tool_result_chars, force_answer="answer now", scrub=services.scrub,
                           pool=services.tool_pool)
    elapsed = time.perf_counter() - start
    assert result.answer == ANSWER, result.answer
    return elapsed, result.usage.calls, result.usage.prompt_tokens


def triage_first(services: Services, llm: FakeLLMServer | None, delay: float) -> tuple[float, int, int]:
    if llm is not None:
        llm.script(Scripted(content=ANSWER, delay_s=delay))
    start = time.perf_counter()
    reply = registry.BY_VERB["ask"].handler(Request(text=QUESTION, source=Source.CLI, user="bench"), [QUESTION],
                                           services)
    elapsed = time.perf_counter() - start
    if llm is not None:
        assert reply.summary == ANSWER, reply.plain_text()
    else:
        assert "orders-svc" in reply.summary, reply.summary
    usage = reply.usage
    return elapsed, usage.calls if usage else 0, usage.prompt_tokens if usage else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-delay", type=float, default=1.0, help="seconds the fake model takes per request")
    ap.add_argument("--aws-delay", type=float, default=0.05, help="latency added to every AWS call (s)")
    ap.add_argument("-n", type=int, default=5, help="answers per variant")
    ns = ap.parse_args()
    configure_logging("ERROR", "console")
    os.environ.update(FAKE_AWS)
    with moto_process() as moto, FakeLLMServer(api_key="sk-bench", model="gpt-bench") as llm:
        seed_incident(moto)
        proxy = ThrottlingProxy(moto, 0.0, delay_s=ns.aws_delay).start()
        os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint_url
        try:
            print(f"'{QUESTION}': model {ns.model_delay:.2f} s per request, AWS +{ns.aws_delay * 1000:.0f} ms per "
                  f"call, {ns.n} answers each")
            print(f"{'variant':<28} {'model calls':>11} {'prompt tokens':>13} {'p50 s':>7} {'max s':>7}")
            rows = {}
            for name, fn, with_model in (("baseline: tool-first loop", tool_first, True),
                                         ("triage first (auto)", triage_first, True),
                                         ("evidence only (no model)", triage_first, False)):
                services = Services.build(settings(llm if with_model else None), Metrics())
                try:
                    runs = [fn(services, llm if with_model else None, ns.model_delay)  # type: ignore[operator]
                            for _ in range(ns.n)]
                finally:
                    services.close()
                p50 = statistics.median(r[0] for r in runs)
                rows[name] = (p50, runs[0][1])
                print(f"{name:<28} {runs[0][1]:>11} {runs[0][2]:>13} {p50:>7.3f} {max(r[0] for r in runs):>7.3f}")
            base, tri = rows["baseline: tool-first loop"], rows["triage first (auto)"]
            print(f"triage first saves {base[1] - tri[1]} model round trips and {base[0] - tri[0]:.3f} s per answer "
                  f"({(base[0] - tri[0]) / base[0]:.0%})")
        finally:
            proxy.stop()


if __name__ == "__main__":
    main()
