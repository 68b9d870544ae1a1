"""Slack's message limits, enforced so the app meets the same rejections here as in production.

The numbers come from Slack's Block Kit reference and slack_sdk's block models (see
/work/shared/reference/slack-protocol.md section 5). Only the checks Slack really makes
and that a ChatOps bot can trip are here; the point is to fail loudly in tests rather
than to re-implement Block Kit validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BLOCK_ID = 255
MAX_MARKDOWN_TOTAL = 12_000
MAX_ATTACHMENTS = 100
TRUNCATION_WARNING = (
    "[WARN] Your message was truncated but still posted. The `text` field accepts up to 40,000 characters."
)


@dataclass
class Checked:
    """Outcome of validating a message body: an error code, or the (possibly truncated) text plus warnings."""

    error: str | None = None
    text: str | None = None
    warnings: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        value = obj.get("text", "")
        return value if isinstance(value, str) else ""
    return ""


def block_error(blocks: Any) -> str | None:
    """Return Slack's error code for a bad ``blocks`` value, or None when Slack would accept it."""
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
        return "invalid_blocks_format"
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    markdown_total = 0
    for block in blocks:
        kind = block["type"]
        if len(str(block.get("block_id", ""))) > MAX_BLOCK_ID:
            return "invalid_blocks"
        if kind == "section":
            fields = block.get("fields") or []
            if "text" not in block and not fields:
                return "invalid_blocks"
            if len(_text_of(block.get("text"))) > MAX_SECTION_TEXT:
                return "invalid_blocks"
            if len(fields) > MAX_FIELDS or any(len(_text_of(f)) > MAX_FIELD_TEXT for f in fields):
                return "invalid_blocks"
        elif kind == "header":
            if len(_text_of(block.get("text"))) > MAX_HEADER_TEXT:
                return "invalid_blocks"
        elif kind == "context":
            if len(block.get("elements") or []) > MAX_CONTEXT_ELEMENTS:
                return "invalid_blocks"
        elif kind == "actions":
            if len(block.get("elements") or []) > MAX_ACTIONS_ELEMENTS:
                return "invalid_blocks"
        elif kind == "markdown":
            markdown_total += len(str(block.get("text", "")))
            if markdown_total > MAX_MARKDOWN_TOTAL:
                return "invalid_blocks"
    return None


def check_message(params: dict[str, Any], *, require_content: bool = True) -> Checked:
    """Validate text/blocks/attachments the way chat.postMessage and chat.update do."""
    text = params.get("text")
    blocks = params.get("blocks")
    attachments = params.get("attachments")
    if require_content and not text and not blocks and not attachments:
        return Checked(error="no_text")
    if blocks is not None:
        err = block_error(blocks)
        if err:
            return Checked(error=err)
    if attachments is not None and (not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS):
        return Checked(error="too_many_attachments")
    result = Checked(text=None if text is None else str(text))
    if result.text is not None and len(result.text) > MAX_TEXT:
        # Slack truncates instead of refusing, and says so in response_metadata.
        result.text = result.text[:MAX_TEXT]
        result.warnings.append("message_truncated")
        result.messages.append(TRUNCATION_WARNING)
    return result
