"""Amazon Bedrock as the model provider, through the Converse API, behind the same interface as LlmClient.

Teams whose data may not leave their AWS account use Bedrock instead of an OpenAI-compatible endpoint.
The rest of the bot keeps speaking OpenAI chat format (messages, tool schemas, tool calls); this module
translates at the edge, so the tool loop, prompts and handlers do not know which provider answers.

Translation notes (Converse rules that OpenAI format does not have):

* System messages become the top-level ``system`` list; ``role=tool`` messages become ``toolResult``
  blocks in a user turn; consecutive same-role turns are merged, because Converse requires strict
  user/assistant alternation starting with a user turn; blank text blocks are dropped (Converse
  rejects them).
* ``tool_choice="none"`` (the loop's last, answer-now step) has no Converse equivalent, and Converse
  rejects ``toolUse``/``toolResult`` blocks unless ``toolConfig`` is sent. We therefore omit
  ``toolConfig`` and rewrite the earlier tool calls and results as plain text in the same turns. The
  model keeps all the evidence, cannot call a tool, and so always answers in text. Any tool call a
  model still returns in that mode is dropped, as OpenAI would never return one.
* Answers are not streamed (``converse``, not ``converse_stream``): when the edge shows answers as they
  are written, the whole answer text goes to the answer sink as one piece once it has arrived.
* Retries and timeouts are botocore's (standard mode; ``llm_max_retries`` retries after the first
  attempt, ``llm_timeout_s`` per read), mirroring what the openai SDK does for LlmClient.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    NoCredentialsError,
    ReadTimeoutError,
)

from bot import deadline, progress
from bot.config import Settings
from bot.errors import ModelError
from bot.llm.accounting import ModelAccounting
from bot.llm.client import Completion, ToolCall
from bot.metrics import Metrics
from bot.wire import valid_text

_THROTTLED = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException",
              "ModelNotReadyException"}
_DENIED = {"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException",
           "InvalidSignatureException", "MissingAuthenticationTokenException"}
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length",
           "model_context_window_exceeded": "length", "guardrail_intervened": "content_filter",
           "content_filtered": "content_filter"}


class BedrockClient:
    """One bedrock-runtime client per bot (botocore clients are thread-safe); same API as LlmClient.

    ``session`` lets the caller share the bot's boto3 Session (each one costs tens of MB); without it a
    Session is made from the standard AWS chain, with ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` honoured.
    """

    def __init__(self, settings: Settings, metrics: Metrics | None = None, *, model_id: str,
                 session: boto3.session.Session | None = None) -> None:
        if not model_id:
            raise ValueError("a Bedrock model id is required (CLOUDOPS_BEDROCK_MODEL_ID)")
        self.model = model_id
        self._settings = settings
        session = session or boto3.session.Session(region_name=settings.aws_region or None)
        config = Config(
            region_name=session.region_name or "us-east-1",
            connect_timeout=min(settings.aws_connect_timeout_s, settings.llm_timeout_s),
            read_timeout=settings.llm_timeout_s,
            retries={"mode": "standard", "total_max_attempts": settings.llm_max_retries + 1},
            max_pool_connections=max(10, settings.workers),
        )
        self._client: Any = session.client("bedrock-runtime", config=config)  # type: ignore[call-overload]
        self._accounting = ModelAccounting(self.model, settings, metrics)
        self.last_error: str = ""

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
    ) -> Completion:
        if deadline.expired():
            raise self._fail(f"the request used up its {self._settings.request_deadline_s:.0f}s deadline",
                             "ask a narrower question")
        use_tools = bool(tools) and tool_choice != "none"
        request = to_converse(messages, tools if use_tools else None, tool_choice)
        request["inferenceConfig"] = {"maxTokens": self._settings.llm_max_output_tokens, "temperature": 0.1}
        start = time.perf_counter()
        outcome = "ok"
        try:
            resp: dict[str, Any] = self._client.converse(modelId=self.model, **request)
        except ClientError as exc:
            outcome, message, hint = self._explain(exc)
            raise self._fail(message, hint) from exc
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            outcome = "timeout"
            raise self._fail(f"Bedrock did not answer within {self._settings.llm_timeout_s:.0f}s",
                             "try again, or ask a narrower question") from exc
        except NoCredentialsError as exc:
            outcome = "error"
            raise self._fail("no AWS credentials to call Bedrock with",
                             "give the bot an IAM role or AWS_* credentials (cloudops-bot check-config)") from exc
        except BotoCoreError as exc:
            outcome = "error"
            raise self._fail(f"could not reach Bedrock ({type(exc).__name__})",
                             "check AWS_REGION and network access to bedrock-runtime") from exc
        finally:
            self._accounting.call(outcome, time.perf_counter() - start)
        return self._completion(resp, use_tools)

    def _completion(self, resp: dict[str, Any], use_tools: bool) -> Completion:
        message = (resp.get("output") or {}).get("message")
        if not isinstance(message, dict):
            raise self._fail("Bedrock returned no answer", "try again")
        blocks = [b for b in message.get("content") or [] if isinstance(b, dict)]
        usage = resp.get("usage") or {}
        prompt_tokens = int(usage.get("inputTokens") or 0)
        completion_tokens = int(usage.get("outputTokens") or 0)
        self._accounting.usage(prompt_tokens, completion_tokens)
        calls = tuple(
            ToolCall(id=str(b["toolUse"].get("toolUseId") or f"call_{i}"), name=str(b["toolUse"].get("name") or ""),
                     arguments=json.dumps(b["toolUse"].get("input") or {}))
            for i, b in enumerate(blocks) if isinstance(b.get("toolUse"), dict)
        ) if use_tools else ()
        text = valid_text("".join(str(b["text"]) for b in blocks if "text" in b))
        stop = str(resp.get("stopReason") or "")
        self.last_error = ""
        if not calls:  # Converse is not streamed: a bound answer sink gets the whole answer as one piece
            progress.answer_text(text)
        return Completion(content=text, tool_calls=calls, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, finish_reason=_FINISH.get(stop, stop))

    def _explain(self, exc: ClientError) -> tuple[str, str, str]:
        """(metrics outcome, message, hint) for a Bedrock error answer, in the words an engineer acts on."""
        error = exc.response.get("Error") or {}
        code = str(error.get("Code") or "")
        detail = str(error.get("Message") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _THROTTLED:
            return ("rate_limited", f"Bedrock is throttling requests to {self.model}",
                    "wait a minute and try again (or raise the model's Bedrock quota)")
        if code == "ModelTimeoutException":
            return ("timeout", f"{self.model} took too long to answer on Bedrock",
                    "try again, or ask a narrower question")
        if code in _DENIED:
            return ("error", f"Bedrock refused the bot's AWS identity ({code})",
                    "allow bedrock:InvokeModel on the model and enable access to it in the Bedrock console")
        if code == "ResourceNotFoundException" or "model identifier" in detail:
            return ("error", f"Bedrock does not offer model {self.model} in this region",
                    "check CLOUDOPS_BEDROCK_MODEL_ID and AWS_REGION")
        if code == "ValidationException":
            return ("error", f"Bedrock rejected the request: {detail[:200]}",
                    "ask a narrower question; if it persists, report it with the request id")
        return "error", f"Bedrock answered HTTP {status} ({code or 'unknown error'})", "try again in a moment"

    def _fail(self, message: str, hint: str) -> ModelError:
        self.last_error = message
        return ModelError("model", message, hint)


def to_converse(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, tool_choice: str | None = None
) -> dict[str, Any]:
    """OpenAI chat messages + tool schemas → Converse ``messages``/``system``/``toolConfig`` kwargs.

    Without ``tools`` no ``toolConfig`` is sent and earlier tool calls/results become text (see the
    module docstring for why).
    """
    native = bool(tools)
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id -> tool name, for results rewritten as text
    for m in messages:
        role = m.get("role")
        if role in ("system", "developer"):
            text = _text(m.get("content"))
            if text.strip():
                system.append({"text": text})
            continue
        if role == "tool":
            blocks = [_tool_result(m, names, native)]
        else:
            text = _text(m.get("content"))
            blocks = [{"text": text}] if text.strip() else []
            calls = (m.get("tool_calls") or []) if role == "assistant" else []
            for call in calls:
                names[str(call.get("id"))] = str((call.get("function") or {}).get("name"))
                blocks.append(_tool_use(call, native))
        if not blocks:
            continue
        conv_role = "assistant" if role == "assistant" else "user"
        if turns and turns[-1]["role"] == conv_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": conv_role, "content": blocks})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"text": "(earlier conversation follows)"}]})
    request: dict[str, Any] = {"messages": turns}
    if system:
        request["system"] = system
    if tools:
        request["toolConfig"] = {"tools": [_tool_spec(t) for t in tools]}
        if tool_choice == "required":
            request["toolConfig"]["toolChoice"] = {"any": {}}
    return request


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _tool_use(call: dict[str, Any], native: bool) -> dict[str, Any]:
    fn = call.get("function") or {}
    raw = str(fn.get("arguments") or "{}")
    if not native:
        return {"text": f"[called tool {fn.get('name')} with arguments {raw}]"}
    try:
        args = json.loads(raw)
    except json.JSONDecodeError:
        args = None
    return {"toolUse": {"toolUseId": str(call.get("id")), "name": str(fn.get("name")),
                        "input": args if isinstance(args, dict) else {"raw_arguments": raw}}}


def _tool_result(m: dict[str, Any], names: dict[str, str], native: bool) -> dict[str, Any]:
    call_id = str(m.get("tool_call_id"))
    text = _text(m.get("content")) or "(no output)"
    if not native:
        return {"text": f"[result of tool {names.get(call_id, call_id)}]\n{text}"}
    return {"toolResult": {"toolUseId": call_id, "content": [{"text": text}]}}


def _tool_spec(schema: dict[str, Any]) -> dict[str, Any]:
    fn = schema.get("function") or schema
    spec: dict[str, Any] = {"name": fn["name"],
                            "inputSchema": {"json": fn.get("parameters") or {"type": "object", "properties": {}}}}
    if fn.get("description"):
        spec["description"] = fn["description"]
    return {"toolSpec": spec}
