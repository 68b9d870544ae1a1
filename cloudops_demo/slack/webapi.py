"""Web API methods for messaging: auth, chat.*, conversations.*, users.info, reactions.add.

Handlers are synchronous functions run under the workspace lock, which keeps each
call atomic with respect to test threads without any async plumbing. Unknown
parameters are ignored on purpose: Bolt adds ``team_id`` to every call.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .limits import check_message
from .state import Workspace


@dataclass
class Reply:
    """An HTTP answer; most are 200 with ``ok`` true/false, rate limits are 429 with Retry-After."""

    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        value = self.body.get("error")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Ctx:
    """What a handler may need besides its params: the workspace and this server's own base URL."""

    ws: Workspace
    base_url: str
    token: str | None


Handler = Callable[[Ctx, dict[str, Any]], Reply]


def ok(**fields: Any) -> Reply:
    return Reply({"ok": True, **fields})


def err(code: str, **fields: Any) -> Reply:
    return Reply({"ok": False, "error": code, **fields})


def truthy(value: Any) -> bool:
    """Form bodies carry booleans as "1"/"0"/"true"; JSON bodies carry real booleans."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def opt_str(value: Any) -> str | None:
    """Empty strings count as absent, as Slack treats ``thread_ts=""``."""
    if value is None or value == "":
        return None
    return str(value)


def paginate(items: list[dict[str, Any]], params: dict[str, Any], default_limit: int) -> dict[str, Any]:
    """Cursor paging like Slack's: opaque base64 cursor, ``has_more`` and ``next_cursor``."""
    try:
        limit = int(params.get("limit") or default_limit)
    except ValueError:
        limit = default_limit
    limit = max(1, min(limit, 1000))
    cursor = opt_str(params.get("cursor"))
    start = 0
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().split(":", 1)[1])
        except (ValueError, IndexError):
            start = 0
    page = items[start : start + limit]
    more = start + limit < len(items)
    next_cursor = base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""
    return {"messages": page, "has_more": more, "response_metadata": {"next_cursor": next_cursor}}


