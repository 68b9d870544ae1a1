"""One MCP tool call: admitted, run, scrubbed and audited exactly like a Slack request.

This is a thin adapter over the capability entries' model tools (``handlers.toolbox.build_tools``): MCP clients see the
same read-only tools, with the same JSON schemas, as the bot's own model does. What it adds is what the
Slack path gets from ``handlers.dispatch``: length limit, access and rate limits (``handlers.guard``) as
the identity ``mcp``/``mcp``, the model loop's scrub and cut on the result, and one ``cloudops.audit``
line per call whatever happened (a refusal included). No SDK types here, so both transports share it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

import structlog

from bot import calllog
from bot.errors import CloudOpsError, UserInputError
from bot.llm.loop import cut
from bot.llm.tools import ToolSpec
from bot.models import Request, Source
from bot.text.sanitize import clean_text
from handlers.capability import Access
from handlers.guard import check_access, check_rate
from handlers.registry import CAPABILITIES
from handlers.services import Services
from handlers.toolbox import build_tools

log = structlog.get_logger("cloudops.audit")

MCP_USER = "mcp"  # who MCP calls are admitted, rate-limited and audited as (add it to CLOUDOPS_READ_USERS)
MCP_CHANNEL = "mcp"  # their "channel": CLOUDOPS_READ_CHANNELS and CLOUDOPS_CHANNEL_SCOPES apply to it
ACCESS = "read"  # every toolbox tool only reads AWS evidence; the model never runs on this path


@dataclass(frozen=True)
class CallResult:
    text: str  # scrubbed and cut: safe to hand to the client
    ok: bool
    outcome: str  # the audit/metrics outcome label (ok, bad_input, denied, rate_limited, …)


def request_for(tool: str, arguments: dict[str, Any]) -> Request:
    text = f"{tool} {json.dumps(arguments, ensure_ascii=False, sort_keys=True)}" if arguments else tool
    return Request(text=text, source=Source.MCP, user=MCP_USER, channel=MCP_CHANNEL)


def tools_for(services: Services, request: Request | None = None) -> list[ToolSpec]:
    """The tools MCP clients get: the read-only capabilities' model tools, scoped by the MCP identity's
    channel. Action capabilities are left out: their approval needs a second person in Slack."""
    readers = [c for c in CAPABILITIES if c.access is Access.READ]
    return build_tools(services, request or request_for("", {}), readers)


def _clean(value: Any) -> Any:
    """Untrusted arguments: control and zero-width characters out of every string, at any depth."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    return value


def _lookup(name: str, request: Request, services: Services) -> ToolSpec:
    tools = tools_for(services, request)
    tool = next((t for t in tools if t.name == name), None)
    if tool is None:
        raise UserInputError(f"there is no tool named {name[:60]!r}", f"tools: {', '.join(t.name for t in tools)}")
    return tool


def _admit(request: Request, services: Services) -> None:
    """After the tool is found, as ``dispatch.admit`` does after routing: length, access, rate."""
    s = services.settings
    if len(request.text) > s.max_command_chars:
        raise UserInputError(f"the call is {len(request.text)} characters; the limit is {s.max_command_chars}",
                             "pass shorter arguments")
    check_access(request, ACCESS, s)
    check_rate(request, services.store, s, services.metrics)


def _run(tool: ToolSpec, arguments: dict[str, Any]) -> tuple[str, str, str]:
    """(text, outcome, correlation id). ``ToolSpec.invoke`` checks the arguments and never raises; the
    wrapper keeps a typed error's kind for the audit, and a bug's message stays in our log behind an id."""
    failure: list[tuple[CloudOpsError, str]] = []

    def recorded(args: dict[str, Any]) -> str:
        try:
            return tool.fn(args)
        except CloudOpsError as exc:
            failure.append((exc, ""))
            raise
        except Exception as exc:
            cid = uuid.uuid4().hex[:8]
            log.exception("unexpected_error", correlation_id=cid, tool=tool.name)
            bug = CloudOpsError("an unexpected error stopped this call",
                                f"try again; if it keeps failing, give the bot's operator the id {cid}")
            bug.kind = "internal"
            failure.append((bug, cid))
            raise bug from exc

    text = replace(tool, fn=recorded).invoke(json.dumps(arguments))
    if failure:
        exc, cid = failure[0]
        return _error_text(exc), exc.kind, cid
    rejected = text.startswith(("error: arguments", "error: missing required", "error: unknown argument"))
    return text, "bad_input" if rejected else "ok", ""


def _error_text(exc: CloudOpsError) -> str:
    return f"error: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")


def call_tool(services: Services, name: str, arguments: dict[str, Any] | None, *, transport: str) -> CallResult:
    """Run one tool call for an MCP client; exactly one audit line, whatever the outcome."""
    start = time.perf_counter()
    calls = calllog.start()
    args = _clean(arguments or {})
    request = request_for(clean_text(name)[:60], args)
    command, outcome, cid = "unknown", "ok", ""
    try:
        tool = _lookup(name, request, services)
        command = tool.name
        _admit(request, services)
        text, outcome, cid = _run(tool, args)
    except CloudOpsError as exc:
        outcome, text = exc.kind, _error_text(exc)
    except Exception:  # a bug outside the tool (admission, the store): still answered, still audited
        cid = uuid.uuid4().hex[:8]
        log.exception("unexpected_error", correlation_id=cid, request_id=request.request_id)
        outcome = "internal"
        text = f"error: an unexpected error stopped this call (hint: give the bot's operator the id {cid})"
    clean = cut(services.scrub(text), services.settings.llm_tool_result_chars)
    ops = list(calls.operations)
    log.info(
        "request", request_id=request.request_id, source=request.source.value, transport=transport,
        user=request.user, channel=request.channel, command=command, text=services.scrub(request.text)[:200],
        aws_operations=sorted(set(ops)), aws_calls=len(ops), model=None, prompt_tokens=0, completion_tokens=0,
        duration_ms=round((time.perf_counter() - start) * 1000, 1), aws_ms=round(calls.aws_s * 1000, 1),
        model_ms=round(calls.model_s * 1000, 1), outcome=outcome, correlation_id=cid or None,
        result_chars=len(clean),
    )
    return CallResult(clean, outcome == "ok", outcome)
