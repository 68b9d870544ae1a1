"""A thin wrapper over the openai SDK: config-driven timeouts/retries, metrics, typed errors.

The SDK already does exponential-backoff retries (``max_retries``) and timeouts; we configure them
rather than re-implement them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import openai

from bot.config import Settings
from bot.errors import ModelError
from bot.llm.accounting import ModelAccounting
from bot.metrics import Metrics


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
        start = time.perf_counter()
        outcome = "ok"
        try:
            resp = self._client.chat.completions.create(**kwargs)
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
        if not resp.choices:
            raise self._fail("the model returned no answer", "try again")
        choice = resp.choices[0]
        usage = resp.usage
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        self._accounting.usage(prompt_tokens, completion_tokens)
        calls = tuple(
            ToolCall(id=tc.id or f"call_{i}", name=tc.function.name or "", arguments=tc.function.arguments or "{}")
            for i, tc in enumerate(choice.message.tool_calls or [])
            if getattr(tc, "function", None) is not None
        )
        self.last_error = ""
        return Completion(content=choice.message.content or "", tool_calls=calls, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, finish_reason=choice.finish_reason or "")

    def _fail(self, message: str, hint: str) -> ModelError:
        self.last_error = message
        return ModelError("model", message, hint)
