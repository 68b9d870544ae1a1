"""The model's answer in the thread while it is being written: chat.startStream / appendStream / stopStream,
or, where Slack refuses to stream, a placeholder message kept up to date with chat.update.

Safety: the model's raw text goes through :class:`StreamScrubber` with the scrub every other Slack text
gets (clean_text, redaction, ``&<>`` escaping) plus neutralised ``@here``-style broadcasts and markdown
links (streamed text is markdown, where ``[x](url)`` would hide a link). Only *settled* text is sent, so
a secret split across model chunks is redacted whole before any of it leaves; the newest
``CLOUDOPS_STREAM_HOLDBACK_CHARS`` are always held back, which is what the first piece waits for. The
scrub here uses the hook-less redactor: redactions are counted once, when the handler scrubs the final
answer.

Rate: the first settled text starts the stream at once; after that at most one chat.appendStream (Tier 4)
per ``CLOUDOPS_STREAM_APPEND_INTERVAL_S`` and one chat.update (Tier 3) per
``CLOUDOPS_STREAM_UPDATE_INTERVAL_S`` carry whatever settled in between. Calls are made on the thread
that reads the model's stream; a slow Slack call delays reading, never loses text.

Ending (``finish``): when the streamed text is exactly the reply's answer, the stream is stopped with the
rest of the reply's blocks (evidence sections, the usage line, the answer buttons), which Slack shows
under the streamed text. Otherwise (an error or evidence-only reply, text from a tool-calling step, the
chat.update fallback) the stream is stopped and the message is replaced by the rendered reply. Either
way the thread holds the answer once; if even that fails, the reply is posted as new messages.

Why not slack_sdk's ``WebClient.chat_stream`` helper: it flushes whenever its buffer holds
``buffer_size`` characters, with no time throttle (appendStream's rate tier), no hold-back that keeps a
half-received secret unsent, and no fallback when startStream is refused. The raw methods it wraps
are what we call, through the same Poster (retries, metrics) as every other Slack call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from typing import Any

import structlog

from bot.config import Settings
from bot.models import Reply
from bot.slack.poster import Poster, PostError
from bot.slack.render import SAFE_SECTION, SlackMessage, split_text
from bot.text.mrkdwn import untrusted
from bot.text.redact import redact
from bot.text.sanitize import clean_text
from bot.text.stream_redact import DEFAULT_CONTEXT, StreamScrubber

log = structlog.get_logger("cloudops.slack")
MAX_STREAM_CHARS = 12_000  # Slack: markdown_text per call and per streamed message
MAX_UPDATE_BLOCKS = 50


def scrub_for_slack(text: str) -> str:
    """Raw model text → safe streamed text. Pure, because StreamScrubber runs it over and over."""
    return untrusted(redact(clean_text(text)))


class _Mode(Enum):
    IDLE = "idle"  # nothing shown yet
    STREAM = "stream"  # a chat.startStream message is open
    UPDATE = "update"  # a placeholder kept current with chat.update
    OFF = "off"  # showing failed: the reply will be posted normally


def _markdown(text: str) -> list[dict[str, str]]:
    return [{"type": "markdown_text", "text": text}]


def _sections(text: str) -> list[dict[str, Any]]:
    parts = split_text(text, SAFE_SECTION)[:MAX_UPDATE_BLOCKS]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": p or " "}} for p in parts]


class AnswerStream:
    """One request's answer sink (see ``bot.progress.AnswerSink``); thread-safe, used once."""

    def __init__(self, poster: Poster, channel: str, thread_ts: str, *, user: str, team: str,
                 append_interval_s: float, update_interval_s: float, holdback_chars: int,
                 context_chars: int = DEFAULT_CONTEXT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._poster = poster
        self._channel = channel
        self._thread_ts = thread_ts
        # Slack wants both when streaming into a channel (not in a DM); the bot's team stands for the user's.
        self._recipient: dict[str, Any] = {k: v for k, v in (("recipient_user_id", user),
                                                              ("recipient_team_id", team)) if v}
        self._append_s = append_interval_s
        self._update_s = update_interval_s
        self._holdback = holdback_chars
        self._context_chars = context_chars
        self._clock = clock
        self._lock = threading.Lock()
        self._scrubber = StreamScrubber(scrub_for_slack, window=holdback_chars, context=context_chars)
        self._mode = _Mode.IDLE
        self._ts: str | None = None
        self._open = False  # a stream that still needs chat.stopStream
        self._sent = ""  # scrubbed text the user can see
        self._pending = ""  # scrubbed, settled, waiting for the next allowed call
        self._last_call = 0.0
        self._dirty = False  # shown text that is not the answer (a tool-calling step's preamble)
        self._closed = False

    @classmethod
    def for_thread(cls, poster: Poster, settings: Settings, channel: str, thread_ts: str, *, user: str,
                   team: str) -> AnswerStream | None:
        if not settings.stream_answers or not thread_ts:
            return None
        return cls(poster, channel, thread_ts, user=user, team=team,
                   append_interval_s=settings.stream_append_interval_s,
                   update_interval_s=settings.stream_update_interval_s,
                   holdback_chars=settings.stream_holdback_chars, context_chars=settings.stream_context_chars)

    @property
    def shown(self) -> bool:
        """True once a message holds (part of) the answer: the reply must go there, not in a new one."""
        return self._ts is not None

    # --- the sink: called while the model writes -----------------------------------------------------
    def text(self, delta: str) -> None:
        with self._lock:
            if self._closed or self._mode is _Mode.OFF:
                return
            self._pending += self._scrubber.feed(delta)
            self._flush()

    def discard(self) -> None:
        with self._lock:
            self._scrubber = StreamScrubber(scrub_for_slack, window=self._holdback, context=self._context_chars)
            self._pending = ""
            self._dirty = self._dirty or bool(self._sent)

    def _flush(self) -> None:
        if not self._pending or len(self._sent) + len(self._pending) > MAX_STREAM_CHARS:
            return  # over Slack's size: the rest arrives with the final reply
        now = self._clock()
        if self._mode is _Mode.IDLE:
            self._start(now)
        elif self._mode is _Mode.STREAM and now - self._last_call >= self._append_s:
            try:
                self._poster.call("chat.appendStream", attempts=1, channel=self._channel, ts=self._ts,
                                  chunks=_markdown(self._pending))
                self._shift(now)
            except PostError as exc:  # expired or stopped: keep the message current with chat.update
                log.info("stream_append_failed", error=str(exc))
                self._mode = _Mode.UPDATE
        elif self._mode is _Mode.UPDATE and now - self._last_call >= self._update_s:
            self._update(now)

    def _start(self, now: float) -> None:
        try:
            data = self._poster.call("chat.startStream", attempts=1, channel=self._channel,
                                     thread_ts=self._thread_ts, chunks=_markdown(self._pending), **self._recipient)
            self._ts, self._mode, self._open = str(data.get("ts", "")), _Mode.STREAM, True
            self._shift(now)
            return
        except PostError as exc:  # not enabled for this app or workspace: a placeholder and chat.update
            log.info("stream_unavailable", error=str(exc))
        text = self._pending
        try:
            self._ts = self._poster.post(self._channel, SlackMessage(text, _sections(text)), self._thread_ts)
            self._mode = _Mode.UPDATE
            self._shift(now)
        except PostError as exc:
            log.warning("stream_placeholder_failed", error=str(exc))
            self._mode = _Mode.OFF

    def _update(self, now: float) -> None:
        text = self._sent + self._pending
        try:
            self._poster.call("chat.update", attempts=1, channel=self._channel, ts=self._ts, text=text,
                              blocks=_sections(text))
            self._shift(now)
        except PostError as exc:  # the final reply still replaces it (or is posted anew)
            log.info("stream_update_failed", error=str(exc))
            self._last_call = now

    def _shift(self, now: float) -> None:
        self._sent += self._pending
        self._pending = ""
        self._last_call = now

    # --- the end of the request ----------------------------------------------------------------------
    def finish(self, reply: Reply, render: Callable[[Reply], list[SlackMessage]]) -> list[SlackMessage]:
        """Put the reply into the shown message; return the messages still to post (all when none was shown)."""
        with self._lock:
            self._closed = True
            if self._ts is None:
                return render(reply)
            rest = self._pending + (self._scrubber.finish() if self._mode is not _Mode.OFF else "")
            streamed = self._sent + rest
            same = (self._mode is _Mode.STREAM and not self._dirty and reply.ok and len(streamed) <= MAX_STREAM_CHARS
                    and streamed.strip() == scrub_for_slack(reply.summary).strip())
            if same:
                messages = render(replace(reply, summary=""))
                blocks = [b for b in messages[0].blocks if b.get("type") != "header"]
                try:
                    self._stop(chunks=_markdown(rest) if rest else None, blocks=blocks or None)
                    return messages[1:]
                except PostError as exc:
                    log.warning("stream_stop_failed", error=str(exc))
            return self._replace(render(reply))

    def cancel(self) -> None:
        """The request ends without a reply here (aborted at shutdown): just close an open stream."""
        with self._lock:
            self._closed = True
            if self._open:
                try:
                    self._stop()
                except PostError as exc:
                    log.info("stream_stop_failed", error=str(exc))

    def _stop(self, **extra: Any) -> None:
        kwargs = {k: v for k, v in extra.items() if v is not None}
        self._poster.call("chat.stopStream", channel=self._channel, ts=self._ts, **kwargs)
        self._open = False

    def _replace(self, messages: list[SlackMessage]) -> list[SlackMessage]:
        if self._open:
            try:
                self._stop()
            except PostError as exc:  # it may have expired already; chat.update still works then
                log.info("stream_stop_failed", error=str(exc))
        first = messages[0]
        try:
            self._poster.call("chat.update", channel=self._channel, ts=self._ts, text=first.text, blocks=first.blocks)
            return messages[1:]
        except PostError as exc:
            log.error("stream_replace_failed", error=str(exc))
            return messages
