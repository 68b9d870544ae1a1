"""Scripted model turns and the OpenAI-shaped JSON the fake LLM server answers with.

Kept apart from the HTTP plumbing in ``llm_server`` so the wire shapes can be read
(and reasoned about) in one place: they are the contract the real ``openai`` SDK
parses, and a drift here shows up as confusing SDK errors far away in the bot.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Scripted",
    "ToolCall",
    "completion_body",
    "default_answer",
    "error_body",
    "error_headers",
    "estimate_tokens",
    "stream_chunks",
]

_SUMMARY_PREFIX = "Summary (fake model): "
_SUMMARY_CHARS = 300

# The "type"/"code" pairs the real API uses, so SDK callers that branch on them
# (e.g. "is this a context-length error?") behave the same against the fake.
_ERROR_KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout_error", "request_timeout"),
    409: ("conflict_error", "conflict"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


@dataclass(frozen=True)
class ToolCall:
    """A function call the fake model asks the client to make; arguments stay a dict for easy scripting."""

    name: str
    arguments: dict[str, Any] | str  # a string is sent as is: malformed JSON, as small models write it


@dataclass(frozen=True)
class Scripted:
    """One model turn, so tests can choreograph multi-step agent loops and failure modes exactly."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    status: int = 200
    delay_s: float = 0.0
    hang: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    retry_after_s: float = 1.0  # only sent with 429; small values keep retry tests fast
    # Streaming (stream=True): characters per content/argument chunk (None = the server's chunk_chars)
    # and the pause before each chunk after the first (None = the server's chunk_delay_s), so a test or
    # a benchmark can watch an answer arrive over time.
    chunk_chars: int | None = None
    chunk_delay_s: float | None = None
    cut_after_chunks: int | None = None  # drop the connection after this many events: a stream that breaks off
    raw_body: str | None = None  # sent as it is with `status` (an HTML error page, broken JSON), stream or not
    raw_content_type: str = "application/json"
    # For an error turn (status >= 400) a non-None `content` becomes the error message.


def _text_of(content: Any) -> str:
    """Flatten message content, because the SDK allows both a string and a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(str(p) for p in parts if p)
    return ""


def default_answer(request: dict[str, Any]) -> Scripted:
    """Echo the last user message as a 'summary' so unscripted runs stay deterministic yet input-dependent."""
    messages = request.get("messages") or []
    last_user = next(
        (m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"),
        None,
    )
    text = _text_of(last_user.get("content")) if last_user else ""
    one_line = " ".join(text.split())
    return Scripted(content=_SUMMARY_PREFIX + one_line[:_SUMMARY_CHARS])


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Build the ``{"error": {...}}`` envelope the SDK turns into its typed exceptions and messages."""
    err_type, code = _ERROR_KINDS.get(status, ("server_error", "server_error"))
    return {
        "error": {
            "message": message or f"Injected error from fake LLM server (HTTP {status}).",
            "type": err_type,
            "param": None,
            "code": code,
        }
    }


def error_headers(turn: Scripted) -> dict[str, str]:
    """Retry-After on 429 (ms and whole seconds), which the SDK's retry loop honours before backing off."""
    if turn.status != 429:
        return {}
    return {
        "retry-after-ms": str(int(turn.retry_after_s * 1000)),
        "retry-after": str(math.ceil(turn.retry_after_s)),
    }


def estimate_tokens(text: str) -> int:
    """Approximate tokens as chars/4: close enough for budget and cost code paths, without a tokenizer."""
    return len(text) // 4


def _prompt_text(request: dict[str, Any]) -> str:
    """Everything the client sent that a real model would count as prompt, including tool schemas."""
    pieces = [_text_of(m.get("content")) for m in request.get("messages") or [] if isinstance(m, dict)]
    if request.get("tools"):
        pieces.append(json.dumps(request["tools"]))
    return "".join(pieces)


def _usage(turn: Scripted, request: dict[str, Any], calls: list[dict[str, Any]]) -> dict[str, int]:
    completion_text = (turn.content or "") + "".join(c["function"]["arguments"] for c in calls)
    prompt = turn.prompt_tokens if turn.prompt_tokens is not None else estimate_tokens(_prompt_text(request))
    completion = turn.completion_tokens if turn.completion_tokens is not None else estimate_tokens(completion_text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _wire_calls(turn: Scripted, call_ids: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments if isinstance(call.arguments, str)
                         else json.dumps(call.arguments)},
        }
        for call, call_id in zip(turn.tool_calls, call_ids, strict=True)
    ]


def _finish_reason(turn: Scripted) -> str:
    return "tool_calls" if turn.tool_calls else "stop"


def completion_body(
    turn: Scripted, request: dict[str, Any], *, model: str, call_ids: list[str], created: int, cid: str
) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` object, always with usage so cost accounting can be tested."""
    calls = _wire_calls(turn, call_ids)
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(turn), "logprobs": None}],
        "usage": _usage(turn, request, calls),
    }


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def stream_chunks(
    turn: Scripted,
    request: dict[str, Any],
    *,
    model: str,
    call_ids: list[str],
    created: int,
    cid: str,
    chunk_chars: int,
) -> Iterator[dict[str, Any]]:
    """Yield ``chat.completion.chunk`` objects split like a real model, so delta-joining code is exercised."""
    size = max(1, chunk_chars)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [choice],
        }

    yield chunk({"role": "assistant", "content": ""})
    for piece in _pieces(turn.content or "", size):
        yield chunk({"content": piece})
    calls = _wire_calls(turn, call_ids)
    for index, call in enumerate(calls):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        yield chunk({"tool_calls": [head]})
        for piece in _pieces(call["function"]["arguments"], size):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, _finish_reason(turn))
    options = request.get("stream_options") or {}
    if isinstance(options, dict) and options.get("include_usage"):
        yield {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(turn, request, calls),
        }


class Scriptable:
    """The scripting half shared by the fake model servers (OpenAI-compatible and Bedrock Converse):
    a FIFO of scripted turns, a responder for everything unscripted, and a record of every request.
    Servers call ``_init_script()`` in ``__init__`` and use ``self._lock`` for their own state too."""

    def _init_script(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Scripted] = deque()
        self._requests: list[dict[str, Any]] = []
        self._responder: Callable[[dict[str, Any]], Scripted] = default_answer

    def script(self, *turns: Scripted) -> None:
        """Queue turns consumed one per request, in order, before the responder is consulted."""
        with self._lock:
            self._queue.extend(turns)

    def set_responder(self, fn: Callable[[dict[str, Any]], Scripted]) -> None:
        """Answer unscripted requests with ``fn(request_body)``, e.g. for load tests with many requests."""
        with self._lock:
            self._responder = fn

    def received(self) -> list[dict[str, Any]]:
        """A snapshot of every request body received, so tests can assert what the client sent."""
        with self._lock:
            return list(self._requests)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Same as ``received()``; a copy, so callers never race the handler threads."""
        return self.received()

    def _reset_script(self) -> None:
        """Forget script, history and responder (callers hold no lock)."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._responder = default_answer

    def _record(self, request: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_turn(self, request: dict[str, Any]) -> Scripted:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            responder = self._responder
        try:
            return responder(request)
        except Exception as exc:  # a broken test responder should surface as a readable 500
            return Scripted(content=f"responder failed: {exc!r}", status=500)
