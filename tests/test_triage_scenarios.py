"""The scenario suite: seeded incidents in moto, each asked the way an engineer would. The evidence the bot
gathers before any model must hold the facts a correct answer rests on; without a model the bot's heuristics
must rank the cause; a model's answer may cite only ids that exist; small-model failure modes (malformed or
unknown tool calls, loops, tool calls written as text) end in an answer from the bundle, never a crash."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from cloudops_demo.sandbox import SeededIncident
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall
from tests.scenarios import eval as scenario_eval
from tests.scenarios.catalog import SCENARIOS, Scenario
from tests.scenarios.run import ask, resolve_fact, settings_for
from tests.scenarios.seed import utc_now

BY_NAME = {sc.name: sc for sc in SCENARIOS}


@pytest.fixture(scope="module")
def now(incident: SeededIncident) -> datetime:  # the session's moto server and AWS_ENDPOINT_URL
    return utc_now()


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="sk-test", model="gpt-test") as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_model(llm: FakeLLMServer) -> None:
    llm.reset()


def _model(llm: FakeLLMServer) -> dict[str, Any]:
    return {"openai_api_key": "sk-test", "openai_base_url": llm.base_url, "llm_model": "gpt-test",
            "llm_timeout_s": 10.0}


def test_the_suite_has_at_least_ten_incidents_each_in_its_own_region() -> None:
    assert len(SCENARIOS) >= 10
    assert len({sc.region for sc in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda sc: sc.name)
def test_without_a_model_the_facts_are_gathered_and_the_heuristics_name_the_cause(sc: Scenario, now: datetime) -> None:
    got = ask(sc, settings_for(sc), now)
    reply = got.reply
    assert not reply.model_used and "No model configured" in " ".join(reply.notes)
    for fact in sc.facts:
        assert resolve_fact(fact, got.ids) in reply.evidence, (sc.name, fact)
    assert got.causes_named == len(sc.causes), (sc.name, reply.summary, reply.sections[0].text)
    assert reply.sections[0].title.startswith("Likely causes — the bot's heuristics")


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda sc: sc.name)
def test_the_model_gets_the_facts_first_and_its_answer_cites_only_real_ids(
        sc: Scenario, now: datetime, llm: FakeLLMServer) -> None:
    from tests.scenarios.seed import plant

    ids = plant(sc.seed, sc.region, now)
    llm.script(Scripted(content=sc.answer.format(**ids)))
    got = ask(sc, settings_for(sc, _model(llm)), now)
    first = llm.received()[0]["messages"][1]["content"]
    for fact in sc.facts:
        assert resolve_fact(fact, got.ids) in first, (sc.name, fact)  # in the bundle of the first prompt
    assert got.model_calls == 1  # answered from the bundle: no tool round trip needed
    assert got.invented == () and not any("did not see in AWS" in n for n in got.reply.notes)
    assert got.causes_named == len(sc.causes)


def test_an_invented_instance_id_is_flagged_in_the_answer(now: datetime, llm: FakeLLMServer) -> None:
    sc = BY_NAME["cpu-saturated"]
    llm.script(Scripted(content="search-1 is slow because i-0123456789abcdef0 is out of memory."))
    got = ask(sc, settings_for(sc, _model(llm)), now)
    assert got.invented == ("i-0123456789abcdef0",)
    assert any("did not see in AWS: i-0123456789abcdef0" in n for n in got.reply.notes)


def test_a_malformed_call_is_reported_once_and_a_second_ends_tool_use(now: datetime, llm: FakeLLMServer) -> None:
    sc = BY_NAME["checkout-db-timeouts"]
    llm.script(Scripted(tool_calls=(ToolCall("run_shell", {"cmd": "aws logs tail"}),)),
               Scripted(tool_calls=(ToolCall("search_logs", '{"group": "checkout", "window": '),)),
               Scripted(content="checkout cannot reach orders-db.internal."))
    got = ask(sc, settings_for(sc, _model(llm)), now)
    sent = llm.received()
    assert len(sent) == 3
    assert "error: no tool named 'run_shell'" in sent[1]["messages"][-1]["content"]  # reported back once
    assert sent[2].get("tool_choice") == "none" and "Tool use has ended" in sent[2]["messages"][-1]["content"]
    assert "orders-db.internal" in got.reply.summary
    assert (got.tool_calls, got.bad_calls) == (2, 2)
    assert any("Tool use ended early" in n for n in got.reply.notes)


def test_with_tools_on_a_repeating_model_runs_to_the_step_cap(now: datetime, llm: FakeLLMServer) -> None:
    sc = BY_NAME["checkout-db-timeouts"]
    looping = Scripted(tool_calls=(ToolCall("get_alarms", {}),))
    llm.script(looping, looping, Scripted(content="Forced final answer."))
    got = ask(sc, settings_for(sc, _model(llm), llm_tools="on", llm_max_steps=3), now)
    sent = llm.received()
    assert len(sent) == 3 and sent[-1].get("tool_choice") == "none"
    assert "maximum" in sent[-1]["messages"][-1]["content"] and got.reply.summary == "Forced final answer."


def test_tools_off_sends_one_request_without_tool_schemas(now: datetime, llm: FakeLLMServer) -> None:
    sc = BY_NAME["lambda-timeouts"]
    llm.script(Scripted(content="payments is timing out after 6 seconds."))
    got = ask(sc, settings_for(sc, _model(llm), llm_tools="off"), now)
    sent = llm.received()
    assert len(sent) == 1 and "tools" not in sent[0]
    assert "Task timed out after 6.00 seconds" in sent[0]["messages"][1]["content"]
    assert got.reply.model_used and "timing out" in got.reply.summary


def test_a_tool_call_written_as_text_gets_one_retry_then_the_evidence(now: datetime, llm: FakeLLMServer) -> None:
    sc = BY_NAME["disk-full"]
    as_text = Scripted(content='{"name": "search_logs", "arguments": {"group": "/ecs/reports"}}')
    llm.script(as_text, as_text)
    got = ask(sc, settings_for(sc, _model(llm), llm_tools="off"), now)
    assert len(llm.received()) == 2
    reply = got.reply
    assert not reply.model_used and any("no usable answer" in n for n in reply.notes)
    assert "disk is full" in reply.summary.lower()  # the heuristics answer instead


def test_a_time_hint_widens_the_triage_window(now: datetime) -> None:
    sc = BY_NAME["disk-full"]
    got = ask(sc, settings_for(sc, triage_window_s=600), now)
    assert re.search(r"Logs /ecs/reports, last 3[5-9]m", got.reply.evidence)  # since HH:MM (30 min ago) + margin


def test_make_eval_scores_every_scenario_against_an_openai_compatible_endpoint(
        now: datetime, llm: FakeLLMServer) -> None:
    out = io.StringIO()
    outcomes = scenario_eval.run(["gpt-test"], base_url=llm.base_url, api_key="sk-test", timeout_s=10.0, out=out,
                                 now=now)  # the module's other tests plant the same regions with this `now`
    table = out.getvalue()
    assert len(outcomes) == len(SCENARIOS) and all(o.model_calls >= 1 for o in outcomes)
    assert "model: gpt-test" in table and "TOTAL" in table
    for sc in SCENARIOS:
        assert sc.name in table
    assert len(llm.received()) == sum(o.model_calls for o in outcomes)


def test_an_alarms_evidence_pack_leads_with_the_heuristics_for_its_dimensions(now: datetime) -> None:
    from bot.aws.cloudwatch import describe_alarms
    from bot.metrics import Metrics
    from bot.models import Request, Source
    from handlers.incident import evidence_pack
    from handlers.services import Services
    from tests.scenarios.seed import plant

    sc = BY_NAME["lambda-timeouts"]
    plant(sc.seed, sc.region, now)
    services = Services.build(settings_for(sc), Metrics())
    try:
        alarm = next(a for a in describe_alarms(services.aws, "ALARM") if a.name == "payments-errors")
        reply = evidence_pack(alarm, services, Request(text="", source=Source.CLI))
    finally:
        services.close()
    lead = reply.sections[0]
    assert lead.title.startswith("Likely causes — the bot's heuristics")
    assert "A function is timing out (in /aws/lambda/payments)" in lead.text  # FunctionName → its log group


def test_a_capabilitys_triage_hook_adds_its_evidence_to_the_same_round(now: datetime) -> None:
    """How a new capability (say, CloudTrail changes) plugs in: a ``triage`` hook on its entry."""
    from bot.metrics import Metrics
    from bot.models import Reply, Request, Source
    from handlers.capability import Capability
    from handlers.evidence import Finding, Moment, TriageContext, TriageJobs
    from handlers.registry import CAPABILITIES
    from handlers.scope import Scope
    from handlers.services import Services
    from handlers.triage.causes import likely_causes
    from handlers.triage.plan import gather_bundle
    from tests.scenarios.seed import plant

    seen: list[TriageContext] = []

    def changes_hook(ctx: TriageContext) -> TriageJobs:
        seen.append(ctx)
        at = now - timedelta(minutes=21)
        return {"changes": lambda: [Finding("changes", "Recent changes", ("UpdateFunctionConfiguration orders-sync",),
                                            (Moment(at, "change", "orders-sync", "orders-sync config updated"),),
                                            ("orders-sync",))]}

    changes = Capability(verb="changes", usage="changes", summary="recent changes",
                         handler=lambda r, a, s: Reply(title="x"), triage=changes_hook)
    sc = BY_NAME["throttled"]
    plant(sc.seed, sc.region, now)
    services = Services.build(settings_for(sc), Metrics())
    try:
        bundle = gather_bundle(sc.ask(now), Request(text="", source=Source.CLI), services, (*CAPABILITIES, changes),
                               Scope())
    finally:
        services.close()
    assert seen and seen[0].groups == ("/aws/lambda/orders-sync",)  # the hook sees the resolved entities
    assert seen[0].dimensions == {"FunctionName": ("orders-sync",)}
    assert any(f.title == "Recent changes" for f in bundle.findings) and bundle.jobs == 3  # logs, metric, changes
    assert likely_causes(bundle.findings)[0].headline.startswith("A change 1 min before the first error")
