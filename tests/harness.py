"""Shared wiring for end-to-end tests: moto + seeded incident, the Slack emulator, the model server,
and a real bot (same start-up code as `cloudops-bot run`) connected to them over loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.runtime import Bot
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident, seed_incident
from cloudops_demo.slack import SlackEmulator
from cloudops_demo.story import PEER_VARIABLES, seed_story
from cloudops_demo.trail_peer import TrailPeer
from tests.peers.llm_server import FakeLLMServer

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def aws_sandbox() -> Iterator[tuple[MotoSandbox, SeededIncident]]:
    """A seeded moto server, plus the peer for what moto lacks (CloudTrail, ECS tasks' exit codes, target
    health); boto3 reaches them through AWS_ENDPOINT_URL and its service-specific variables like a user's
    config would."""
    saved = {k: os.environ.get(k) for k in [*FAKE_AWS_ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE", *PEER_VARIABLES]}
    sandbox = MotoSandbox().start()
    peer = TrailPeer().start()
    os.environ.update(FAKE_AWS_ENV)
    os.environ["AWS_ENDPOINT_URL"] = sandbox.endpoint_url
    os.environ.update({k: peer.endpoint_url for k in PEER_VARIABLES})
    os.environ.pop("AWS_PROFILE", None)
    try:
        incident = seed_incident(sandbox.endpoint_url)
        seed_story(sandbox.endpoint_url, peer, now=incident.seeded_at)
        yield sandbox, incident
    finally:
        peer.stop()
        sandbox.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def bot_settings(slack: SlackEmulator, llm: FakeLLMServer | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_app_token": "xapp-test-token",
        "slack_api_url": slack.api_url,
        "sidecar_addr": "127.0.0.1:0",
        "log_aliases": {"api": "/ecs/api-prod", "worker": "/ecs/worker-prod"},
        "llm_max_retries": 0,
        "llm_timeout_s": 5.0,
        "aws_max_attempts": 2,
        "drain_s": 5.0,
    }
    if llm is not None:
        values.update(openai_api_key="sk-test", openai_base_url=llm.base_url, llm_model="gpt-test")
    values.update(overrides)
    return Settings.from_values(values)


@dataclass
class Running:
    bot: Bot
    slack: SlackEmulator

    def command(self, text: str, *, channel: str, user: str = "U1", replies: int = 1,
                timeout: float = 20.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send `/cloudops text`; wait for the parent message and ``replies`` thread replies."""
        before = len(self.slack.channel_messages(channel))
        self.slack.send_slash_command(text, user=user, channel=channel)
        assert self.slack.wait_for(lambda: len(self.slack.channel_messages(channel)) > before, timeout), (
            f"no parent message for /cloudops {text}")
        parent = self.slack.channel_messages(channel)[before]
        got = self.slack.wait_thread_replies(channel, parent["ts"], replies, timeout)
        return parent, got

    def mention(self, text: str, *, channel: str, thread_ts: str | None = None, replies: int = 1,
                timeout: float = 20.0) -> tuple[str, list[dict[str, Any]]]:
        ts = self.slack.send_mention(text, channel=channel, thread_ts=thread_ts)
        root = thread_ts or ts
        already = len(self.slack.thread(channel, root)) - 1  # replies so far, the new mention included
        got = self.slack.wait_thread_replies(channel, root, already + replies, timeout)
        return root, got[already:]


@contextmanager
def running_bot(slack: SlackEmulator, llm: FakeLLMServer | None, **overrides: Any) -> Iterator[Running]:
    bot = Bot(bot_settings(slack, llm, **overrides)).start(sidecar=False)
    try:
        slack.wait_connected(1, timeout=10)
        yield Running(bot, slack)
    finally:
        bot.stop(drain_s=2)


def text_of(message: dict[str, Any]) -> str:
    """Everything a user would read in a message: fallback text plus every block's text."""
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks", []) or []:
        parts.append(_block_text(block))
    return "\n".join(parts)


def _block_text(block: Any) -> str:
    if isinstance(block, dict):
        return "\n".join(_block_text(v) for k, v in block.items() if k in {"text", "fields", "elements"}
                         or isinstance(v, (dict, list)))
    if isinstance(block, list):
        return "\n".join(_block_text(b) for b in block)
    return str(block) if isinstance(block, str) else ""
