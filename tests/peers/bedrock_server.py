"""A local Bedrock Converse endpoint for tests and the offline demo, scripted like ``FakeLLMServer``.

Point botocore at it with ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME=server.endpoint_url`` (plus any fake
credentials) and the bot's real request signing, serialisation, retry and error parsing run against it.
It enforces the Converse rules that bite translators from OpenAI format (alternating roles starting
with a user turn, no blank text, ``toolConfig`` required alongside ``toolUse``/``toolResult``, results
answering the previous turn's tool calls) and answers violations with a ValidationException the way
the service does, so a translation bug fails a test instead of production.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote

from tests.peers.http_peer import LoopbackPeer, PeerHandler
from tests.peers.llm_script import Scriptable, Scripted, ToolCall, estimate_tokens

__all__ = ["FakeBedrockServer", "Scripted", "ToolCall", "converse_problem"]

Responder = Callable[[dict[str, Any]], Scripted]

# HTTP status -> the error type Bedrock sends in x-amzn-ErrorType for it.
_ERROR_TYPES = {400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
                408: "ModelTimeoutException", 424: "ModelErrorException", 429: "ThrottlingException",
                500: "InternalServerException", 503: "ServiceUnavailableException"}


def converse_problem(request: dict[str, Any]) -> str | None:
    """The ValidationException message Bedrock would give for this Converse body, or None if it is valid."""
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "The messages field is required and must contain at least one message."
    uses_tools = False
    previous_ids: set[str] = set()
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        content = msg.get("content") if isinstance(msg, dict) else None
        if role != ("user" if i % 2 == 0 else "assistant"):
            return ("A conversation must start with a user message and alternate between user and assistant "
                    "roles. Try again with a conversation that alternates.")
        if not isinstance(content, list) or not content:
            return f"The content field in the Message object at messages.{i} is empty."
        use_ids: set[str] = set()
        result_ids: set[str] = set()
        for j, block in enumerate(content):
            if "text" in block and not str(block["text"]).strip():
                return f"The text field in the ContentBlock object at messages.{i}.content.{j} is blank."
            if "toolUse" in block:
                use_ids.add(str(block["toolUse"].get("toolUseId")))
            if "toolResult" in block:
                result_ids.add(str(block["toolResult"].get("toolUseId")))
        uses_tools = uses_tools or bool(use_ids or result_ids)
        if role == "user" and (previous_ids or result_ids) and result_ids != previous_ids:
            return (f"Expected toolResult blocks at messages.{i}.content for the following Ids: "
                    f"{', '.join(sorted(previous_ids))}, but found: {', '.join(sorted(result_ids))}")
        previous_ids = use_ids
    if uses_tools and not request.get("toolConfig"):
        return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    return None


def _converse_body(turn: Scripted, request: dict[str, Any], use_ids: list[str]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"text": turn.content}] if turn.content else []
    content += [{"toolUse": {"toolUseId": uid, "name": c.name, "input": c.arguments}}
                for c, uid in zip(turn.tool_calls, use_ids, strict=True)]
    prompt = json.dumps([request.get("system"), request.get("messages"), request.get("toolConfig")])
    completion = (turn.content or "") + "".join(json.dumps(c.arguments) for c in turn.tool_calls)
    inp = turn.prompt_tokens if turn.prompt_tokens is not None else estimate_tokens(prompt)
    out = turn.completion_tokens if turn.completion_tokens is not None else estimate_tokens(completion)
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use" if turn.tool_calls else "end_turn",
        "usage": {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out},
        "metrics": {"latencyMs": int(turn.delay_s * 1000)},
    }


class _Handler(PeerHandler):
    """Speaks the Converse API over HTTP/1.1 keep-alive, as botocore expects."""

    server_version = "FakeBedrock/1.0"

    @property
    def fake(self) -> FakeBedrockServer:
        return cast(FakeBedrockServer, self._peer())

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) != 3 or parts[0] != "model" or parts[2] != "converse":
            self._error(404, f"Unknown operation {self.path}", "UnknownOperationException")
            return
        if not str(self.headers.get("Authorization", "")).startswith("AWS4-HMAC-SHA256 "):
            self._error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
            return
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self._error(400, "Request body must be a JSON object.")
            return
        model_id = unquote(parts[1])
        self.fake._record({"modelId": model_id, **request})
        self._answer(model_id, request)

    def _answer(self, model_id: str, request: dict[str, Any]) -> None:
        fake = self.fake
        if fake.model_ids and model_id not in fake.model_ids:
            self._error(400, "The provided model identifier is invalid.")
            return
        problem = converse_problem(request)
        if problem:
            self._error(400, problem)
            return
        turn = fake._next_turn(request)
        if turn.delay_s > 0 and fake._stopping.wait(turn.delay_s):
            return
        if turn.hang:
            fake._stopping.wait()
            self.close_connection = True
            return
        if turn.status >= 400:
            self._error(turn.status, turn.content or f"Injected error from fake Bedrock (HTTP {turn.status}).")
            return
        self._send(200, _converse_body(turn, request, fake._new_ids(len(turn.tool_calls))), {})

    def _error(self, status: int, message: str, error_type: str | None = None) -> None:
        kind = error_type or _ERROR_TYPES.get(status, "InternalServerException")
        self._send(status, {"message": message}, {"x-amzn-ErrorType": kind})

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "fake-bedrock-request")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeBedrockServer(Scriptable, LoopbackPeer):
    """Converse-compatible fake: a FIFO script of turns, then a responder (default: echo the question).

    ``model_ids`` restricts which model ids exist (empty = any), to exercise the "unknown model" path.
    """

    handler = _Handler
    thread_name = "fake-bedrock"

    def __init__(self, *, model_ids: tuple[str, ...] = ()) -> None:
        self.model_ids = model_ids
        self._init_script()
        self._init_peer()
        self._use_seq = 0

    @property
    def endpoint_url(self) -> str:
        """The value for ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (or ``endpoint_url=``) once started."""
        return self._origin()

    def reset(self) -> None:
        """Forget script, history, responder and tool-use ids."""
        self._reset_script()
        with self._lock:
            self._use_seq = 0

    def _new_ids(self, n: int) -> list[str]:
        with self._lock:
            ids = [f"tooluse_fake{self._use_seq + i + 1}" for i in range(n)]
            self._use_seq += n
            return ids
