"""`ask <question>` and every mention: the model with read-only tools, or evidence alone without one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.aws import cloudwatch, ec2
from bot.aws.accounts import Target
from bot.aws.changes import Change
from bot.aws.records import Alarm, InstanceHealth
from bot.errors import ModelError, UserInputError
from bot.llm.loop import run_tool_loop
from bot.models import Reply, Request, Section
from handlers.alarms import alarm_line
from handlers.capability import Access, Capability
from handlers.changes import before, change_line, changes_for_alarms
from handlers.incident import log_groups_for
from handlers.scope import fleet_targets, gather, labelled, split_scope
from handlers.services import Services
from handlers.status import instance_line, problems
from handlers.summarize import NO_MODEL_NOTE, system_prompt
from handlers.toolbox import build_tools


def capability(sources: Sequence[Capability]) -> Capability:
    """The ``ask`` entry: the model over every tool the other capabilities offer."""
    offered = tuple(sources)
    actions = tuple(sorted({a for c in offered for a in c.aws_actions}))

    def handler(request: Request, args: list[str], services: Services) -> Reply:
        return handle_ask(request, args, services, offered)

    return Capability(verb="ask", usage="ask <question>",
                      summary="ask anything; the model uses the read-only tools above", handler=handler,
                      access=Access.MODEL, prompt="ask", aws_actions=actions, order=90,
                      free_text=True, gatherers=tuple(g for c in offered for g in c.gatherers))


def handle_ask(request: Request, args: list[str], services: Services, sources: Sequence[Capability]) -> Reply:
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
            services.llm, messages, build_tools(services, request, sources), max_steps=s.llm_max_steps,
            result_chars=s.llm_tool_result_chars,
            force_answer=services.prompts.render("force_answer", steps=s.llm_max_steps),
            scrub=services.scrub, pool=services.tool_pool, max_calls=s.llm_max_tool_calls,
        )
    except ModelError as exc:
        note = f"The model failed ({exc.message}); showing the AWS evidence only. {exc.hint}".strip()
        return _evidence_only(request, question, services, note)
    sections = (Section(title="How I checked", text="\n".join(result.tool_log)),) if result.tool_log else ()
    answer = services.scrub(result.answer) or "The model returned an empty answer."
    sent = "\n\n".join(f"[{m['role']}]\n{m.get('content') or m.get('tool_calls')}" for m in messages)
    return Reply(title=f"Q: {_short(question)}", summary=answer, sections=sections, model_used=True,
                 usage=result.usage, evidence="\n".join(result.tool_log), prompt=sent,
                 prompts=tuple(services.prompts.get(name).ref for name in ("system", "ask")))


def _evidence_only(request: Request, question: str, services: Services, note: str) -> Reply:
    """Without a model we can't reason, but we can show what an engineer would look at first."""
    targets = fleet_targets(split_scope([], request, services)[1], services)
    def per_target_state(svc: Services) -> dict[str, Any]:
        got = svc.parallel.run({
            "alarms": lambda: cloudwatch.describe_alarms(svc.aws, "ALARM"),
            "instances": lambda: ec2.describe_instances(svc.aws),
            "health": lambda: ec2.instance_health(svc.aws),
        })
        firing = got["alarms"]
        if isinstance(firing, list) and firing:  # what changed before each firing alarm's breach
            got.update(svc.parallel.run({"changes": lambda: changes_for_alarms(
                svc, firing, lambda a: log_groups_for(a, svc))}))
        return got

    per_target, unread = gather(targets, services, per_target_state)
    label = labelled(services, targets)

    def tag(t: Target) -> str:
        return f"[{t.label}] " if label else ""

    sections: list[Section] = []
    summary_parts: list[str] = []
    got = {k: [v for t in sorted(per_target) for v in _listed(per_target[t][k], t)] for k in ("alarms", "instances")}
    alarms = [a for t, a in got["alarms"]]
    if any(isinstance(per_target[t]["alarms"], list) for t in per_target):
        text = "\n".join(tag(t) + alarm_line(a, services) for t, a in got["alarms"]) or "none"
        sections.append(Section(title=f"Alarms firing now ({len(alarms)})", text=text, code=True))
        summary_parts.append(f"{len(alarms)} alarm(s) firing" + (": " + ", ".join(a.name for a in alarms[:5])
                                                                  if alarms else ""))
    if any(isinstance(per_target[t]["instances"], list) for t in per_target):
        def health_of(t: Target) -> dict[str, InstanceHealth]:
            h = per_target[t]["health"]
            return h if isinstance(h, dict) else {}

        rows = [(t, i, health_of(t).get(i.instance_id)) for t, i in got["instances"]]
        bad = [(t, i, h) for t, i, h in rows if problems(i, h)]
        text = "\n".join(services.scrub(tag(t) + instance_line(i, h, services)) for t, i, h in bad) or "none"
        sections.append(Section(title=f"Instances needing attention ({len(bad)} of {len(rows)})",
                                text=text, code=True))
        summary_parts.append(f"{len(bad)} of {len(rows)} instances need attention")
    changed = [(t, *acb) for t in sorted(per_target) for acb in _changes_of(per_target[t])]
    if changed:
        changed.sort(key=lambda tacb: tacb[3] - tacb[2].when)
        now = services.clock()
        text = "\n".join(services.scrub(f"{tag(t)}{a.name}: {change_line(c, now, breach=b, resource=True)}")
                         for t, a, c, b in changed)
        sections.insert(0, Section(title=f"Changes before the firing alarms' breaches ({len(changed)}), nearest first",
                                   text=text, code=True))
        _, alarm, first, breach = changed[0]
        summary_parts.insert(0, f"the nearest change before {alarm.name} fired: {first.what} on {first.resource} by "
                                f"{first.who}, {before(first.when, breach)} the breach")
    change_notes = [n for t in sorted(per_target) for n in _change_notes(per_target[t])]
    failed = sorted({k for t in per_target for k, v in per_target[t].items() if isinstance(v, Exception)})
    notes = ((note,) + ((f"Could not read: {', '.join(failed)}.",) if failed else ()) + tuple(unread)
             + tuple(dict.fromkeys(change_notes)))
    summary = ("I can't reason about the question without a model, but here is the current state: "
               + "; ".join(summary_parts) + ". Try `/cloudops logs <group> errors 30m` for log evidence.")
    return Reply(title=f"Q: {_short(question)}", summary=services.scrub(summary), sections=tuple(sections),
                 notes=notes, evidence="\n\n".join(s.text for s in sections))


def _changes_of(got: dict[str, Any]) -> list[tuple[Alarm, Change, datetime]]:
    value = got.get("changes")
    return value[0] if isinstance(value, tuple) else []


def _change_notes(got: dict[str, Any]) -> list[str]:
    value = got.get("changes")
    return list(value[1]) if isinstance(value, tuple) else []


def _listed(value: object, target: Target) -> list[tuple[Target, Any]]:
    return [(target, v) for v in value] if isinstance(value, list) else []


def _short(text: str, limit: int = 120) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
