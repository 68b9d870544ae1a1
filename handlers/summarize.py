"""Ending every evidence-gathering handler the same way: model summary, or evidence-only, said plainly."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.errors import ModelError
from bot.models import Reply, Request, Section, Usage
from bot.progress import report
from handlers.services import Services

NO_MODEL_NOTE = "No model configured (OPENAI_API_KEY is not set): this answer is built from the AWS evidence alone."


def system_prompt(services: Services, *, tools: bool) -> str:
    now = services.clock().strftime("%Y-%m-%d %H:%M")
    return services.prompts.render("system", now=now, region=scope_text(services), model_tools=tools)


def scope_text(services: Services) -> str:
    """What the model is told about where it looks: one region, or each account with its regions."""
    accounts = services.accounts
    if accounts is None or not accounts.configured:
        return f"region {services.aws.region}"
    parts = [f"{name} ({', '.join(accounts.regions(name))})" for name in accounts.specs]
    return (f"accounts {'; '.join(parts)}; default {accounts.default_account}. Facts are labelled "
            "account/region; always say which account and region a fact comes from")


def finish(
    services: Services,
    request: Request,
    *,
    title: str,
    sections: tuple[Section, ...],
    evidence: str,
    fallback: str,
    prompt: str,
    values: dict[str, Any],
    notes: tuple[str, ...] = (),
) -> Reply:
    """Build the reply; ask the model for a summary of ``evidence`` when one is configured.

    ``evidence`` is already scrubbed. When the model fails, AWS still worked, so the user gets the
    evidence and one line saying what failed.
    """
    reply = Reply(title=title, sections=sections, summary=fallback, notes=notes, evidence=evidence)
    llm = services.llm
    if llm is None:
        return replace(reply, notes=(*notes, NO_MODEL_NOTE))
    blocked = services.model_block_reason(request.user)
    if blocked:
        return replace(reply, notes=(*notes, blocked))
    messages = [
        {"role": "system", "content": system_prompt(services, tools=False)},
        {"role": "user", "content": services.prompts.render(prompt, evidence=evidence, **values)},
    ]
    report("Asking the model for a summary…")
    try:
        completion = llm.complete(messages)
    except ModelError as exc:
        note = f"The model failed ({exc.message}); showing the AWS evidence only. {exc.hint}".strip()
        return replace(reply, notes=(*notes, note))
    usage = Usage(llm.model, completion.prompt_tokens, completion.completion_tokens, 1)
    summary = services.scrub(completion.content).strip() or fallback
    sent = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
    return replace(reply, summary=summary, model_used=True, usage=usage, prompt=sent,
                   prompts=(services.prompts.get("system").ref, services.prompts.get(prompt).ref))
