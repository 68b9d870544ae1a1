"""The data routes, GET /logs and POST /query: the Slack path's gatherer, redaction and handlers over HTTP.

Nothing here re-implements a capability. /logs calls the same ``handlers.logs`` functions as
``/cloudops logs`` (so a secret redacted in Slack is redacted here too), after the same admission (access
class, rate limits) and under the same accounting (metrics, audit event) as any request; /query runs the
one error boundary, ``handlers.dispatch.handle``. What this module adds is strict parameter checking, so a
typo such as ``?sinse=2h`` is a 400 naming the parameter instead of a silently different answer.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from bot.aws import logs as cwlogs
from bot.aws.records import LogEvent
from bot.errors import CloudOpsError, UserInputError
from bot.models import Reply, Source
from bot.models import Request as BotRequest
from bot.sidecar.http import Context, HttpError, Request, Response, from_cloudops, json_response, text_response
from bot.wire import valid_text
from handlers import dispatch
from handlers.logs import compact_text, gather_logs, scrubbed_events
from handlers.parsing import format_window, resolve_group, split_window
from handlers.registry import BY_VERB

MAX_QUERY_BODY = 16 * 1024
_DRAIN_LIMIT = 1024 * 1024  # read (and drop) an oversized body up to this so the client sees the 413
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
LOGS_PARAMS = ("group", "filter", "since", "limit", "format", "compact")
LOGS = BY_VERB["logs"]  # /logs runs the logs capability's gatherer, under its access class


def _reject_unknown(req: Request, allowed: Collection[str]) -> None:
    unknown = sorted(set(req.query) - set(allowed))
    if unknown:
        raise HttpError(400, f"unknown query parameter {unknown[0]!r}",
                        f"this route accepts: {', '.join(allowed) or 'no parameters'}", parameter=unknown[0])


def _format(req: Request) -> str:
    fmt = (req.param("format", "json") or "json").lower()
    if fmt not in {"json", "text"}:
        raise HttpError(400, f"format {fmt!r} is not json or text", "use format=json or format=text",
                        parameter="format")
    return fmt


def _flag(req: Request, name: str) -> bool:
    raw = (req.param(name, "0") or "0").lower()
    if raw not in {"0", "1", "true", "false"}:
        raise HttpError(400, f"{name}={raw!r} is not 0 or 1", f"use {name}=1 or leave it out", parameter=name)
    return raw in {"1", "true"}


def _limit(req: Request) -> int:
    raw = req.param("limit", str(DEFAULT_LIMIT)) or ""
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise HttpError(400, f"limit={raw!r} is not a whole number from 1 to {MAX_LIMIT:,}",
                        f"e.g. limit=200 (default {DEFAULT_LIMIT:,})", parameter="limit")
    return int(raw)


def _window(req: Request, ctx: Context) -> int:
    raw = req.param("since")
    if raw is None:
        return ctx.settings.default_window_s
    try:
        rest, window = split_window([raw.strip()], ctx.settings)
    except UserInputError as exc:
        raise HttpError(400, f"since: {exc.message}", exc.hint, parameter="since") from None
    if rest:
        raise HttpError(400, f"since={raw!r} is not a duration", "use e.g. since=15m, 2h or 1d", parameter="since")
    return window


def _group(req: Request, ctx: Context) -> str:
    raw = (req.param("group") or "").strip()
    if not raw:
        raise HttpError(400, "the group parameter is required",
                        "e.g. /logs?group=/ecs/api-prod, or a configured alias", parameter="group")
    try:
        return cwlogs.validate_group(resolve_group(raw, ctx.settings))
    except UserInputError as exc:
        raise HttpError(400, exc.message, exc.hint, parameter="group") from None


def _terms(req: Request) -> list[str]:
    terms = (req.param("filter") or "").split()
    try:
        cwlogs.filter_pattern(terms)  # validates each term before anything reaches AWS
    except UserInputError as exc:
        raise HttpError(400, exc.message, "plain words, numbers or paths separated by spaces",
                        parameter="filter") from None
    return terms


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_line(e: LogEvent) -> str:
    return f"{_iso_ms(e.timestamp_ms)} {e.stream} {e.message}"


def logs_route(ctx: Context, req: Request) -> Response:
    """GET /logs: newest ``limit`` events of one group (or their grouped view), scrubbed like Slack's."""
    _reject_unknown(req, LOGS_PARAMS)
    group, terms, window = _group(req, ctx), _terms(req), _window(req, ctx)
    limit, fmt, compact = _limit(req), _format(req), _flag(req, "compact")
    request = BotRequest(" ".join(["logs", group, *terms, f"{window}s"]), source=Source.QUERY,
                         user=ctx.settings.sidecar_user, channel=ctx.settings.sidecar_channel)
    try:
        with dispatch.accounted(request, ctx.services) as ledger:
            ledger.command = LOGS.verb
            dispatch.permit(request, LOGS, ctx.services)
            result = gather_logs(ctx.services, group, terms, window)
    except CloudOpsError as exc:
        error = from_cloudops(exc)  # AWS's own words may quote a secret: scrubbed like Slack's error replies
        error.error, error.hint = ctx.services.scrub(error.error), ctx.services.scrub(error.hint)
        raise error from None
    matched = scrubbed_events(ctx.services, result)
    events = matched[-limit:]
    body: dict[str, Any] = {
        "group": group, "filter": " ".join(terms), "since": format_window(window), "window_s": window,
        "count": len(events), "matched": len(matched), "truncated": len(matched) > limit,
        "capped": result.capped,
    }
    if compact:
        text, shown, total = compact_text(ctx.services, events) if events else ("", 0, 0)
        if fmt == "text":
            return text_response(200, text + "\n" if text else "")
        body.update(compact=text, groups_shown=shown, groups_total=total)
        return json_response(200, body)
    if fmt == "text":
        return text_response(200, "".join(_event_line(e) + "\n" for e in events))
    body["events"] = [{"timestamp": _iso_ms(e.timestamp_ms), "timestamp_ms": e.timestamp_ms,
                       "stream": e.stream, "message": e.message} for e in events]
    return json_response(200, body)


