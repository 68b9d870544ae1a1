"""Slack payload → Request. Slack escapes `&`, `<`, `>` in message text and wraps mentions and links
in `<…>`; we turn those back into readable plain text so commands parse as the user typed them."""

from __future__ import annotations

import re
from typing import Any

from bot.models import Request, Source, ThreadMessage

_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")  # <url|label>, <#C123|name>, <@U123|name>
_BARE = re.compile(r"<([^<>]+)>")


def slack_to_plain(text: str, bot_user_id: str = "") -> str:
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    text = _LINK.sub(_label, text)
    text = _BARE.sub(lambda m: m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split()) if "\n" not in text else text.strip()


def _label(m: re.Match[str]) -> str:
    target, label = m.group(1), m.group(2)
    prefix = target[0] if target[0] in "@#" else ""
    return prefix + label


def command_request(body: dict[str, Any]) -> Request:
    return Request(
        text=slack_to_plain(str(body.get("text", ""))),
        source=Source.COMMAND,
        user=str(body.get("user_id", "")),
        channel=str(body.get("channel_id", "")),
    )


def mention_request(event: dict[str, Any], bot_user_id: str, history: tuple[ThreadMessage, ...]) -> Request:
    return Request(
        text=slack_to_plain(str(event.get("text", "")), bot_user_id),
        source=Source.MENTION,
        user=str(event.get("user", "")),
        channel=str(event.get("channel", "")),
        thread_ts=str(event.get("thread_ts") or event.get("ts") or ""),
        history=history,
    )


def thread_history(messages: list[dict[str, Any]], current_ts: str, bot_user_id: str, bot_id: str,
                   limit: int) -> tuple[ThreadMessage, ...]:
    """Earlier messages of the thread (not the current one), oldest first, newest ``limit`` kept."""
    out: list[ThreadMessage] = []
    for msg in messages:
        if msg.get("ts") == current_ts:
            continue
        mine = msg.get("user") == bot_user_id or (bot_id and msg.get("bot_id") == bot_id)
        text = slack_to_plain(str(msg.get("text", "")), bot_user_id)
        if text:
            out.append(ThreadMessage(author="assistant" if mine else "user", text=text[:2000]))
    return tuple(out[-limit:])
