"""`ask <question>` and every mention: the model with read-only tools, or evidence alone without one."""

from __future__ import annotations

from bot.aws import cloudwatch, ec2
from bot.errors import ModelError, UserInputError
from bot.llm.loop import run_tool_loop
from bot.models import Reply, Request, Section
from handlers.alarms import alarm_line
from handlers.services import Services
from handlers.status import _line, problems
from handlers.summarize import NO_MODEL_NOTE, system_prompt
from handlers.toolbox import build_tools


def handle_ask(request: Request, args: list[str], services: Services) -> Reply:
    question = " ".join(args).strip()
    if not question:
        raise UserInputError("what would you like to know?", "e.g. `@CloudOps why is checkout returning 502s?`")
    if len(question) > services.settings.max_question_chars:
        raise UserInputError(f"the question is longer than {services.settings.max_question_chars} characters",
                             "shorten it, or split it into several questions")
    if services.llm is None:
        return _evidence_only(request, question, services, NO_MODEL_NOTE)
    blocked = services.model_block_reason(request.user)
    if blocked:
        return _evidence_only(request, question, services, blocked)
    history = "\n".join(f"{m.author}: {m.text}" for m in request.history)
    aliases = ", ".join(f"{k}={v}" for k, v in services.settings.log_aliases.items())
    messages = [
        {"role": "system", "content": system_prompt(services, tools=True)},
        {"role": "user", "content": services.prompts.render(
            "ask", question=services.scrub(question), history=services.scrub(history), aliases=aliases)},
    ]
    s = services.settings
    try:
        result = run_tool_loop(
            services.llm, messages, build_tools(services), max_steps=s.llm_max_steps,
            result_chars=s.llm_tool_result_chars,
            force_answer=services.prompts.render("force_answer", steps=s.llm_max_steps),
            scrub=services.scrub, pool=services.tool_pool,
        )
    except ModelError as exc:
        note = f"The model failed ({exc.message}); showing the AWS evidence only. {exc.hint}".strip()
        return _evidence_only(request, question, services, note)
    sections = (Section(title="How I checked", text="\n".join(result.tool_log)),) if result.tool_log else ()
    answer = services.scrub(result.answer) or "The model returned an empty answer."
    sent = "\n\n".join(f"[{m['role']}]\n{m.get('content') or m.get('tool_calls')}" for m in messages)
    return Reply(title=f"Q: {_short(question)}", summary=answer, sections=sections, model_used=True,
                 usage=result.usage, evidence="\n".join(result.tool_log), prompt=sent)


def _evidence_only(request: Request, question: str, services: Services, note: str) -> Reply:
    """Without a model we can't reason, but we can show what an engineer would look at first."""
    got = services.parallel.run({
        "alarms": lambda: cloudwatch.describe_alarms(services.aws, "ALARM"),
        "instances": lambda: ec2.describe_instances(services.aws),
        "health": lambda: ec2.instance_health(services.aws),
    })
    sections: list[Section] = []
    summary_parts: list[str] = []
    alarms = got["alarms"]
    if isinstance(alarms, list):
        text = "\n".join(alarm_line(a, services) for a in alarms) or "none"
        sections.append(Section(title=f"Alarms firing now ({len(alarms)})", text=text, code=True))
        summary_parts.append(f"{len(alarms)} alarm(s) firing" + (": " + ", ".join(a.name for a in alarms[:5])
                                                                  if alarms else ""))
    instances, health = got["instances"], got["health"]
    if isinstance(instances, list):
        health = health if isinstance(health, dict) else {}
        bad = [i for i in instances if problems(i, health.get(i.instance_id))]
        text = "\n".join(services.scrub(_line(i, health.get(i.instance_id), services)) for i in bad) or "none"
        sections.append(Section(title=f"Instances needing attention ({len(bad)} of {len(instances)})",
                                text=text, code=True))
        summary_parts.append(f"{len(bad)} of {len(instances)} instances need attention")
    failed = [k for k, v in got.items() if isinstance(v, Exception)]
    notes = (note,) + ((f"Could not read: {', '.join(failed)}.",) if failed else ())
    summary = ("I can't reason about the question without a model, but here is the current state: "
               + "; ".join(summary_parts) + ". Try `/cloudops logs <group> errors 30m` for log evidence.")
    return Reply(title=f"Q: {_short(question)}", summary=services.scrub(summary), sections=tuple(sections),
                 notes=notes, evidence="\n\n".join(s.text for s in sections))


def _short(text: str, limit: int = 120) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
