"""The bounded tool-calling loop: ask, run the tools the model picks, feed results back, repeat.

The last step withholds tools and tells the model to answer, so a model that keeps calling tools
still ends with an answer (HolmesGPT's step cap, adapted). Every tool result is cleaned by the caller's
``scrub`` (redaction) and cut to a budget before it leaves the process.

``strict`` (small-model mode, ``CLOUDOPS_LLM_TOOLS=auto``): a malformed call (unknown tool, arguments that
are not valid JSON or miss the schema) is reported back once; a second one, or a step that only repeats
calls already made, ends tool use and the model is told (``stop_tools``) to answer from what it has.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.llm.client import ModelClient
from bot.llm.tools import ToolSpec
from bot.models import Usage
from bot.progress import report


@dataclass
class LoopResult:
    answer: str
    usage: Usage
    tool_log: list[str] = field(default_factory=list)  # "get_alarms({...}) -> 1.2 kB" lines for evidence
    calls: int = 0  # tool calls the model asked for
    bad_calls: int = 0  # of which unknown tools or malformed arguments
    stopped: str = ""  # why tool use was ended early (strict mode), empty otherwise


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [cut: {len(text) - limit} more chars; ask a narrower question]"


def run_tool_loop(
    llm: ModelClient,
    messages: list[dict[str, Any]],
    tools: Sequence[ToolSpec],
    *,
    max_steps: int,
    result_chars: int,
    force_answer: str,
    scrub: Callable[[str], str],
    pool: ThreadPoolExecutor | None = None,
    max_calls: int = 8,
    strict: bool = False,
    stop_tools: Callable[[str], str] | None = None,
) -> LoopResult:
    """``max_calls`` bounds the tool calls run per step: the model may ask for 60 log searches at once,
    and their results would make the next request huge. Calls past the cap are answered with a refusal
    (every call id needs a tool message) so the model knows to ask for fewer, in a later step."""
    by_name = {t.name: t for t in tools}
    schemas = [t.schema() for t in tools]
    prompt_tokens = completion_tokens = 0
    tool_log: list[str] = []
    seen: set[tuple[str, str]] = set()
    calls = bad = 0
    stop = ""
    for step in range(1, max_steps + 1):
        last = step == max_steps or bool(stop)
        if step == max_steps and not stop:
            messages.append({"role": "user", "content": force_answer})
        elif stop:
            messages.append({"role": "user", "content": stop_tools(stop) if stop_tools else force_answer})
        completion = llm.complete(messages, tools=schemas or None, tool_choice="none" if last else None)
        prompt_tokens += completion.prompt_tokens
        completion_tokens += completion.completion_tokens
        if not completion.tool_calls or last:
            usage = Usage(llm.model, prompt_tokens, completion_tokens, step)
            return LoopResult(completion.content.strip(), usage, tool_log, calls, bad, stop)
        step_bad = [c for c in completion.tool_calls if c.name not in by_name or by_name[c.name].parse(c.arguments)[1]]
        keys = [(c.name, _canonical(c.arguments)) for c in completion.tool_calls]
        repeated = all(k in seen for k in keys)
        seen.update(keys)
        calls += len(completion.tool_calls)
        if strict and step_bad and bad:
            stop = "a second malformed tool call"
        elif strict and repeated:
            stop = "the same tool calls again (a loop)"
        bad += len(step_bad)
        messages.append({
            "role": "assistant",
            "content": completion.content or None,
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in completion.tool_calls
            ],
        })

        def run(call_name: str, arguments: str) -> str:
            report(f"Running {call_name}…")
            tool = by_name.get(call_name)
            if tool is None:
                return f"error: no tool named {call_name!r}; available: {', '.join(sorted(by_name))}"
            return tool.invoke(arguments)

        allowed, refused = completion.tool_calls[:max_calls], completion.tool_calls[max_calls:]
        if pool is not None and len(allowed) > 1:
            # copy_context: the request's AWS-operation recorder and progress sink follow each tool call
            futures = [pool.submit(contextvars.copy_context().run, run, c.name, c.arguments) for c in allowed]
            results = [f.result() for f in futures]
        else:
            results = [run(c.name, c.arguments) for c in allowed]
        results += [f"refused: at most {max_calls} tool calls are run per step and this was call "
                    f"{i} of {len(completion.tool_calls)}; it was not run. Ask for it again in the next step "
                    "only if you still need it." for i in range(max_calls + 1, len(completion.tool_calls) + 1)]
        if refused:
            tool_log.append(f"{len(refused)} more tool call(s) refused (limit {max_calls} per step)")
        report("Reading the tool results…")
        for c, result in zip(completion.tool_calls, results, strict=True):
            clean = cut(scrub(result), result_chars)
            outcome = clean[:100] if clean.startswith("error:") else f"{len(clean)} chars"
            tool_log.append(f"{c.name[:40]}({_short_args(c.arguments)}) → {outcome}")
            messages.append({"role": "tool", "tool_call_id": c.id, "content": clean})
    raise AssertionError("unreachable: the last step always returns")  # pragma: no cover


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments or "{}"), sort_keys=True)
    except json.JSONDecodeError:
        return arguments


def _short_args(arguments: str) -> str:
    try:
        args = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return "invalid JSON"
    if not isinstance(args, dict):
        return "?"
    return ", ".join(f"{k}={str(v)[:40]}" for k, v in args.items())
