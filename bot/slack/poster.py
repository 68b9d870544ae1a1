"""Posting into threads with retries, so a reply is never dropped silently, nor posted twice.

429s are retried by slack_sdk's RateLimitErrorRetryHandler and connection resets by its
ConnectionErrorRetryHandler (installed on the WebClient in ``app.py``); this layer adds a bounded
retry for other transient failures (5xx, ``internal_error``) and counts every call by outcome.

A 5xx or a lost connection does not say whether Slack stored the message. So every
``chat.postMessage`` carries a marker in its message metadata (``post_id``), and before posting again
after such a failure the poster looks for the marker in the thread (or the channel's recent history):
if the first attempt landed, its ts is the answer and nothing is posted twice.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.metrics import Metrics
from bot.slack.render import SlackMessage

log = structlog.get_logger("cloudops.slack")
_PERMANENT = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
              "token_revoked", "missing_scope", "invalid_blocks", "invalid_blocks_format", "msg_too_long",
              "thread_not_found", "no_text", "restricted_action", "cant_update_message", "message_not_found"}


_AMBIGUOUS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
POST_EVENT = "cloudops_post"
LOOKBACK_S = 120  # how far back (before its first attempt) a re-post looks for it: clock skew, slow retries


class PostError(Exception):
    """A reply could not be posted after every retry."""


class Poster:
    def __init__(self, client: WebClient, metrics: Metrics, attempts: int = 3, backoff_s: float = 0.5) -> None:
        self._client = client
        self._metrics = metrics
        self._attempts = max(1, attempts)
        self._backoff = backoff_s

    def call(self, method: str, *, form: bool = False, attempts: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """Slack takes JSON bodies only for write methods; read methods (conversations.*) get a form.

        ``attempts`` overrides the configured retries for calls that have a cheaper way out than waiting
        (a streamed answer falls back to chat.update rather than retrying chat.startStream).
        """
        label = self._metrics.slack_method_label(method)
        last: Exception | None = None
        tries = self._attempts if attempts is None else max(1, attempts)
        post_id = _mark(kwargs) if method == "chat.postMessage" else ""
        since = time.time()
        ambiguous = False
        for attempt in range(tries):
            if ambiguous and post_id:
                landed = self._find_post(str(kwargs.get("channel", "")), kwargs.get("thread_ts"), post_id, since)
                if landed:
                    log.info("post_already_landed", channel=kwargs.get("channel"), ts=landed)
                    return {"ok": True, "channel": kwargs.get("channel"), "ts": landed}
            try:
                resp = (self._client.api_call(method, params=kwargs) if form
                        else self._client.api_call(method, json=kwargs))
                self._metrics.slack_calls.labels(label, "ok").inc()
                return dict(resp.data) if isinstance(resp.data, dict) else {}
            except SlackApiError as exc:
                error = str(exc.response.get("error", "")) if exc.response is not None else ""
                status = exc.response.status_code if exc.response is not None else 0
                outcome = "rate_limited" if status == 429 or error == "ratelimited" else "error"
                self._metrics.slack_calls.labels(label, outcome).inc()
                last = exc
                if error in _PERMANENT:
                    break
                ambiguous = ambiguous or status >= 500 or error in _AMBIGUOUS
            except OSError as exc:  # connection errors that survived the SDK's own retry handler
                self._metrics.slack_calls.labels(label, "error").inc()
                last = exc
                ambiguous = True
            if attempt + 1 < tries:
                time.sleep(self._backoff * (2 ** attempt))
        raise PostError(f"{method} failed: {last}") from last

    def _find_post(self, channel: str, thread_ts: Any, post_id: str, since: float) -> str:
        """The ts of the message carrying ``post_id``, if an earlier attempt landed ("" if not or unknown)."""
        args: dict[str, Any] = {"channel": channel, "oldest": f"{since - LOOKBACK_S:.6f}", "limit": 200,
                                "include_all_metadata": True}
        try:
            if thread_ts:
                found = self.call("conversations.replies", form=True, attempts=1, ts=str(thread_ts), **args)
            else:
                found = self.call("conversations.history", form=True, attempts=1, **args)
        except PostError as exc:
            log.warning("post_lookup_failed", channel=channel, error=str(exc))
            return ""
        for message in found.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("post_id") == post_id:
                return str(message.get("ts", ""))
        return ""

    def post(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        kwargs: dict[str, Any] = {"channel": channel, "text": message.text, "blocks": message.blocks,
                                  "unfurl_links": False, "unfurl_media": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        return str(self.call("chat.postMessage", **kwargs).get("ts", ""))

    def post_text(self, channel: str, text: str, thread_ts: str | None = None) -> str:
        return self.post(channel, SlackMessage(text, [{"type": "section", "text": {"type": "mrkdwn",
                                                                                     "text": text}}]), thread_ts)

    def respond(self, response_url: str, text: str) -> bool:
        """An ephemeral reply through a slash command's response_url (no channel membership needed)."""
        if not response_url:
            return False
        try:
            resp = WebhookClient(response_url, timeout=10).send(text=text, response_type="ephemeral")
            return resp.status_code == 200
        except OSError as exc:
            log.error("respond_failed", error=str(exc))
            return False

    def upload(self, channel: str, thread_ts: str, *, filename: str, title: str, content: bytes,
               alt_txt: str = "") -> None:
        """files_upload_v2 (getUploadURLExternal → upload → completeUploadExternal) into the thread.
        ``alt_txt`` is what screen readers say for an image (Slack takes up to 1,000 characters)."""
        try:
            self._client.files_upload_v2(channel=channel, thread_ts=thread_ts or None, filename=filename,
                                         title=title, content=content, alt_txt=alt_txt[:1000] or None)
            self._metrics.slack_calls.labels("other", "ok").inc()
        except (SlackApiError, OSError) as exc:
            self._metrics.slack_calls.labels("other", "error").inc()
            raise PostError(f"file upload failed: {exc}") from exc

    def replies(self, channel: str, ts: str, limit: int) -> list[dict[str, Any]]:
        data = self.call("conversations.replies", form=True, channel=channel, ts=ts, limit=min(max(limit + 1, 2), 200))
        return list(data.get("messages", []))


def _mark(kwargs: dict[str, Any]) -> str:
    """Put a fresh ``post_id`` into the message metadata (keeping any the caller set); returns it."""
    post_id = uuid.uuid4().hex
    meta = dict(kwargs.get("metadata") or {"event_type": POST_EVENT})
    meta["event_payload"] = {**(meta.get("event_payload") or {}), "post_id": post_id}
    kwargs["metadata"] = meta
    return post_id
