"""Builders for the payloads Slack pushes over Socket Mode, shaped after Slack's documented examples.

Keeping the shapes in one place means the app under test sees the same fields it will
see in production (user_name, channel_name, trigger_id, rich_text blocks, authorizations…),
so handlers that read them are exercised for real.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .state import Workspace

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")


def rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's composer attaches to a typed message, with mentions as user elements."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for match in _MENTION.finditer(text):
        if match.start() > pos:
            elements.append({"type": "text", "text": text[pos : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        pos = match.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": "rt0", "elements": [section]}]


def user_message(ws: Workspace, channel: str, text: str, user: str, thread_ts: str | None) -> dict[str, Any]:
    """Record a human message in the channel (or thread) and return it as stored."""
    msg: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "team": ws.team_id,
        "client_msg_id": ws.new_uuid(),
        "blocks": rich_text(text),
    }
    return ws.add_message(channel, msg, thread_ts=thread_ts)


def event_callback(ws: Workspace, event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """Wrap an event the way the Events API does, naming the bot in ``authorizations``."""
    kind = str(event.get("type", "event"))
    channel = str(event.get("channel", ""))
    return {
        "token": "verification-token",
        "team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"1-{kind}-{ws.team_id}-{channel}",
        "event": event,
    }


def app_mention(msg: dict[str, Any], channel: str) -> dict[str, Any]:
    """The app_mention event for a stored user message; thread fields only when it is a reply."""
    event: dict[str, Any] = {
        "client_msg_id": msg["client_msg_id"],
        "type": "app_mention",
        "text": msg["text"],
        "user": msg["user"],
        "ts": msg["ts"],
        "team": msg["team"],
        "blocks": msg["blocks"],
        "channel": channel,
        "event_ts": msg["ts"],
    }
    if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
        event["thread_ts"] = msg["thread_ts"]
        event["parent_user_id"] = msg.get("parent_user_id")
    return event


def slash_command(
    ws: Workspace, *, text: str, user: str, channel: str, command: str, response_url: str, trigger_id: str
) -> dict[str, Any]:
    """A slash-command payload as Socket Mode delivers it: a JSON object, never form-encoded."""
    return {
        "token": "verification-token",
        "team_id": ws.team_id,
        "team_domain": "cloudops-emulator",
        "channel_id": channel,
        "channel_name": ws.channel_name(channel),
        "user_id": user,
        "user_name": ws.user(user)["name"],
        "command": command,
        "text": text,
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def block_action(
    ws: Workspace,
    *,
    message: dict[str, Any],
    channel: str,
    user: str,
    action_id: str,
    block_id: str,
    value: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """A block_actions payload for a button click on a message that exists in the workspace."""
    label = value
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                label = str((element.get("text") or {}).get("text", value))
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    return {
        "type": "block_actions",
        "team": {"id": ws.team_id, "domain": "cloudops-emulator"},
        "user": {"id": user, "username": ws.user(user)["name"], "name": ws.user(user)["name"], "team_id": ws.team_id},
        "api_app_id": ws.app_id,
        "token": "verification-token",
        "container": container,
        "trigger_id": trigger_id,
        "channel": {"id": channel, "name": ws.channel_name(channel)},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": ws.new_ts(),
            }
        ],
    }


def trigger_id(ws: Workspace) -> str:
    """Slack trigger ids look like ``<digits>.<digits>.<hex>``; apps only pass them back."""
    raw = ws.new_uuid().replace("-", "")
    return f"{int(time.time())}.{ws.team_id}.{raw}"
