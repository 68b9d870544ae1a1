"""A thin wrapper over the openai SDK: config-driven timeouts/retries, metrics, typed errors.

The SDK already does exponential-backoff retries (``max_retries``) and timeouts; we configure them
rather than re-implement them. When the request's edge shows answers as they are written (an answer sink
is bound, see ``bot.progress``), the call streams; otherwise it is one plain request.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import openai

from bot import deadline, progress
from bot.config import Settings
from bot.errors import ModelError
from bot.llm.accounting import ModelAccounting
from bot.metrics import Metrics
from bot.text.tokens import count_tokens
from bot.wire import valid_text


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    content: str
    tool_calls: tuple[ToolCall, ...]
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


class _NotAnAnswer(Exception):
    """The endpoint answered 200 with something that is not a chat completion (an HTML page, say)."""


class _PastDeadline(Exception):
    """The request's overall deadline passed while the model was still writing."""


class ModelClient(Protocol):
    """What the handlers and the tool loop need from a model provider (OpenAI-compatible or Bedrock)."""

    model: str
    last_error: str

    def complete(self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None,
                 tool_choice: str | None = None) -> Completion: ...


class LlmClient:
    """One OpenAI client per bot (it pools connections); safe to share across worker threads."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.model = settings.llm_model
        self._settings = settings
        self._client = openai.OpenAI(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url or None,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
        self._accounting = ModelAccounting(self.model, settings, metrics)
        self.last_error: str = ""

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self._settings.llm_max_output_tokens,
            "temperature": 0.1,
        }
        if tools:
            kwargs["tools"] = tools
            if tool_choice:
                kwargs["tool_choice"] = tool_choice
        left = deadline.remaining()
        if left is not None:
            if left <= 0:
                raise self._fail(f"the request used up its {self._settings.request_deadline_s:.0f}s deadline",
                                 "ask a narrower question")
            kwargs["timeout"] = min(self._settings.llm_timeout_s, left)
        start = time.perf_counter()
        outcome = "ok"
        try:
            if progress.answer_streaming():
                completion = self._streamed(kwargs, messages)
            else:
                completion = self._whole(self._client.chat.completions.create(**kwargs))
        except _PastDeadline as exc:
            outcome = "timeout"
            raise self._fail(f"the model was still writing when the request's "
                             f"{self._settings.request_deadline_s:.0f}s deadline passed",
                             "try again, or ask a narrower question") from exc
        except (_NotAnAnswer, json.JSONDecodeError) as exc:
            outcome = "error"
            raise self._fail("the model endpoint sent something that is not an OpenAI answer (HTML or invalid JSON)",
                             "check OPENAI_BASE_URL: it must be the API, not a web page or a proxy's error page"
                             ) from exc
        except openai.APITimeoutError as exc:
            outcome = "timeout"
            raise self._fail(f"the model did not answer within {self._settings.llm_timeout_s:.0f}s",
                             "try again, or ask a narrower question") from exc
        except openai.RateLimitError as exc:
            outcome = "rate_limited"
            raise self._fail("the model endpoint is rate-limiting us", "wait a minute and try again") from exc
        except openai.AuthenticationError as exc:
            outcome = "error"
            raise self._fail("the model endpoint rejected OPENAI_API_KEY",
                             "check OPENAI_API_KEY / OPENAI_BASE_URL (cloudops-bot check-config)") from exc
        except openai.APIStatusError as exc:
            outcome = "error"
            raise self._fail(f"the model endpoint answered HTTP {exc.status_code}",
                             "try again in a moment") from exc
        except openai.APIError as exc:
            outcome = "error"
            raise self._fail(f"could not reach the model endpoint ({type(exc).__name__})",
                             "check OPENAI_BASE_URL and network access") from exc
        finally:
            self._accounting.call(outcome, time.perf_counter() - start)
        if completion is None:
            raise self._fail("the model returned no answer", "try again")
        self._accounting.usage(completion.prompt_tokens, completion.completion_tokens)
        self.last_error = ""
        return completion

    @staticmethod
    def _whole(resp: Any) -> Completion | None:
        if isinstance(resp, str | bytes):  # the SDK hands back the raw text of a body that is not JSON
            raise _NotAnAnswer(type(resp).__name__)
        if not resp.choices:
            return None
        choice = resp.choices[0]
        usage = resp.usage
        calls = tuple(
            ToolCall(id=tc.id or f"call_{i}", name=tc.function.name or "",
                     arguments=valid_text(tc.function.arguments or "{}"))
            for i, tc in enumerate(choice.message.tool_calls or [])
            if getattr(tc, "function", None) is not None
        )
        return Completion(content=valid_text(choice.message.content or ""), tool_calls=calls,
                          prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                          completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                          finish_reason=choice.finish_reason or "")

    def _streamed(self, kwargs: dict[str, Any], messages: list[dict[str, Any]]) -> Completion | None:
        """The same request with ``stream=True``: content deltas go to the bound answer sink as they arrive,
        tool-call deltas are joined by index, and usage comes from the final chunk (``include_usage``), so
        the Completion and the token accounting are what the non-streamed call gives. A stream that breaks
        off raises the SDK's APITimeoutError / APIConnectionError from the iteration, handled like any call.

        Text the model writes before it decides to call a tool is not the answer: the sink is told to drop
        it (``answer_discard``) and the rest of that step is not forwarded. An endpoint that ignores
        ``stream_options`` sends no usage; tokens are then counted locally so budgets still apply.
        """
        content: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        finish, usage, seen = "", None, False
        with self._client.chat.completions.create(
                **kwargs, stream=True, stream_options={"include_usage": True}) as stream:
            for chunk in stream:
                if deadline.expired():
                    raise _PastDeadline()
                usage = chunk.usage or usage
                for choice in chunk.choices[:1]:
                    seen = True
                    delta = choice.delta
                    if delta.content:
                        piece = valid_text(delta.content)
                        content.append(piece)
                        if not calls:
                            progress.answer_text(piece)
                    for tc in delta.tool_calls or []:
                        if not calls and content:
                            progress.answer_discard()
                        call = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": []})
                        call["id"] = tc.id or call["id"]
                        if tc.function is not None:
                            call["name"] += tc.function.name or ""
                            call["arguments"].append(valid_text(tc.function.arguments or ""))
                    finish = choice.finish_reason or finish
        if not seen:
            return None
        text = "".join(content)
        tool_calls = tuple(ToolCall(id=c["id"] or f"call_{i}", name=c["name"],
                                    arguments="".join(c["arguments"]) or "{}") for i, c in sorted(calls.items()))
        if usage is not None:
            prompt_tokens, completion_tokens = int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
        else:
            prompt_tokens = count_tokens(json.dumps(messages, default=str))
            completion_tokens = count_tokens(text + "".join(c.arguments for c in tool_calls))
        return Completion(content=text, tool_calls=tool_calls, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, finish_reason=finish)

    def _fail(self, message: str, hint: str) -> ModelError:
        self.last_error = message
        return ModelError("model", message, hint)
