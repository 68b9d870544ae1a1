"""The single error boundary and the one place requests are accounted.

Typed errors become a one-line explanation with a hint; anything else is a bug and becomes a short
correlation id that is also logged with the traceback (never shown to the user). Every request, from
Slack, the sidecar (/query and /logs) or the CLI, is accounted here once: the in-flight gauge, the
request counter and duration histogram, and one audit event (who asked what, which AWS operations ran,
the model, its prompt versions, tokens, duration and outcome). Admission (limits, routing, access, rate
limits) runs first and can be called on its own by an edge that wants to answer a denial privately
before posting anything in the channel; ``refuse`` then accounts that request.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import structlog

from bot import calllog, deadline
from bot.aws import loggroups
from bot.errors import CloudOpsError, UserInputError
from bot.models import Fact, Reply, Request, Section, Usage
from bot.text.sanitize import clean_text
from handlers.actions import proposals
from handlers.capability import Capability
from handlers.guard import check_access, check_rate
from handlers.router import resolve
from handlers.services import Services

log = structlog.get_logger("cloudops.audit")
Admitted = tuple[Capability, list[str]]


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


def admit(request: Request, services: Services) -> Admitted:
    """Sanitise, check length, route, check access and rate limits; raises a typed error on refusal."""
    s = services.settings
    text = clean_text(request.text)
    capability, args = resolve(replace(request, text=text))
    allowed = s.max_question_chars if capability.uses_model else s.max_command_chars
    if len(text) > allowed:
        raise UserInputError(f"that is {len(text)} characters; the limit is {allowed}",
                             "shorten the command or question")
    permit(request, capability, services)
    return capability, args


def permit(request: Request, capability: Capability, services: Services) -> None:
    """Access and rate limits for ``capability``: for edges that run a capability's gatherer directly."""
    check_access(request, capability.access, services.settings)
    check_rate(request, services.store, services.settings, services.metrics)


@dataclass
class Ledger:
    """What the audit event and the metrics say about one request; filled in while it runs."""

    command: str = "unknown"
    outcome: str = "ok"
    reason: str = ""
    usage: Usage | None = None
    prompts: tuple[str, ...] = ()
    correlation_id: str = ""


@contextmanager
def accounted(request: Request, services: Services) -> Iterator[Ledger]:
    """Account one request: metrics and its one audit event, whatever happens inside.

    A ``CloudOpsError`` escaping the block sets the outcome to its kind; anything else to ``internal``.
    """
    start = time.perf_counter()
    calls = calllog.start()
    ledger = Ledger()
    metrics = services.metrics
    metrics.in_flight.inc()
    try:
        yield ledger
    except CloudOpsError as exc:
        ledger.outcome, ledger.reason = exc.kind, exc.message
        raise
    except BaseException:
        ledger.outcome = "internal"
        raise
    finally:
        duration = time.perf_counter() - start
        metrics.in_flight.dec()
        kind = request.source.value
        metrics.requests.labels(kind, ledger.command, ledger.outcome).inc()
        metrics.request_seconds.labels(kind, ledger.command).observe(duration)
        ops = list(calls.operations)
        usage = ledger.usage
        log.info(
            "request", request_id=request.request_id, source=kind, user=request.user,
            channel=request.channel, command=ledger.command, text=services.scrub(request.text)[:200],
            aws_operations=sorted(set(ops)), aws_calls=len(ops), model=usage.model if usage else None,
            prompts=list(ledger.prompts), prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            duration_ms=round(duration * 1000, 1), aws_ms=round(calls.aws_s * 1000, 1),
            model_ms=round(calls.model_s * 1000, 1), outcome=ledger.outcome,
            correlation_id=ledger.correlation_id or None, **({"reason": ledger.reason} if ledger.reason else {}),
        )


def refuse(request: Request, exc: CloudOpsError, services: Services) -> None:
    """An edge answered a refusal itself (privately): the request is still accounted, once."""
    with accounted(request, services) as ledger:
        ledger.outcome, ledger.reason = exc.kind, exc.message


def audit_denial(request: Request, exc: CloudOpsError, services: Services) -> None:
    """A refused button click (counted by the edge's action metric): the audit line alone."""
    log.info("request", request_id=request.request_id, source=request.source.value, user=request.user,
             channel=request.channel, command="unknown", text=services.scrub(request.text)[:200],
             aws_operations=[], outcome=exc.kind, reason=exc.message)


def handle(request: Request, services: Services, admitted: Admitted | None = None,
           deliver: Callable[[Reply, str], None] | None = None) -> tuple[Reply, str, str]:
    """Run one request; returns (reply, command label, outcome label).

    ``admitted`` is the result of an earlier ``admit`` by the edge, so limits are not charged twice.
    ``deliver`` (the Slack edge posting the reply) runs inside the accounting, so the duration is the
    user's wait.
    """
    with accounted(request, services) as ledger:
        reply = _run(request, services, admitted, ledger)
        usage = reply.usage
        if usage is not None and services.budget is not None:
            services.budget.charge(request.user, usage.prompt_tokens + usage.completion_tokens, services.clock())
        ledger.usage, ledger.prompts, ledger.correlation_id = usage, reply.prompts, reply.correlation_id
        current = calllog.current()
        ops = list(current.operations) if current is not None else []
        reply = replace(scrub_reply(reply, services), aws_operations=tuple(dict.fromkeys(ops)))
        if deliver is not None:
            deliver(reply, ledger.command)
    return reply, ledger.command, ledger.outcome


def _run(request: Request, services: Services, admitted: Admitted | None, ledger: Ledger) -> Reply:
    until = deadline.start(services.settings.request_deadline_s)
    where = loggroups.bind_channel(request.channel)
    try:
        capability, args = admitted or admit(request, services)
        ledger.command = capability.verb
        made = proposals.collect()  # proposals this request makes (do, or the model's propose_action)
        reply = capability.handler(replace(request, text=clean_text(request.text)), args, services)
        return replace(reply, proposals=tuple(made)) if made else reply
    except CloudOpsError as exc:
        ledger.outcome, ledger.reason = exc.kind, exc.message
        return error_reply(exc)
    except Exception:
        ledger.outcome = "internal"
        cid = uuid.uuid4().hex[:8]
        log.exception("unexpected_error", correlation_id=cid, request_id=request.request_id)
        return Reply(title="Sorry, something went wrong on my side", ok=False, correlation_id=cid,
                     summary="An unexpected error stopped this request.",
                     hint=f"try again; if it keeps failing, give the bot's operator the id {cid}")
    finally:
        deadline.stop(until)
        loggroups.unbind_channel(where)
