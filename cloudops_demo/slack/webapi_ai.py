"""Web API methods for AI-app features, files and modals: assistant.threads.*, chat.*Stream, files v2, views.*.

Streams become ordinary bot messages in the thread whose text is everything streamed so
far, because that is what a user ends up reading (blocks given to chat.stopStream are shown
under that text, as Slack does); file uploads become a file message in the thread for the
same reason.
"""

from __future__ import annotations

import copy
import json
import mimetypes
from typing import Any

from .limits import MAX_MARKDOWN_TOTAL, block_error
from .records import UploadedFile
from .webapi import Ctx, Handler, Reply, err, ok, opt_str


def _thread_key(p: dict[str, Any]) -> tuple[str, str] | None:
    channel, thread_ts = opt_str(p.get("channel_id")), opt_str(p.get("thread_ts"))
    if channel is None or thread_ts is None:
        return None
    return channel, thread_ts


def set_status(ctx: Ctx, p: dict[str, Any]) -> Reply:
    key = _thread_key(p)
    if key is None:
        return err("invalid_arguments")
    loading = p.get("loading_messages")
    if isinstance(loading, list) and len(loading) > 10:
        return err("invalid_arguments")
    state = ctx.ws.assistant.setdefault(key, {})
    state["status"] = str(p.get("status") or "")
    state["loading_messages"] = loading
    ctx.ws.changed()
    return ok()


def set_suggested_prompts(ctx: Ctx, p: dict[str, Any]) -> Reply:
    channel = opt_str(p.get("channel_id"))
    prompts = p.get("prompts")
    if channel is None or not isinstance(prompts, list):
        return err("invalid_arguments")
    state = ctx.ws.assistant.setdefault((channel, opt_str(p.get("thread_ts")) or ""), {})
    state["prompts"] = prompts
    state["prompts_title"] = p.get("title")
    ctx.ws.changed()
    return ok()


def set_title(ctx: Ctx, p: dict[str, Any]) -> Reply:
    key = _thread_key(p)
    if key is None:
        return err("invalid_arguments")
    ctx.ws.assistant.setdefault(key, {})["title"] = str(p.get("title") or "")
    ctx.ws.changed()
    return ok()


