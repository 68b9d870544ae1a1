"""Plain-text rendering of Block Kit and threads, for the terminal demo and for readable test failures.

Slack shows ``blocks`` when a message has them and ``text`` only as the notification
fallback, so rendering follows the blocks: a test asserting on this output asserts on
what a user would actually read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def _plain(obj: Any) -> str:
    """Text of a text object (plain_text/mrkdwn) or a bare string."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return ""


def _element(el: dict[str, Any]) -> str:
    """Interactive or context elements as a user would spot them in the client."""
    kind = el.get("type")
    if kind == "image":
        return f"[image: {el.get('alt_text', '')}]"
    if kind in ("plain_text", "mrkdwn"):
        return str(el.get("text", ""))
    if kind in ("button", "workflow_button"):
        return f"[{_plain(el.get('text'))}]"
    if kind in ("static_select", "external_select", "users_select", "conversations_select", "channels_select"):
        return f"[{_plain(el.get('placeholder')) or 'Select'} ▾]"
    if kind == "overflow":
        return "[…]"
    if kind in ("datepicker", "timepicker", "datetimepicker"):
        return f"[{kind}]"
    return f"[{kind}]"


def _rich_inline(el: dict[str, Any]) -> str:
    kind = el.get("type")
    if kind == "text":
        return str(el.get("text", ""))
    if kind == "user":
        return f"<@{el.get('user_id', '')}>"
    if kind == "channel":
        return f"<#{el.get('channel_id', '')}>"
    if kind == "usergroup":
        return f"<!subteam^{el.get('usergroup_id', '')}>"
    if kind == "broadcast":
        return f"@{el.get('range', 'here')}"
    if kind == "emoji":
        return f":{el.get('name', '')}:"
    if kind == "link":
        return str(el.get("text") or el.get("url", ""))
    if kind == "date":
        return str(el.get("fallback", el.get("timestamp", "")))
    return ""


def _rich_text(block: dict[str, Any]) -> str:
    parts: list[str] = []
    for el in block.get("elements") or []:
        kind = el.get("type")
        inner = [_rich_inline(e) for e in el.get("elements") or []]
        if kind == "rich_text_section":
            parts.append("".join(inner))
        elif kind == "rich_text_preformatted":
            parts.append("```\n" + "".join(inner) + "\n```")
        elif kind == "rich_text_quote":
            parts.append("\n".join("> " + line for line in "".join(inner).splitlines() or [""]))
        elif kind == "rich_text_list":
            ordered = el.get("style") == "ordered"
            indent = "  " * int(el.get("indent", 0))
            for i, item in enumerate(el.get("elements") or [], start=1):
                bullet = f"{i}." if ordered else "•"
                text = "".join(_rich_inline(e) for e in item.get("elements") or [])
                parts.append(f"{indent}{bullet} {text}")
    return "\n".join(parts)


def _block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return _plain(block.get("text")).upper()
    if kind == "section":
        lines = [_plain(block.get("text"))] if block.get("text") else []
        lines += [_plain(f) for f in block.get("fields") or []]
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            lines.append(_element(accessory))
        return "\n".join(line for line in lines if line)
    if kind == "context":
        return " ".join(_element(e) for e in block.get("elements") or [])
    if kind == "divider":
        return "─" * 40
    if kind == "rich_text":
        return _rich_text(block)
    if kind == "actions":
        return " ".join(_element(e) for e in block.get("elements") or [])
    if kind == "image":
        return f"[image: {block.get('alt_text', '')}]"
    if kind == "markdown":
        return str(block.get("text", ""))
    if kind == "input":
        return f"{_plain(block.get('label'))}: {_element(block.get('element') or {})}"
    if kind == "video":
        return f"[video: {_plain(block.get('title'))}]"
    if kind == "file":
        return "[file]"
    return f"[{kind}]"


def blocks_to_text(blocks: list[dict[str, Any]]) -> str:
    """Render Block Kit as the text a reader takes in, one block per line group."""
    return "\n".join(text for text in (_block(b) for b in blocks if isinstance(b, dict)) if text)


def message_text(msg: Mapping[str, Any]) -> str:
    """What the client shows for a message: its blocks if any, else its text, plus attached files."""
    blocks = msg.get("blocks")
    body = blocks_to_text(blocks) if isinstance(blocks, list) and blocks else str(msg.get("text", ""))
    for f in msg.get("files") or []:
        body += f"\n[file: {f.get('title') or f.get('name', '')}]"
    return body.strip("\n")


def _author(msg: Mapping[str, Any], names: Mapping[str, str]) -> str:
    if msg.get("bot_id"):
        profile = msg.get("bot_profile") or {}
        return str(msg.get("username") or profile.get("name") or names.get(str(msg.get("user")), "bot"))
    user = str(msg.get("user", "?"))
    return names.get(user, user)


def _clock(ts: str) -> str:
    try:
        return dt.datetime.fromtimestamp(float(ts)).strftime("%H:%M:%S")
    except (TypeError, ValueError, OverflowError):
        return "--:--:--"


def _format(msg: Mapping[str, Any], names: Mapping[str, str], first: str, rest: str) -> list[str]:
    suffix = " (edited)" if msg.get("edited") else ""
    head = f"{first}[{_clock(str(msg.get('ts', '')))}] {_author(msg, names)}{suffix}:"
    lines = message_text(msg).splitlines() or [""]
    out = [f"{head} {lines[0]}".rstrip()]
    out += [f"{rest}{line}".rstrip() for line in lines[1:]]
    reactions = msg.get("reactions") or []
    if reactions:
        out.append(rest + "  ".join(f":{r['name']}: {r.get('count', 1)}" for r in reactions))
    return out


def render_thread(messages: list[dict[str, Any]], names: Mapping[str, str] | None = None) -> str:
    """Print a thread for a terminal: the parent, then each reply indented, with author and local time."""
    names = names or {}
    if not messages:
        return "(no messages)"
    lines = _format(messages[0], names, "", "    ")
    for reply in messages[1:]:
        lines += _format(reply, names, "  ↳ ", "      ")
    return "\n".join(lines)
