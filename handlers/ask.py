"""`ask <question>` and every mention: triage first (one round of evidence, no model), then the model over
that bundle with read-only tools for what it lacks; without a model, the bundle and the bot's heuristics."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.errors import ModelError, UserInputError
from bot.llm.client import ModelClient
from bot.llm.loop import LoopResult, run_tool_loop
from bot.models import Reply, Request, Section, Usage
from bot.progress import answer_discard
from handlers.capability import Access, Capability
from handlers.scope import split_scope
from handlers.services import Services
from handlers.summarize import NO_MODEL_NOTE, system_prompt
from handlers.toolbox import build_tools
from handlers.triage.citations import invented_ids
from handlers.triage.plan import Bundle, gather_bundle
from handlers.triage.reply import checked, evidence_reply

# An answer that is a tool call written out as text (small models do this) is no answer.
_CALL_AS_TEXT = re.compile(r'^\s*(?:```\w*\s*)?[\[{]\s*"(?:name|function|tool|tool_calls|arguments)"', re.IGNORECASE)


def capability(sources: Sequence[Capability]) -> Capability:
    """The ``ask`` entry: the model over every tool the other capabilities offer."""
    offered = tuple(sources)
    actions = tuple(sorted({a for c in offered for a in c.aws_actions}))

    def handler(request: Request, args: list[str], services: Services) -> Reply:
        return handle_ask(request, args, services, offered)

    return Capability(verb="ask", usage="ask <question>",
                      summary="ask anything: the evidence it implies is gathered first, then the model reasons over it",
                      handler=handler,
                      access=Access.MODEL, prompt="ask", aws_actions=actions, order=90,
                      free_text=True, gatherers=tuple(g for c in offered for g in c.gatherers))


def handle_ask(request: Request, args: list[str], services: Services, sources: Sequence[Capability]) -> Reply:
    question = " ".join(args).strip()
    if not question:
        raise UserInputError("what would you like to know?", "e.g. `@CloudOps why is checkout returning 502s?`")
    if len(question) > services.settings.max_question_chars:
        raise UserInputError(f"the question is longer than {services.settings.max_question_chars} characters",
                             "shorten it, or split it into several questions")
    _, scope = split_scope([], request, services)
    bundle = gather_bundle(services.scrub(question), request, services, sources, scope)
    title = f"Q: {_short(question)}"
    llm = services.llm
    if llm is None:
        return evidence_reply(bundle, title, services, NO_MODEL_NOTE)
    blocked = services.model_block_reason(request.user)
    if blocked:
        return evidence_reply(bundle, title, services, blocked)
    return _model_answer(request, question, services, llm, sources, bundle)


def _model_answer(request: Request, question: str, services: Services, llm: ModelClient,
                  sources: Sequence[Capability], bundle: Bundle) -> Reply:
    s = services.settings
    tooled = s.llm_tools != "off"
    history = "\n".join(f"{m.author}: {m.text}" for m in request.history)
    aliases = ", ".join(f"{k}={v}" for k, v in s.log_aliases.items())
    evidence = bundle.render(s.triage_bundle_chars)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system_prompt(services, tools=tooled)},
        {"role": "user", "content": services.prompts.render(
            "ask", question=services.scrub(question), history=services.scrub(history), aliases=aliases,
            evidence=evidence, tools=tooled)},
    ]
    title = f"Q: {_short(question)}"
    tools = build_tools(services, request, sources) if tooled else []
    try:
        result = run_tool_loop(
            llm, messages, tools, max_steps=s.llm_max_steps if tooled else 1,
            result_chars=s.llm_tool_result_chars,
            force_answer=services.prompts.render("force_answer", steps=s.llm_max_steps),
            scrub=services.scrub, pool=services.tool_pool, max_calls=s.llm_max_tool_calls,
            strict=s.llm_tools == "auto",
            stop_tools=lambda reason: services.prompts.render("tools_off", reason=reason),
        ) if tooled else _one_call(llm, messages)
        if s.llm_tools != "on" and _not_an_answer(result.answer):
            result = _retry_in_prose(llm, services, messages, result)
    except ModelError as exc:
        note = f"The model failed ({exc.message}); showing the AWS evidence only. {exc.hint}".strip()
        return evidence_reply(bundle, title, services, note)
    if _not_an_answer(result.answer):
        note = "The model gave no usable answer (empty, or a tool call written as text); showing the evidence."
        return evidence_reply(bundle, title, services, note)
    answer = services.scrub(result.answer)
    seen = evidence + "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "tool")
    invented = invented_ids(answer, bundle.known, seen)
    notes: tuple[str, ...] = tuple(bundle.notes)
    if invented:
        notes += (f"⚠ The answer names ids the bot did not see in AWS: {', '.join(invented[:6])}. Treat them as "
                  "unverified.",)
    if result.stopped:
        notes += (f"Tool use ended early ({result.stopped}); the answer rests on the evidence gathered first.",)
    how = [checked(bundle), *result.tool_log]
    if result.calls:
        how.append(f"model tool calls: {result.calls} ({result.bad_calls} malformed)")
    sent = "\n\n".join(f"[{m['role']}]\n{m.get('content') or m.get('tool_calls')}" for m in messages)
    return Reply(title=title, summary=answer, sections=(Section(title="How I checked", text="\n".join(how)),),
                 notes=notes, model_used=True, usage=result.usage,
                 evidence=bundle.evidence_text() + "\n\n" + "\n".join(result.tool_log), prompt=sent,
                 prompts=tuple(services.prompts.get(name).ref for name in ("system", "ask")))


def _one_call(llm: ModelClient, messages: list[dict[str, Any]]) -> LoopResult:
    """Tools off: one request over the bundle, no tool schemas sent."""
    completion = llm.complete(messages)
    return LoopResult(completion.content.strip(), Usage(llm.model, completion.prompt_tokens,
                                                        completion.completion_tokens, 1))


def _retry_in_prose(llm: ModelClient, services: Services, messages: list[dict[str, Any]],
                    first: LoopResult) -> LoopResult:
    """A small model that wrote its tool call as text gets one more request, without tools, asking for prose."""
    answer_discard()  # what was streamed of the unusable reply is not the answer
    messages.append({"role": "assistant", "content": first.answer or ""})
    messages.append({"role": "user", "content": services.prompts.render(
        "tools_off", reason="the reply was a tool call written as text, or empty")})
    completion = llm.complete(messages)
    u = first.usage
    usage = Usage(u.model, u.prompt_tokens + completion.prompt_tokens,
                  u.completion_tokens + completion.completion_tokens, u.calls + 1)
    return LoopResult(completion.content.strip(), usage, first.tool_log, first.calls, first.bad_calls,
                      first.stopped or "the reply was not prose")


def _not_an_answer(text: str) -> bool:
    return not text.strip() or bool(_CALL_AS_TEXT.match(text))


def _short(text: str, limit: int = 120) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