def _read_body(req: Request) -> bytes:
    raw_length = (req.header("Content-Length") or "").strip()
    if not raw_length:
        raise HttpError(411, "a JSON body with a Content-Length header is required",
                        'send e.g. {"text": "status web-1"}')
    if not (raw_length.isascii() and raw_length.isdigit()):
        raise HttpError(400, "Content-Length is not a number", "let your HTTP client set it")
    length = int(raw_length)
    stream = req.environ["wsgi.input"]
    if length > MAX_QUERY_BODY:
        if length <= _DRAIN_LIMIT:
            stream.read(length)
        raise HttpError(413, f"the body is {length:,} bytes; the limit is {MAX_QUERY_BODY:,}",
                        "send only the command text")
    try:
        data: bytes = stream.read(length) if length else b""
    except TimeoutError:
        data = b""
    if len(data) < length:
        raise HttpError(400, f"the body ended after {len(data):,} of {length:,} bytes (Content-Length)",
                        "send the whole body, or let your HTTP client set Content-Length")
    return data


def _text(body: bytes) -> str:
    hint = 'send a JSON object like {"text": "status web-1"}'
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HttpError(400, "the body is not valid JSON", hint, parameter="body") from None
    if not isinstance(payload, dict):
        raise HttpError(400, "the body must be a JSON object", hint, parameter="body")
    extra = sorted(set(payload) - {"text"})
    if extra:
        raise HttpError(400, f"unknown field {extra[0]!r}", hint, parameter=extra[0])
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise HttpError(400, "text must be a non-empty string", hint, parameter="text")
    return valid_text(text)


def reply_json(reply: Reply, command: str, outcome: str) -> dict[str, Any]:
    """The Reply as JSON: the fields a client renders, plus the command and outcome labels."""
    usage = reply.usage
    return {
        "title": reply.title, "summary": reply.summary,
        "sections": [{"title": s.title, "text": s.text, "code": s.code,
                      "facts": [{"label": f.label, "value": f.value} for f in s.facts]} for s in reply.sections],
        "notes": list(reply.notes), "ok": reply.ok, "hint": reply.hint, "correlation_id": reply.correlation_id,
        "model_used": reply.model_used,
        "usage": None if usage is None else {"model": usage.model, "prompt_tokens": usage.prompt_tokens,
                                             "completion_tokens": usage.completion_tokens, "calls": usage.calls},
        "command": command, "outcome": outcome,
    }


def query_route(ctx: Context, req: Request) -> Response:
    """POST /query: one command through the error boundary, counted like a Slack request of kind "query".

    The HTTP status is 200 whenever the command was handled, even if its outcome is an error reply:
    the reply (``ok``, ``hint``, ``outcome``) says what went wrong, just as it would in Slack.
    """
    _reject_unknown(req, ("format",))
    fmt = _format(req)
    if ctx.state.draining:
        raise HttpError(503, "the bot is shutting down", "retry in a moment", headers=(("Retry-After", "5"),))
    text = _text(_read_body(req))
    request = BotRequest(text, source=Source.QUERY, user=ctx.settings.sidecar_user,
                         channel=ctx.settings.sidecar_channel)
    ctx.state.add_in_flight(1)
    try:
        reply, command, outcome = dispatch.handle(request, ctx.services)
    finally:
        ctx.state.add_in_flight(-1)
    if fmt == "text":
        return text_response(200, reply.plain_text() + "\n")
    return json_response(200, reply_json(reply, command, outcome))
