"""Socket Mode lifecycle: connect, watch the link for /status, close. Bolt's adapter does the protocol."""

from __future__ import annotations

import threading

import structlog
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.slack.app import SlackBot

log = structlog.get_logger("cloudops.slack")


class SocketRunner:
    def __init__(self, bot: SlackBot, app_token: str, poll_s: float = 0.5) -> None:
        self.bot = bot
        self.handler = SocketModeHandler(bot.app, app_token, ping_interval=bot.settings.slack_ping_interval_s,
                                         concurrency=bot.settings.slack_concurrency)
        self._stop = threading.Event()
        self._poll = poll_s
        self._watch = threading.Thread(target=self._watch_link, name="slack-link-watch", daemon=True)

    def start(self) -> None:
        """Connect without blocking; slack_sdk reconnects on its own after drops and `disconnect`."""
        self.handler.connect()  # type: ignore[no-untyped-call]
        self._watch.start()

    def _watch_link(self) -> None:
        while not self._stop.is_set():
            up = bool(self.handler.client.is_connected())
            if up != self.bot.state.slack_connected:
                log.info("slack_link", connected=up)
            self.bot.state.set_connected(up)
            self.bot.metrics.slack_connected.set(1 if up else 0)
            self._stop.wait(self._poll)

    def stop(self, drain_s: float) -> int:
        aborted = self.bot.drain(drain_s)
        self._stop.set()
        self.handler.close()  # type: ignore[no-untyped-call]
        self.bot.state.set_connected(False)
        return aborted
