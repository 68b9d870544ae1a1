"""How a Slack feature answers, as a narrow typed interface (the ``SlackBot`` provides it).

Features (buttons, conversations, the incident watcher) take this and the few other things they need,
never the whole bot, so no feature module imports ``bot.slack.app`` and the edge has no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bot.models import Request


class Replies(Protocol):
    def ephemeral(self, request: Request, text: str) -> None:
        """Tell only the asker (refusals, "that answer expired")."""

    def post_text_safely(self, channel: str, thread_ts: str, text: str) -> bool:
        """Post in a thread; False (logged) when Slack refused."""

    def upload(self, channel: str, thread_ts: str, *, filename: str, title: str, content: bytes) -> None:
        """Upload a file into a thread."""

    def queue_or_refuse(self, request: Request, job: Callable[[], Any]) -> None:
        """Run ``job`` on the work queue, or tell the asker the bot is at capacity."""

    def answer_admitted(self, request: Request) -> None:
        """Admission, then the answer in ``request.thread_ts``."""
