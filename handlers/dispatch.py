"""The single error boundary: every request ends as a Reply, whatever happened.

Typed errors become a one-line explanation with a hint; anything else is a bug and becomes a short
correlation id that is also logged with the traceback (never shown to the user). One audit event per
request records who asked what, which AWS operations ran, the model, tokens, duration and outcome.
"""

from __future__ import annotations

import time
import uuid

import structlog
from bot.text.sanitize import clean_text

from bot.aws.session import start_recording
from bot.errors import CloudOpsError, UserInputError
from bot.models import Reply, Request
from handlers.router import Route, resolve
from handlers.services import Services

log = structlog.get_logger("cloudops.audit")


def error_reply(exc: CloudOpsError) -> Reply:
    return Reply(title="Sorry, that didn't work", summary=exc.message[:500], hint=exc.hint, ok=False)


def handle(request: Request, services: Services) -> tuple[Reply, str, str]:
    """Run one request; returns (reply, command label, outcome label) for the caller's metrics."""
    start = time.perf_counter()
    ops = start_recording()
    command, outcome = "unknown", "ok"
    try:
        limit = services.settings.max_command_chars
        text = clean_text(request.text)
        route: Route
        route, args = resolve(_with_text(request, text))
        command = route.verb
        if len(text) > (services.settings.max_question_chars if route.uses_model else limit):
            allowed = services.settings.max_question_chars if route.uses_model else limit
            raise UserInputError(f"that is {len(text)} characters; the limit is {allowed}",
                                 "shorten the command or question")
        reply = route.handler(request, args, services)
    except CloudOpsError as exc:
        outcome = exc.kind
        reply = error_reply(exc)
    except Exception:
        outcome = "internal"
        cid = uuid.uuid4().hex[:8]
        log.exception("unexpected_error", correlation_id=cid, request_id=request.request_id)
        reply = Reply(title="Sorry, something went wrong on my side", ok=False, correlation_id=cid,
                      summary="An unexpected error stopped this request.",
                      hint=f"try again; if it keeps failing, give the bot's operator the id {cid}")
    duration = time.perf_counter() - start
    reply = _with_ops(reply, ops)
    log.info(
        "request", request_id=request.request_id, source=request.source.value, user=request.user,
        channel=request.channel, command=command, text=services.scrub(request.text)[:200],
        aws_operations=sorted(set(ops)), aws_calls=len(ops), model=reply.usage.model if reply.usage else None,
        prompt_tokens=reply.usage.prompt_tokens if reply.usage else 0,
        completion_tokens=reply.usage.completion_tokens if reply.usage else 0,
        duration_ms=round(duration * 1000, 1), outcome=outcome, correlation_id=reply.correlation_id or None,
    )
    return reply, command, outcome


def _with_text(request: Request, text: str) -> Request:
    from dataclasses import replace

    return replace(request, text=text)


def _with_ops(reply: Reply, ops: list[str]) -> Reply:
    from dataclasses import replace

    return replace(reply, aws_operations=tuple(dict.fromkeys(ops)))