def _streamed(p: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Text and non-text chunks from either form slack_sdk uses (``markdown_text`` or ``chunks``)."""
    text = str(p.get("markdown_text") or "")
    others: list[dict[str, Any]] = []
    for chunk in p.get("chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            text += str(chunk.get("text") or "")
        elif isinstance(chunk, dict):
            others.append(chunk)
    return text, others


def start_stream(ctx: Ctx, p: dict[str, Any]) -> Reply:
    ws = ctx.ws
    channel, thread_ts = opt_str(p.get("channel")), opt_str(p.get("thread_ts"))
    if channel is None:
        return err("channel_not_found")
    if thread_ts is None or ws.thread_root(channel, thread_ts) is None:
        return err("thread_not_found")
    text, chunks = _streamed(p)
    if len(text) > MAX_MARKDOWN_TOTAL:
        return err("msg_too_long")
    fields: dict[str, Any] = {"text": text, "chunks": chunks or None}
    msg = ws.bot_message(channel, fields, thread_ts=thread_ts)
    ws.open_streams.add((channel, msg["ts"]))
    return ok(channel=channel, ts=msg["ts"])


def _open_stream(ctx: Ctx, p: dict[str, Any]) -> tuple[dict[str, Any] | None, Reply | None]:
    channel, ts = opt_str(p.get("channel")), opt_str(p.get("ts"))
    msg = ctx.ws.find(channel or "", ts or "")
    if msg is None:
        return None, err("message_not_found")
    if (channel, ts) not in ctx.ws.open_streams:
        return None, err("message_not_in_streaming_state")
    return msg, None


def _append(ctx: Ctx, msg: dict[str, Any], p: dict[str, Any]) -> Reply | None:
    text, chunks = _streamed(p)
    if len(msg.get("text", "")) + len(text) > MAX_MARKDOWN_TOTAL:
        return err("msg_too_long")
    msg["text"] = msg.get("text", "") + text
    if chunks:
        msg.setdefault("chunks", []).extend(chunks)
    ctx.ws.changed()
    return None


def append_stream(ctx: Ctx, p: dict[str, Any]) -> Reply:
    msg, problem = _open_stream(ctx, p)
    if msg is None:
        return problem or err("message_not_found")
    return _append(ctx, msg, p) or ok(channel=p["channel"], ts=msg["ts"])


def stop_stream(ctx: Ctx, p: dict[str, Any]) -> Reply:
    msg, problem = _open_stream(ctx, p)
    if msg is None:
        return problem or err("message_not_found")
    blocks = p.get("blocks")
    if blocks is not None and block_error(blocks):
        return err(block_error(blocks) or "invalid_blocks")
    failure = _append(ctx, msg, p)
    if failure is not None:
        return failure
    if blocks is not None:
        # Slack renders stopStream's blocks under the streamed text; a leading markdown block keeps the
        # streamed text visible in what the client shows (message_text renders blocks when there are any).
        streamed = [{"type": "markdown", "text": msg["text"]}] if msg.get("text") else []
        msg["blocks"] = streamed + blocks
    if p.get("metadata") is not None:
        msg["metadata"] = p["metadata"]
    ctx.ws.open_streams.discard((str(p["channel"]), msg["ts"]))
    ctx.ws.changed()
    return ok(channel=p["channel"], ts=msg["ts"], message=copy.deepcopy(msg))


def get_upload_url(ctx: Ctx, p: dict[str, Any]) -> Reply:
    filename = opt_str(p.get("filename"))
    if filename is None or opt_str(p.get("length")) is None:
        return err("invalid_arguments")
    file_id = ctx.ws.new_short_id("F")
    ctx.ws.pending_uploads[file_id] = {"filename": filename, "content": None, "alt_txt": p.get("alt_txt")}
    return ok(upload_url=f"{ctx.base_url}/upload/{file_id}", file_id=file_id)


def complete_upload(ctx: Ctx, p: dict[str, Any]) -> Reply:
    ws = ctx.ws
    files = p.get("files")
    if isinstance(files, str):
        files = json.loads(files)
    if not isinstance(files, list) or not files:
        return err("invalid_arguments")
    channel = opt_str(p.get("channel_id")) or (opt_str(p.get("channels")) or "").split(",")[0] or None
    thread_ts = opt_str(p.get("thread_ts"))
    if channel and thread_ts and ws.thread_root(channel, thread_ts) is None:
        return err("thread_not_found")
    pending = [(f, ws.pending_uploads.get(str(f.get("id")))) for f in files if isinstance(f, dict)]
    if any(up is None or up["content"] is None for _, up in pending):
        return err("file_not_found")
    shared: list[dict[str, Any]] = []
    for item, up in pending:
        assert up is not None
        file_id, title = str(item["id"]), opt_str(item.get("title"))
        ws.files[file_id] = UploadedFile(
            file_id, up["filename"], title, up["content"], channel, thread_ts, opt_str(p.get("initial_comment"))
        )
        shared.append(
            {
                "id": file_id,
                "name": up["filename"],
                "title": title or up["filename"],
                "mimetype": mimetypes.guess_type(up["filename"])[0] or "application/octet-stream",
                "size": len(up["content"]),
                "user": ws.bot_user_id,
                "url_private": f"{ctx.base_url}/files/{file_id}",
            }
        )
        del ws.pending_uploads[file_id]
    if channel:
        fields = {"text": opt_str(p.get("initial_comment")) or "", "files": shared, "upload": True}
        ws.bot_message(channel, fields, thread_ts=thread_ts)
    return ok(files=[{"id": f["id"], "title": f["title"]} for f in shared])


def _view(ctx: Ctx, p: dict[str, Any], *, needs_trigger: bool) -> Reply:
    view = p.get("view")
    if needs_trigger and opt_str(p.get("trigger_id")) is None:
        return err("invalid_trigger_id")
    if not isinstance(view, dict):
        return err("invalid_arguments")
    stored = {
        **view,
        "id": opt_str(p.get("view_id")) or ctx.ws.new_short_id("V"),
        "team_id": ctx.ws.team_id,
        "app_id": ctx.ws.app_id,
        "state": {"values": {}},
        "hash": ctx.ws.new_short_id("h"),
    }
    ctx.ws.views.append(stored)
    ctx.ws.changed()
    return ok(view=copy.deepcopy(stored))


HANDLERS: dict[str, Handler] = {
    "assistant.threads.setStatus": set_status,
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "assistant.threads.setTitle": set_title,
    "chat.startStream": start_stream,
    "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "views.open": lambda ctx, p: _view(ctx, p, needs_trigger=True),
    "views.push": lambda ctx, p: _view(ctx, p, needs_trigger=True),
    "views.update": lambda ctx, p: _view(ctx, p, needs_trigger=False),
    "views.publish": lambda ctx, p: _view(ctx, p, needs_trigger=False),
}
