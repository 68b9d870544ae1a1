"""Start-up wiring shared by `run` and `demo`: settings → metrics → services → Slack edge → sidecar.

Nothing is built at import time; ``Bot.start`` builds in order and ``Bot.stop`` tears down in reverse,
so the demo and tests can run a whole bot in-process and leave no threads or ports behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog

from bot.config import Settings
from bot.errors import ConfigError
from bot.metrics import Metrics
from bot.state import BotState
from handlers import registry
from handlers.services import Services

log = structlog.get_logger("cloudops")


def bot_version() -> str:
    try:
        return version("smart-cloudops-ai")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0+src"


@dataclass
class Bot:
    settings: Settings
    metrics: Metrics = field(init=False)
    state: BotState = field(init=False)
    services: Services = field(init=False)
    slack: Any = None
    runner: Any = None
    sidecar: Any = None

    def __post_init__(self) -> None:
        v = bot_version()
        self.metrics = Metrics(v, commands=registry.verbs(), aws_operations=registry.aws_operations())
        self.metrics.init_actions(registry.action_names())
        problems = registry.action_rule_problems(self.settings.action_rules)
        if problems:  # configuration cannot import the entries, so the names are checked here, at start-up
            raise ConfigError(problems)
        self.state = BotState(version=v)
        self.services = Services.build(self.settings, self.metrics)

    def start(self, *, slack: bool = True, sidecar: bool = True) -> Bot:
        if sidecar:
            from bot.sidecar.server import Sidecar

            self.sidecar = Sidecar(self.settings, self.services, self.state).start()
            log.info("sidecar_listening", url=self.sidecar.url)
        if slack:
            from bot.slack.app import SlackBot
            from bot.slack.socket import SocketRunner

            self.slack = SlackBot(self.settings, self.services, self.state)
            self.runner = SocketRunner(self.slack, self.settings.slack_app_token)
            self.runner.start()
            log.info("slack_connecting", api_url=self.settings.slack_api_url)
            if self.settings.alarm_channel or self.settings.alarm_routes:
                watcher = self.slack.watch_incidents()
                log.info("alarm_watch", channels=sorted(watcher.channels()))
        return self

    def stop(self, drain_s: float | None = None) -> int:
        aborted = 0
        if self.slack is not None and self.slack.incidents is not None:
            self.slack.incidents.stop()
        if self.runner is not None:
            aborted = self.runner.stop(self.settings.drain_s if drain_s is None else drain_s)
            self.runner = None
        if self.slack is not None:
            self.slack.queue.shutdown()
            self.slack = None
        if self.sidecar is not None:
            self.sidecar.stop()
            self.sidecar = None
        self.services.close()
        return aborted
