"""Reply → Slack messages (Block Kit + fallback text), escaped and split to Slack's limits.

Everything that came from AWS, the model or users goes through ``mrkdwn.untrusted`` (the same neutraliser
as streamed text): escaped (`&`, `<`, `>`), which stops a `<!channel>` in a log line from pinging anyone,
`@here`-style broadcasts and markdown links broken, URLs defanged; code blocks are only escaped (Slack
links nothing inside them). Limits: 50 blocks and 40,000 chars per message, 3,000
chars per section, 150 per header, 10 fields of 2,000. Long answers become several thread messages,
never a silent truncation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.models import Reply, Section
from bot.text.mrkdwn import code_block, escape, untrusted

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_MESSAGE_CHARS = 40000
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_FIELD = 2000
SAFE_SECTION = MAX_SECTION - 100  # headroom for the code fence and markers


@dataclass(frozen=True)
class SlackMessage:
    text: str  # notification / fallback text (escaped mrkdwn)
    blocks: list[dict[str, Any]]


def _plain(text: str, limit: int) -> dict[str, Any]:
    text = " ".join(text.split()) or " "
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…", "emoji": True}


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def split_text(text: str, limit: int) -> list[str]:
    """Split on line boundaries so each part is ≤ limit; a single huge line is split hard."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts


def _code_sections(raw: str) -> list[dict[str, Any]]:
    """Verbatim evidence in code blocks; split the *raw* text so escaping never pushes a block over 3,000."""
    blocks: list[dict[str, Any]] = []
    for part in split_text(raw, SAFE_SECTION // 2):
        fenced = code_block(part)
        while len(fenced) > MAX_SECTION:  # pathological '&'-heavy text: halve until it fits
            half = part[: len(part) // 2]
            blocks.append(_mrkdwn_section(code_block(half)))
            part = part[len(half):]
            fenced = code_block(part)
        blocks.append(_mrkdwn_section(fenced))
    return blocks


def section_blocks(sec: Section) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if sec.title:
        blocks.append(_mrkdwn_section(f"*{untrusted(sec.title)[:MAX_SECTION - 2]}*"))
    if sec.facts:
        for i in range(0, len(sec.facts), MAX_FIELDS):
            fields = [{"type": "mrkdwn", "text": f"*{untrusted(f.label)}*\n{untrusted(f.value)}"[:MAX_FIELD]}
                      for f in sec.facts[i:i + MAX_FIELDS]]
            blocks.append({"type": "section", "fields": fields})
    if sec.text:
        if sec.code:
            blocks += _code_sections(sec.text)
        else:
            # markdown=True sections were written by us; their untrusted parts were escaped by the handler.
            body = sec.text if sec.markdown else untrusted(sec.text)
            blocks += [_mrkdwn_section(p) for p in split_text(body, SAFE_SECTION)]
    return blocks


def reply_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(reply.title, MAX_HEADER)}]
    if not reply.ok:
        body = f":warning: {untrusted(reply.summary)}"
        if reply.hint:
            body += f"\n*Try:* {untrusted(reply.hint)}"
        blocks += [_mrkdwn_section(p) for p in split_text(body, SAFE_SECTION)]
    elif reply.summary:
        blocks += [_mrkdwn_section(p) for p in split_text(untrusted(reply.summary), SAFE_SECTION)]
    for sec in reply.sections:
        blocks += section_blocks(sec)
    context = [untrusted(n) for n in reply.notes]
    if reply.usage is not None:
        u = reply.usage
        context.append(f"model {escape(u.model)} · {u.prompt_tokens + u.completion_tokens:,} tokens · "
                       f"{u.calls} call(s)")
    elif reply.ok and not reply.model_used:
        context.append("evidence only (no model used)")
    if reply.aws_operations:
        context.append("AWS: " + escape(", ".join(reply.aws_operations)))
    if reply.correlation_id:
        context.append(f"correlation id `{escape(reply.correlation_id)}`")
    if context:
        elems = [{"type": "mrkdwn", "text": c[:MAX_SECTION]} for c in context[:10]]
        blocks.append({"type": "context", "elements": elems})
    return blocks


def _fallback(reply: Reply) -> str:
    head = untrusted(reply.title)
    body = untrusted(reply.summary)
    text = f"{head}\n{body}" if body else head
    return text[:3000]


def render(reply: Reply) -> list[SlackMessage]:
    """One or more messages for the thread, each within Slack's block and size limits."""
    blocks = reply_blocks(reply)
    messages: list[SlackMessage] = []
    current: list[dict[str, Any]] = []
    size = 0
    for block in blocks:
        bsize = len(str(block))
        if current and (len(current) >= MAX_BLOCKS or size + bsize > MAX_MESSAGE_CHARS - 4000):
            messages.append(SlackMessage("", current))
            current, size = [], 0
        current.append(block)
        size += bsize
    if current:
        messages.append(SlackMessage("", current))
    total = len(messages)
    fallback = _fallback(reply)
    return [
        SlackMessage(fallback if i == 0 else f"{escape(reply.title)[:200]} (part {i + 1}/{total})", m.blocks)
        for i, m in enumerate(messages)
    ]
