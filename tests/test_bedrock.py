"""Bedrock as the model provider: real botocore (signing, retries, error parsing) against a local Converse fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

from bot.config import Settings
from bot.errors import ModelError
from bot.llm.bedrock import BedrockClient, to_converse
from bot.llm.client import LlmClient
from bot.llm.loop import run_tool_loop
from bot.llm.tools import ToolSpec
from bot.metrics import Metrics
from tests.peers.bedrock_server import FakeBedrockServer, Scripted, ToolCall, converse_problem

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
FORCE = "Answer now from the evidence above; do not call tools."


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[FakeBedrockServer]:
    with FakeBedrockServer(model_ids=(MODEL,)) as server:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.endpoint_url)
        yield server


def _client(metrics: Metrics | None = None, model: str = MODEL, **settings: Any) -> BedrockClient:
    values: dict[str, Any] = {"llm_prices": {MODEL: "0.25/1.25"}, "llm_max_retries": 2, "llm_timeout_s": 5.0}
    values.update(settings)
    return BedrockClient(Settings.from_values(values), metrics, model_id=model)


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def test_a_plain_question_gets_the_answer_with_token_usage_and_cost(bedrock: FakeBedrockServer) -> None:
    bedrock.script(Scripted(content="i-0abc failed its status checks at 09:12.", prompt_tokens=1200,
                            completion_tokens=40))
    metrics = Metrics()
    llm = _client(metrics)
    done = llm.complete([{"role": "system", "content": "You are an SRE assistant."},
                         {"role": "user", "content": "Why is i-0abc unhealthy?"}])
    assert done.content == "i-0abc failed its status checks at 09:12."
    assert (done.prompt_tokens, done.completion_tokens, done.finish_reason) == (1200, 40, "stop")
    assert done.tool_calls == ()
    sent = bedrock.requests[0]
    assert sent["modelId"] == MODEL
    assert sent["system"] == [{"text": "You are an SRE assistant."}]
    assert sent["messages"] == [{"role": "user", "content": [{"text": "Why is i-0abc unhealthy?"}]}]
    assert "toolConfig" not in sent
    assert _sample(metrics, "cloudops_model_tokens_total", model=MODEL, type="prompt") == 1200
    assert _sample(metrics, "cloudops_model_cost_usd_total", model=MODEL) == pytest.approx(
        1200 * 0.25e-6 + 40 * 1.25e-6)
    assert _sample(metrics, "cloudops_model_requests_total", model=MODEL, outcome="ok") == 1


def _alarms_tool(calls: list[dict[str, Any]]) -> ToolSpec:
    def get_alarms(args: dict[str, Any]) -> str:
        calls.append(args)
        return "ALARM cpu-high on i-0abc since 09:10 (CPUUtilization > 90)"

    return ToolSpec("get_alarms", "CloudWatch alarms by state",
                    {"type": "object", "properties": {"state": {"type": "string"}}, "required": ["state"]},
                    get_alarms)


def _loop(llm: BedrockClient, tool: ToolSpec, max_steps: int) -> Any:
    messages = [{"role": "system", "content": "Use tools for evidence."},
                {"role": "user", "content": "What is alarming?"}]
    # LlmClient is the annotated type today; BedrockClient has the same duck-typed surface.
    return run_tool_loop(cast(LlmClient, llm), messages, [tool], max_steps=max_steps, result_chars=2000,
                         force_answer=FORCE, scrub=lambda s: s)


def test_a_tool_round_trip_sends_the_tool_result_back(bedrock: FakeBedrockServer) -> None:
    bedrock.script(Scripted(content="Checking alarms.", tool_calls=(ToolCall("get_alarms", {"state": "ALARM"}),)),
                   Scripted(content="cpu-high is firing on i-0abc."))
    ran: list[dict[str, Any]] = []
    result = _loop(_client(), _alarms_tool(ran), max_steps=4)

    assert result.answer == "cpu-high is firing on i-0abc."
    assert ran == [{"state": "ALARM"}]
    assert result.usage.prompt_tokens > 0
    first, second = bedrock.requests
    assert first["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_alarms"
    assert first["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"] == ["state"]
    assistant, user = second["messages"][1], second["messages"][2]
    tool_use = next(b["toolUse"] for b in assistant["content"] if "toolUse" in b)
    assert tool_use["name"] == "get_alarms" and tool_use["input"] == {"state": "ALARM"}
    assert user["content"] == [{"toolResult": {
        "toolUseId": tool_use["toolUseId"],
        "content": [{"text": "ALARM cpu-high on i-0abc since 09:10 (CPUUtilization > 90)"}]}}]
    assert "toolConfig" in second


def test_the_last_step_gets_an_answer_even_after_tool_calls(bedrock: FakeBedrockServer) -> None:
    """tool_choice="none" on the last step: no toolConfig, so the tool history must arrive as text."""
    call = Scripted(tool_calls=(ToolCall("get_alarms", {"state": "ALARM"}),))
    bedrock.script(call, Scripted(content="Based on the alarms: cpu-high on i-0abc."))
    result = _loop(_client(), _alarms_tool([]), max_steps=2)

    assert result.answer == "Based on the alarms: cpu-high on i-0abc."
    last = bedrock.requests[-1]
    assert "toolConfig" not in last
    flat = json.dumps(last["messages"])
    assert "toolUse" not in flat and "toolResult" not in flat
    assert "ALARM cpu-high on i-0abc" in flat and FORCE in flat
    assert converse_problem(last) is None


def test_server_errors_become_a_model_error_after_retries(bedrock: FakeBedrockServer) -> None:
    bedrock.script(*[Scripted(status=500)] * 3, Scripted(content="never reached"))
    metrics = Metrics()
    llm = _client(metrics, llm_max_retries=2)
    with pytest.raises(ModelError) as caught:
        llm.complete([{"role": "user", "content": "Why?"}])
    assert "HTTP 500" in caught.value.message
    assert len(bedrock.requests) == 3  # one try + two retries
    assert llm.last_error == caught.value.message
    assert _sample(metrics, "cloudops_model_requests_total", model=MODEL, outcome="error") == 1


def test_throttling_is_retried_then_reported_as_throttling(bedrock: FakeBedrockServer) -> None:
    bedrock.script(*[Scripted(status=429, content="Too many requests, please wait before trying again.")] * 2)
    metrics = Metrics()
    with pytest.raises(ModelError) as caught:
        _client(metrics, llm_max_retries=1).complete([{"role": "user", "content": "Why?"}])
    assert "throttling" in caught.value.message
    assert "try again" in caught.value.hint
    assert len(bedrock.requests) == 2
    assert _sample(metrics, "cloudops_model_requests_total", model=MODEL, outcome="rate_limited") == 1


def test_a_transient_error_is_retried_into_an_answer(bedrock: FakeBedrockServer) -> None:
    bedrock.script(Scripted(status=503), Scripted(content="recovered"))
    assert _client().complete([{"role": "user", "content": "Why?"}]).content == "recovered"


def test_an_unknown_model_id_says_which_setting_to_fix(bedrock: FakeBedrockServer) -> None:
    with pytest.raises(ModelError) as caught:
        _client(model="anthropic.claude-nope", llm_max_retries=0).complete([{"role": "user", "content": "Why?"}])
    assert "anthropic.claude-nope" in caught.value.message
    assert "CLOUDOPS_BEDROCK_MODEL_ID" in caught.value.hint


def test_translation_merges_turns_and_drops_blank_text() -> None:
    """Converse rejects what OpenAI allows: same-role neighbours, blank text, a leading assistant turn."""
    request = to_converse([
        {"role": "assistant", "content": "Earlier I said hi."},
        {"role": "user", "content": "first"},
        {"role": "user", "content": [{"type": "text", "text": "second"}]},
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": "ok"},
    ], tools=None)
    assert converse_problem(request) is None
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user", "assistant"]
    assert request["messages"][2]["content"] == [{"text": "first"}, {"text": "second"}]
