"""The single error boundary: every request ends as a Reply, whatever happened.

Typed errors become a one-line explanation with a hint; anything else is a bug and becomes a short
correlation id that is also logged with the traceback (never shown to the user). One audit event per
request records who asked what, which AWS operations ran, the model, tokens, duration and outcome.
Admission (limits, routing, access, rate limits) runs first and can be called on its own by an edge
that wants to answer a denial privately before posting anything in the channel.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import structlog

from bot import calllog
from bot.errors import CloudOpsError, UserInputError
from bot.models import Fact, Reply, Request, Section
from bot.text.sanitize import clean_text
from handlers.guard import check_access, check_rate
from handlers.router import Route, resolve
from handlers.services import Services

log = structlog.get_logger("cloudops.audit")


def error_reply(exc: CloudOpsError) -> Reply:
    return Reply(title="Sorry, that didn't work", summary=exc.message[:500], hint=exc.hint, ok=False)


def scrub_reply(reply: Reply, services: Services) -> Reply:
    """Every text a reply shows, scrubbed once more on its way out (idempotent: already-redacted text stays).

    Handlers scrub what they gather, but a title quotes the user's question, an error message quotes AWS
    or the model endpoint, a note quotes an exception: this is the one place no such path can skip.
    """
    scrub = services.scrub

    def section(sec: Section) -> Section:
        facts = tuple(Fact(scrub(f.label), scrub(f.value)) for f in sec.facts)
        return replace(sec, title=scrub(sec.title), text=scrub(sec.text), facts=facts)

    return replace(reply, title=scrub(reply.title), summary=scrub(reply.summary), hint=scrub(reply.hint),
                   notes=tuple(scrub(n) for n in reply.notes), sections=tuple(section(s) for s in reply.sections))


def admit(request: Request, services: Services) -> tuple[Route, list[str]]:
    """Sanitise, check length, route, check access and rate limits; raises a typed error on refusal."""
    s = services.settings
    text = clean_text(request.text)
    route, args = resolve(replace(request, text=text))
    allowed = s.max_question_chars if route.uses_model or route.verb == "ask" else s.max_command_chars
    if len(text) > allowed:
        raise UserInputError(f"that is {len(text)} characters; the limit is {allowed}",
                             "shorten the command or question")
    check_access(request, route.access, s)
    check_rate(request, services.store, s, services.metrics)
    return route, args


def audit_denial(request: Request, exc: CloudOpsError, services: Services) -> None:
    """Edges that answer a refusal themselves still leave the audit trail."""
    log.info("request", request_id=request.request_id, source=request.source.value, user=request.user,
             channel=request.channel, command="unknown", text=services.scrub(request.text)[:200],
             aws_operations=[], outcome=exc.kind, reason=exc.message)


def handle(request: Request, services: Services,
           admitted: tuple[Route, list[str]] | None = None) -> tuple[Reply, str, str]:
    """Run one request; returns (reply, command label, outcome label) for the caller's metrics.

    ``admitted`` is the result of an earlier ``admit`` by the edge, so limits are not charged twice.
    """
    start = time.perf_counter()
    calls = calllog.start()
    command, outcome = "unknown", "ok"
    try:
        route, args = admitted or admit(request, services)
        command = route.verb
        reply = route.handler(replace(request, text=clean_text(request.text)), args, services)
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
    usage = reply.usage
    if usage is not None and services.budget is not None:
        services.budget.charge(request.user, usage.prompt_tokens + usage.completion_tokens, services.clock())
    ops = list(calls.operations)
    reply = replace(scrub_reply(reply, services), aws_operations=tuple(dict.fromkeys(ops)))
    log.info(
        "request", request_id=request.request_id, source=request.source.value, user=request.user,
        channel=request.channel, command=command, text=services.scrub(request.text)[:200],
        aws_operations=sorted(set(ops)), aws_calls=len(ops), model=usage.model if usage else None,
        prompt_tokens=usage.prompt_tokens if usage else 0, completion_tokens=usage.completion_tokens if usage else 0,
        duration_ms=round(duration * 1000, 1), aws_ms=round(calls.aws_s * 1000, 1),
        model_ms=round(calls.model_s * 1000, 1), outcome=outcome, correlation_id=reply.correlation_id or None,
    )
    return reply, command, outcome
