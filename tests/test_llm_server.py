"""The fake LLM server, exercised through the real ``openai`` SDK the bot uses.

If these pass, the bot's LLM code can be tested against the fake and what it sees
(parsed tool calls, streamed deltas, typed exceptions) matches what the real API produces.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.chat import (
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall

KEY = "sk-unit"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Why is i-123 unhealthy?"}]
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_instance_status",
            "description": "EC2 status checks",
            "parameters": {
                "type": "object",
                "properties": {"instance_id": {"type": "string"}},
                "required": ["instance_id"],
            },
        },
    }
]


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key=KEY, model="gpt-fake") as srv:
        yield srv


@pytest.fixture
def client(server: FakeLLMServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as c:
        yield c


def test_unscripted_request_gets_deterministic_summary_of_last_user_message(client: OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "You are an SRE."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "CPU   high\non\n\ti-123 " + "x" * 400},
    ]
    resp = client.chat.completions.create(model="gpt-fake", messages=messages)
    content = resp.choices[0].message.content
    assert content is not None
    assert content.startswith("Summary (fake model): CPU high on i-123 xxx")
    assert "\n" not in content
    assert len(content) == len("Summary (fake model): ") + 300
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    assert resp.usage.completion_tokens > 0


def test_scripted_tool_call_parses_with_dict_arguments_and_unique_ids(server: FakeLLMServer, client: OpenAI) -> None:
    server.script(
        Scripted(tool_calls=(ToolCall("get_instance_status", {"instance_id": "i-123"}),)),
        Scripted(tool_calls=(ToolCall("get_instance_status", {"instance_id": "i-456"}),)),
    )
    first = client.chat.completions.create(model="gpt-fake", messages=USER, tools=TOOLS)
    second = client.chat.completions.create(model="gpt-fake", messages=USER, tools=TOOLS)

    assert first.choices[0].finish_reason == "tool_calls"
    calls = first.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert call.function.name == "get_instance_status"
    assert json.loads(call.function.arguments) == {"instance_id": "i-123"}
    second_calls = second.choices[0].message.tool_calls
    assert second_calls is not None
    assert isinstance(second_calls[0], ChatCompletionMessageFunctionToolCall)
    assert json.loads(second_calls[0].function.arguments) == {"instance_id": "i-456"}
    assert call.id != second_calls[0].id


def test_scripted_token_counts_are_reported_verbatim(server: FakeLLMServer, client: OpenAI) -> None:
    server.script(Scripted(content="done", prompt_tokens=1234, completion_tokens=56))
    resp = client.chat.completions.create(model="gpt-fake", messages=USER)
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (1234, 56, 1290)


def test_streamed_text_joins_to_full_content_with_final_usage(server: FakeLLMServer, client: OpenAI) -> None:
    text = "The instance failed its system status check at 03:12 UTC; AWS is migrating the host."
    server.script(Scripted(content=text, completion_tokens=21))
    stream = client.chat.completions.create(
        model="gpt-fake", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    pieces: list[str] = []
    finish: list[str] = []
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    assert "".join(pieces) == text
    assert len([p for p in pieces if p]) > 1  # really streamed, not one blob
    assert finish == ["stop"]
    assert usage is not None and usage.completion_tokens == 21


def test_streamed_tool_call_deltas_join_into_the_scripted_call(server: FakeLLMServer, client: OpenAI) -> None:
    args = {"instance_id": "i-0abc123def", "region": "eu-west-1"}
    server.script(Scripted(tool_calls=(ToolCall("get_instance_status", args),)))
    names: dict[int, str] = {}
    arguments: dict[int, str] = {}
    ids: dict[int, str] = {}
    for chunk in client.chat.completions.create(model="gpt-fake", messages=USER, tools=TOOLS, stream=True):
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                if delta.id:
                    ids[delta.index] = delta.id
                if delta.function and delta.function.name:
                    names[delta.index] = delta.function.name
                if delta.function and delta.function.arguments:
                    arguments[delta.index] = arguments.get(delta.index, "") + delta.function.arguments
    assert names == {0: "get_instance_status"}
    assert json.loads(arguments[0]) == args
    assert ids[0]


def test_sdk_stream_helper_assembles_final_tool_call_completion(server: FakeLLMServer, client: OpenAI) -> None:
    server.script(Scripted(content="Checking.", tool_calls=(ToolCall("get_instance_status", {"instance_id": "i-1"}),)))
    with client.chat.completions.stream(model="gpt-fake", messages=USER, tools=TOOLS) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Checking."
    assert message.tool_calls is not None
    assert isinstance(message.tool_calls[0], ChatCompletionMessageFunctionToolCall)
    assert json.loads(message.tool_calls[0].function.arguments) == {"instance_id": "i-1"}


def test_injected_500_raises_internal_server_error(server: FakeLLMServer, client: OpenAI) -> None:
    server.script(Scripted(status=500))
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="gpt-fake", messages=USER)
    assert info.value.status_code == 500
    assert len(server.received()) == 1


def test_injected_429_raises_rate_limit_error_with_retry_after(server: FakeLLMServer, client: OpenAI) -> None:
    server.script(Scripted(status=429, retry_after_s=3))
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-fake", messages=USER)
    assert info.value.response.headers["retry-after"] == "3"
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "rate_limit_error"


def test_sdk_retries_after_429_and_gets_the_next_scripted_turn(server: FakeLLMServer) -> None:
    server.script(Scripted(status=429, retry_after_s=0.01), Scripted(content="recovered"))
    with OpenAI(base_url=server.base_url, api_key=KEY, max_retries=1) as retrying:
        resp = retrying.chat.completions.create(model="gpt-fake", messages=USER)
    assert resp.choices[0].message.content == "recovered"
    assert len(server.received()) == 2


def test_error_turn_content_becomes_the_error_message(server: FakeLLMServer, client: OpenAI) -> None:
    server.script(Scripted(status=400, content="This model's maximum context length is 128000 tokens."))
    with pytest.raises(openai.BadRequestError, match="maximum context length"):
        client.chat.completions.create(model="gpt-fake", messages=USER)


@pytest.mark.timeout(15)
def test_hung_answer_times_out_client_and_stop_still_returns(server: FakeLLMServer) -> None:
    server.script(Scripted(hang=True))
    port = int(server.base_url.split(":")[2].split("/")[0])
    with (
        OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=0.5) as impatient,
        pytest.raises(openai.APITimeoutError),
    ):
        impatient.chat.completions.create(model="gpt-fake", messages=USER)
    server.stop()  # must not wait for the hung handler; the timeout marker catches a hang
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port)):
        pass


@pytest.mark.timeout(15)
def test_hung_request_does_not_block_other_requests(server: FakeLLMServer, client: OpenAI) -> None:
    hung_arrived = threading.Event()
    outcome: list[BaseException] = []

    def responder(request: dict[str, Any]) -> Scripted:
        if request["messages"][-1]["content"] == "hang":
            hung_arrived.set()
            return Scripted(hang=True)
        return Scripted(content="still serving")

    server.set_responder(responder)

    def hung_call() -> None:
        try:
            client.chat.completions.create(model="gpt-fake", messages=[{"role": "user", "content": "hang"}])
        except openai.APIError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=hung_call, daemon=True)
    worker.start()
    assert hung_arrived.wait(10)
    resp = client.chat.completions.create(model="gpt-fake", messages=USER)
    assert resp.choices[0].message.content == "still serving"
    server.stop()
    worker.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], openai.APIConnectionError)


def test_wrong_key_is_rejected_without_consuming_the_script(server: FakeLLMServer, client: OpenAI) -> None:
    server.script(Scripted(content="scripted answer"))
    with (
        OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0) as intruder,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        intruder.chat.completions.create(model="gpt-fake", messages=USER)
    assert info.value.code == "invalid_api_key"
    resp = client.chat.completions.create(model="gpt-fake", messages=USER)
    assert resp.choices[0].message.content == "scripted answer"


def test_requests_record_the_messages_and_tools_the_client_sent(server: FakeLLMServer, client: OpenAI) -> None:
    client.chat.completions.create(model="gpt-fake", messages=USER, tools=TOOLS, temperature=0)
    client.chat.completions.create(model="gpt-fake", messages=[*USER, {"role": "assistant", "content": "hm"}])
    first, second = server.received()
    assert first["messages"] == USER
    assert first["tools"] == TOOLS
    assert first["temperature"] == 0
    assert "tools" not in second
    assert server.requests == server.received()
    server.reset()
    assert server.received() == []


def test_seeded_error_rate_fails_the_same_requests_on_every_run() -> None:
    def outcomes() -> list[bool]:
        with (
            FakeLLMServer(api_key=KEY, error_rate=0.5, seed=7) as srv,
            OpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0) as c,
        ):
            results = []
            for _ in range(12):
                try:
                    c.chat.completions.create(model="gpt-fake", messages=USER)
                    results.append(True)
                except openai.InternalServerError:
                    results.append(False)
            return results

    first = outcomes()
    assert first == outcomes()
    assert True in first and False in first


def test_models_endpoint_lists_the_configured_model(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["gpt-fake"]
