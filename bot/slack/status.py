"""Progress reports → the thread's status line ("Checking alarms…") via assistant.threads.setStatus.

At most one call per ``min_interval_s`` and only when the text changes, because the status is
cosmetic and must not spend rate limit the replies need; Slack clears it when the reply is posted, and
``clear()`` does when the reply went into a streamed message instead.
If Slack refuses the method (older workspace, missing scope), the request goes on without it.
"""

from __future__ import annotations

import time

from bot.slack.poster import Poster, PostError


class StatusLine:
    def __init__(self, poster: Poster, channel: str, thread_ts: str | None, min_interval_s: float = 1.0) -> None:
        self._poster = poster
        self._channel = channel
        self._thread_ts = thread_ts or ""
        self._min = min_interval_s
        self._last_at = 0.0
        self._last = ""
        self._off = not self._thread_ts

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if self._off or text == self._last or now - self._last_at < self._min:
            return
        self._last_at, self._last = now, text
        try:
            self._poster.call("assistant.threads.setStatus", channel_id=self._channel, thread_ts=self._thread_ts,
                              status=text[:100])
        except PostError:
            self._off = True

    def clear(self) -> None:
        """Blank the status line. Needed when the answer went into a streamed message: Slack clears the
        status when a message is posted, but progress reported after the stream started would linger."""
        if self._off or not self._last:
            return
        self._last = ""
        try:
            self._poster.call("assistant.threads.setStatus", channel_id=self._channel, thread_ts=self._thread_ts,
                              status="")
        except PostError:
            self._off = True
