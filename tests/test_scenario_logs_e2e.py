"""Root causes of modern log shapes reach the reader and the model, end to end.

Each scenario of tests/log_scenarios.py is written to its own log group in moto; the real bot (Bolt over
Socket Mode against the Slack emulator, the openai SDK against the local model server) answers
`/cloudops logs <group> 1h` and `ask`, the model being scripted to call `search_logs`. Every
ground-truth root-cause line must be readable in the Slack thread, in the `logs` prompt the model
received, and in the tool result the model received.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import Running, running_bot, text_of
from tests.log_scenarios import SCENARIOS, Scenario, build
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall

LINES = 1500  # routine lines per scenario: enough to bury the root causes, small enough to stay quick
BUSY_LINES = 4000  # the busy scenario holds more events than the bot reads
MAX_EVENTS = 3000


def _seed(endpoint: str, scenario: Scenario, start_ms: int) -> None:
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    logs.create_log_group(logGroupName=scenario.group)
    streams: dict[str, list[dict[str, Any]]] = {}
    for e in scenario.events:
        streams.setdefault(e.stream, []).append({"timestamp": start_ms + e.offset_ms, "message": e.message})
    for stream, events in streams.items():
        logs.create_log_stream(logGroupName=scenario.group, logStreamName=stream)
        batch: list[dict[str, Any]] = []
        size = 0
        for event in [*events, None]:
            cost = 0 if event is None else len(event["message"].encode()) + 26
            if batch and (event is None or len(batch) >= 5000 or size + cost > 900_000):
                reply = logs.put_log_events(logGroupName=scenario.group, logStreamName=stream,
                                            logEvents=batch)  # type: ignore[arg-type]
                assert not reply.get("rejectedLogEventsInfo"), reply
                batch, size = [], 0
            if event is not None:
                batch.append(event)
                size += cost


@pytest.fixture(scope="module")
def scenarios(aws: tuple[MotoSandbox, SeededIncident]) -> dict[str, Scenario]:
    start_s = int(time.time()) - 3660  # the scenario's hour ends a minute ago: inside a 1h window
    built = {name: build(name, BUSY_LINES if name == "busy_newest" else LINES, start_s) for name in SCENARIOS}
    for scenario in built.values():
        _seed(aws[0].endpoint_url, scenario, start_s * 1000)
    return built


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="sk-test", model="gpt-test") as server:
        yield server


@pytest.fixture(scope="module")
def bot(scenarios: dict[str, Scenario], llm: FakeLLMServer) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, llm, logs_max_events=MAX_EVENTS) as running:
        yield running


def _read(text: str) -> str:
    """What the user reads: Slack's escaping undone."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_the_suite_covers_many_shapes() -> None:
    assert len(SCENARIOS) >= 10
    for name in SCENARIOS:
        scenario = build(name, 200)
        assert scenario.root_causes and build(name, 200).events == scenario.events, name


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_root_causes_reach_the_reader_the_logs_prompt_and_the_tool_result(
        name: str, scenarios: dict[str, Scenario], bot: Running, llm: FakeLLMServer) -> None:
    scenario = scenarios[name]
    llm.reset()
    llm.script(Scripted(content="Model summary of the window."))
    _, replies = bot.command(f"logs {scenario.group} 1h", channel=f"C-{name}", user=f"U-{name}")
    slack = _read("\n".join(text_of(r) for r in replies))
    assert "Model summary of the window." in slack
    prompt = llm.received()[-1]["messages"][-1]["content"]

    llm.reset()
    llm.script(Scripted(tool_calls=(ToolCall("search_logs", {"group": scenario.group, "window": "1h"}),)),
               Scripted(content="Answer from the tool result."))
    _, replies = bot.command(f"ask what went wrong in {scenario.group}?", channel=f"C-{name}-ask", user=f"U-{name}")
    assert "Answer from the tool result." in text_of(replies[0])
    tool = "\n".join(m["content"] for m in llm.received()[1]["messages"] if m["role"] == "tool")

    missing = [(where, cause) for cause in scenario.root_causes
               for where, text in (("slack", slack), ("logs prompt", prompt), ("ask tool result", tool))
               if cause not in text]
    assert not missing, f"{scenario.summary}: {missing}"


def test_a_busy_window_shows_its_newest_events_and_says_what_it_covered(
        scenarios: dict[str, Scenario], bot: Running, llm: FakeLLMServer) -> None:
    scenario = scenarios["busy_newest"]
    llm.reset()
    llm.script(Scripted(content="Summary."))
    _, replies = bot.command(f"logs {scenario.group} 1h", channel="C-busy-note", user="U-busy-note")
    slack = _read("\n".join(text_of(r) for r in replies))
    older = len(scenario.events) - MAX_EVENTS
    assert f"Read the newest {MAX_EVENTS:,} events in full" in slack and "CLOUDOPS_LOGS_MAX_EVENTS" in slack
    scanned = re.search(r"the ([\d,]+) events before them \(.*\) were scanned and only their errors, warnings and "
                        r"notable lines kept \(1\)", slack)
    assert scanned and older - 50 <= int(scanned[1].replace(",", "")) <= older, slack
    assert "were not read" not in slack  # the scan reached the start of the window
    assert "stripe.error.APIConnectionError" in slack and "Deployment started: checkout v4.2.0" in slack
    assert f"{MAX_EVENTS + 1} events (the newest {MAX_EVENTS} from" in slack  # the count is not the window's
    assert "and 1 older ones that matter" in slack