def _strip_metadata(messages: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Slack returns message metadata only when asked with include_all_metadata."""
    if truthy(params.get("include_all_metadata")):
        return messages
    for msg in messages:
        msg.pop("metadata", None)
    return messages


def ts_key(ts: str) -> tuple[int, int]:
    """Compare ts values exactly: floats lose the microsecond digits that order messages."""
    sec, _, frac = ts.partition(".")
    return int(sec or 0), int((frac + "000000")[:6])


def _in_range(ts: str, params: dict[str, Any]) -> bool:
    inclusive = truthy(params.get("inclusive"))
    oldest, latest = opt_str(params.get("oldest")), opt_str(params.get("latest"))
    value = ts_key(ts)
    if oldest is not None and (value < ts_key(oldest) or (value == ts_key(oldest) and not inclusive)):
        return False
    return not (latest is not None and (value > ts_key(latest) or (value == ts_key(latest) and not inclusive)))


def auth_test(ctx: Ctx, _params: dict[str, Any]) -> Reply:
    ws = ctx.ws
    return ok(
        url="https://cloudops-emulator.slack.com/",
        team="CloudOps Emulator",
        user="cloudops",
        team_id=ws.team_id,
        user_id=ws.bot_user_id,
        bot_id=ws.bot_id,
        is_enterprise_install=False,
    )


def apps_connections_open(ctx: Ctx, _params: dict[str, Any]) -> Reply:
    if ctx.ws.refusing:
        return Reply({"ok": False, "error": "service_unavailable"}, status=503)
    ticket = ctx.ws.new_uuid()
    ws_base = ctx.base_url.replace("http://", "ws://", 1)
    return ok(url=f"{ws_base}/link/?ticket={ticket}&app_id={ctx.ws.app_id}")


def chat_post_message(ctx: Ctx, p: dict[str, Any]) -> Reply:
    ws = ctx.ws
    channel = opt_str(p.get("channel"))
    if channel is None:
        return err("channel_not_found")
    checked = check_message(p)
    if checked.error:
        return err(checked.error)
    thread_ts = opt_str(p.get("thread_ts"))
    if thread_ts is not None and ws.thread_root(channel, thread_ts) is None:
        return err("thread_not_found")
    fields: dict[str, Any] = {
        "text": checked.text or "",
        "blocks": p.get("blocks"),
        "attachments": p.get("attachments"),
        "metadata": p.get("metadata"),
        "username": opt_str(p.get("username")),
    }
    if thread_ts is not None and truthy(p.get("reply_broadcast")):
        fields["subtype"] = "thread_broadcast"
    msg = ws.bot_message(channel, fields, thread_ts=thread_ts)
    body: dict[str, Any] = {"channel": channel, "ts": msg["ts"], "message": copy.deepcopy(msg)}
    if checked.warnings:
        body["response_metadata"] = {"warnings": checked.warnings, "messages": checked.messages}
    return ok(**body)


def _own_message(ws: Workspace, p: dict[str, Any], denied: str) -> tuple[dict[str, Any] | None, Reply | None]:
    """Look up ``channel``/``ts`` and refuse messages the bot did not write, as Slack does."""
    channel, ts = opt_str(p.get("channel")), opt_str(p.get("ts"))
    if channel is None:
        return None, err("channel_not_found")
    msg = ws.find(channel, ts or "")
    if msg is None:
        return None, err("message_not_found")
    if msg.get("bot_id") != ws.bot_id:
        return None, err(denied)
    return msg, None


def chat_update(ctx: Ctx, p: dict[str, Any]) -> Reply:
    ws = ctx.ws
    msg, problem = _own_message(ws, p, "cant_update_message")
    if problem is not None or msg is None:
        return problem or err("message_not_found")
    checked = check_message(p)
    if checked.error:
        return err(checked.error)
    if checked.text is not None:
        msg["text"] = checked.text
    for key in ("blocks", "attachments", "metadata"):
        if key in p:
            msg[key] = p[key]
    msg["edited"] = {"user": ws.bot_user_id, "ts": ws.new_ts()}
    ws.changed()
    return ok(channel=p["channel"], ts=msg["ts"], text=msg.get("text", ""), message=copy.deepcopy(msg))


def chat_delete(ctx: Ctx, p: dict[str, Any]) -> Reply:
    msg, problem = _own_message(ctx.ws, p, "cant_delete_message")
    if problem is not None or msg is None:
        return problem or err("message_not_found")
    ctx.ws.delete(str(p["channel"]), msg["ts"])
    return ok(channel=p["channel"], ts=msg["ts"])


def chat_post_ephemeral(ctx: Ctx, p: dict[str, Any]) -> Reply:
    channel, user = opt_str(p.get("channel")), opt_str(p.get("user"))
    if channel is None:
        return err("channel_not_found")
    if user is None:
        return err("user_not_found")
    checked = check_message(p)
    if checked.error:
        return err(checked.error)
    body = {"text": checked.text or "", "blocks": p.get("blocks"), "thread_ts": opt_str(p.get("thread_ts"))}
    record = ctx.ws.add_ephemeral(channel, user, body, "chat.postEphemeral")
    return ok(message_ts=record["ts"])


def reactions_add(ctx: Ctx, p: dict[str, Any]) -> Reply:
    ws = ctx.ws
    name = opt_str(p.get("name"))
    if name is None:
        return err("invalid_name")
    msg = ws.find(str(p.get("channel", "")), str(p.get("timestamp", "")))
    if msg is None:
        return err("message_not_found")
    reactions: list[dict[str, Any]] = msg.setdefault("reactions", [])
    for reaction in reactions:
        if reaction["name"] == name:
            if ws.bot_user_id in reaction["users"]:
                return err("already_reacted")
            reaction["users"].append(ws.bot_user_id)
            reaction["count"] += 1
            break
    else:
        reactions.append({"name": name, "users": [ws.bot_user_id], "count": 1})
    ws.changed()
    return ok()


def conversations_replies(ctx: Ctx, p: dict[str, Any]) -> Reply:
    ws = ctx.ws
    channel, ts = opt_str(p.get("channel")), opt_str(p.get("ts"))
    if channel is None:
        return err("channel_not_found")
    root = ws.thread_root(channel, ts or "")
    if root is None:
        return err("thread_not_found")
    msgs = [m for m in ws.thread(channel, root) if m["ts"] == root or _in_range(m["ts"], p)]
    return ok(**paginate(_strip_metadata(msgs, p), p, 1000))


def conversations_history(ctx: Ctx, p: dict[str, Any]) -> Reply:
    channel = opt_str(p.get("channel"))
    if channel is None:
        return err("channel_not_found")
    msgs = [m for m in reversed(ctx.ws.top_level(channel)) if _in_range(m["ts"], p)]
    return ok(**paginate(_strip_metadata(msgs, p), p, 100))


def users_info(ctx: Ctx, p: dict[str, Any]) -> Reply:
    user = opt_str(p.get("user"))
    if user is None:
        return err("user_not_found")
    return ok(user=ctx.ws.user(user))


def usergroups_users_list(ctx: Ctx, p: dict[str, Any]) -> Reply:
    group = opt_str(p.get("usergroup"))
    with ctx.ws.lock:
        members = ctx.ws.usergroups.get(group or "")
    return ok(users=list(members)) if members is not None else err("no_such_subteam")


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "apps.connections.open": apps_connections_open,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "reactions.add": reactions_add,
    "conversations.replies": conversations_replies,
    "conversations.history": conversations_history,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
}
