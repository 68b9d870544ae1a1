"""LlmClient streams when the request's edge shows answers as they are written (an answer sink is bound),
through the real openai SDK against the fake model server, and returns what the plain call returns."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot import progress
from bot.config import Settings
from bot.errors import ModelError
from bot.llm.client import Completion, LlmClient
from bot.metrics import Metrics
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall

KEY = "sk-stream"
ASK = [{"role": "user", "content": "Why is checkout returning 502s?"}]
TOOLS = [{"type": "function", "function": {"name": "get_alarms", "description": "alarms",
                                           "parameters": {"type": "object", "properties": {}}}}]
ANSWER = ("Checkout returns 502s because the api target group has no healthy targets: api-1 is pinned at "
          "96% CPU and the orders database times out, so health checks fail.")


class Recorder:
    """An answer sink that remembers what it was given and when."""

    def __init__(self) -> None:
        self.pieces: list[tuple[float, str]] = []
        self.discards = 0

    def text(self, delta: str) -> None:
        self.pieces.append((time.monotonic(), delta))

    def discard(self) -> None:
        self.discards += 1

    @property
    def joined(self) -> str:
        return "".join(p for _, p in self.pieces)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key=KEY, model="gpt-stream") as srv:
        yield srv


def _client(server: FakeLLMServer, metrics: Metrics | None = None) -> LlmClient:
    settings = Settings.from_values({"openai_api_key": KEY, "openai_base_url": server.base_url,
                                     "llm_model": "gpt-stream", "llm_max_retries": 0, "llm_timeout_s": 5.0})
    return LlmClient(settings, metrics)


def _complete(client: LlmClient, sink: Recorder | None, **kwargs: Any) -> Completion:
    token = progress.bind_answer(sink)
    try:
        return client.complete(list(ASK), **kwargs)
    finally:
        progress.unbind_answer(token)


def test_a_bound_sink_gets_the_answer_in_pieces_and_the_completion_is_the_plain_one(server: FakeLLMServer) -> None:
    metrics = Metrics()
    client = _client(server, metrics)
    turn = Scripted(content=ANSWER, chunk_chars=12, prompt_tokens=321, completion_tokens=45)
    server.script(turn, turn)
    plain = _complete(client, None)
    sink = Recorder()
    streamed = _complete(client, sink)
    assert streamed == plain
    assert sink.joined == ANSWER and len(sink.pieces) > 5 and sink.discards == 0
    first, second = server.received()
    assert "stream" not in first
    assert second["stream"] is True and second["stream_options"] == {"include_usage": True}
    tokens = metrics.registry.get_sample_value
    assert tokens("cloudops_model_tokens_total", {"model": "gpt-stream", "type": "prompt"}) == 642
    assert tokens("cloudops_model_tokens_total", {"model": "gpt-stream", "type": "completion"}) == 90


def test_text_before_a_tool_call_is_discarded_and_the_call_is_joined(server: FakeLLMServer) -> None:
    client = _client(server)
    call = ToolCall("get_alarms", {"state": "ALARM", "prefix": "api-prod-5xx"})
    server.script(Scripted(content="Let me look at the alarms first.", tool_calls=(call,), chunk_chars=5))
    sink = Recorder()
    got = _complete(client, sink, tools=TOOLS)
    assert sink.joined == "Let me look at the alarms first." and sink.discards == 1
    assert got.content == "Let me look at the alarms first." and got.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in got.tool_calls] == [
        ("get_alarms", '{"state": "ALARM", "prefix": "api-prod-5xx"}')]
    assert got.tool_calls[0].id.startswith("call_")


def test_pieces_arrive_as_the_model_writes_them(server: FakeLLMServer) -> None:
    server.script(Scripted(content=ANSWER, chunk_chars=30, chunk_delay_s=0.05))
    sink = Recorder()
    _complete(_client(server), sink)
    times = [t for t, _ in sink.pieces]
    assert len(times) == -(-len(ANSWER) // 30)
    assert times[-1] - times[0] >= 0.05 * (len(times) - 1) * 0.8  # spread out, not delivered at the end


def test_a_stream_that_breaks_off_is_a_model_error(server: FakeLLMServer) -> None:
    server.script(Scripted(content=ANSWER, chunk_chars=10, cut_after_chunks=4))
    sink = Recorder()
    client = _client(server)
    with pytest.raises(ModelError) as info:
        _complete(client, sink)
    assert "could not reach the model endpoint" in info.value.message
    assert client.last_error and sink.joined == ANSWER[:30]  # the role chunk, then three pieces


def test_without_a_sink_nothing_is_streamed_even_from_worker_threads(server: FakeLLMServer) -> None:
    server.script(Scripted(content=ANSWER))
    sink = Recorder()
    token = progress.bind_answer(sink)
    try:  # a plain thread does not inherit the context: the call must not stream
        result: list[Completion] = []
        worker = threading.Thread(target=lambda: result.append(_client(server).complete(list(ASK))))
        worker.start()
        worker.join(10)
    finally:
        progress.unbind_answer(token)
    assert result[0].content == ANSWER and sink.pieces == []
    assert "stream" not in server.received()[0]
