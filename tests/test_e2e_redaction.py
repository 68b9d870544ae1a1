"""Secrets that used to slip past the scrub, end to end: moto holds the logs, the real bot answers in the
Slack emulator and calls the local model server, the sidecar serves /logs over HTTP. Each test looks at
every Slack call, every model request and every sidecar answer, not at a function's return value."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from bot.aws.sandbox import SeededIncident
from bot.emulators.llm_server import FakeLLMServer, Scripted
from bot.emulators.slack import SlackEmulator
from tests.harness import Running, running_bot, text_of
from tests.secret_corpus import ALNUM, pem, rand
from tests.sidecar_client import TOKEN, call, running_sidecar

GROUP = "/ecs/keys-prod"


@dataclass(frozen=True)
class Leaky:
    """What the seeded group holds: a PEM key one line per event, a token split over two events, and a
    stream whose name ends in a token."""

    key_lines: tuple[str, ...]
    split_token: str
    stream_token: str

    def secrets(self) -> list[str]:
        return [*self.key_lines, self.split_token, self.split_token[:20], self.split_token[20:],
                self.stream_token, self.stream_token[-20:]]


@pytest.fixture(scope="module")
def leaky(incident: SeededIncident) -> Leaky:
    g = random.Random(16)
    block = pem(g, "RSA PRIVATE KEY").split("\n")
    split = "ghp_" + rand(g, ALNUM, 36)
    stream_token = "ghp_" + rand(g, ALNUM, 36)
    logs = boto3.client("logs", region_name=incident.region)
    logs.create_log_group(logGroupName=GROUP)
    streams = {"web/web/0a1b2c": [], f"sidecar/{stream_token}": []}
    now = int(time.time() * 1000) - 120_000
    key_stream, token_stream = streams
    lines = ["ERROR tls: loading key from TLS_KEY", *block, "ERROR tls: handshake failed, retrying"]
    for i, line in enumerate(lines):
        streams[key_stream].append((now + i * 10, line))
        streams[token_stream].append((now + i * 10 + 5, f"INFO heartbeat {i} ok"))  # interleaved by time
    t = now + len(lines) * 10
    streams[token_stream] += [(t, f"ERROR upstream 401 with token {split[:20]}"), (t + 1, f"{split[20:]} rejected")]
    for stream, events in streams.items():
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        logs.put_log_events(logGroupName=GROUP, logStreamName=stream,
                            logEvents=[{"timestamp": ts, "message": m} for ts, m in events])
    return Leaky(tuple(block[1:-1]), split, stream_token)


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="sk-test", model="gpt-test") as server:
        yield server


@pytest.fixture(scope="module")
def bot(incident: SeededIncident, llm: FakeLLMServer) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, llm, log_aliases={"keys": GROUP}) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_model(llm: FakeLLMServer) -> None:
    llm.reset()


def _everything_sent(bot: Running, llm: FakeLLMServer) -> str:
    """Every Slack Web API call's parameters and every model request, as one searchable text."""
    slack = json.dumps([c.params for c in bot.slack.calls()])
    return slack + json.dumps(llm.received())


def test_a_key_logged_one_line_per_event_never_reaches_slack_or_the_model(
        bot: Running, llm: FakeLLMServer, leaky: Leaky) -> None:
    llm.script(Scripted(content="TLS keeps failing to load its key."))
    _, replies = bot.command("logs keys 1h", channel="C-keys")
    answer = "\n".join(text_of(r) for r in replies)
    assert "handshake failed" in answer and "heartbeat" in answer  # the ordinary lines are all there
    assert "REDACTED:private_key" in answer
    assert llm.received(), "the model was asked"
    sent = _everything_sent(bot, llm)
    leaked = [s for s in leaky.secrets() if s in sent]
    assert leaked == []


def test_the_sidecar_logs_route_scrubs_the_event_stream_and_stream_names(leaky: Leaky) -> None:
    with running_sidecar() as side:
        views = [call(f"{side.url}/logs?group={GROUP}&since=1h{extra}", token=TOKEN)
                 for extra in ("", "&format=text", "&compact=1")]
    assert all(v.status == 200 for v in views)
    events = views[0].json()["events"]
    assert len(events) == 2 * (len(leaky.key_lines) + 4) + 2, "one message per event, none dropped or merged"
    assert any("heartbeat" in e["message"] for e in events)
    for view in views:
        leaked = [s for s in leaky.secrets() if s in view.text]
        assert leaked == []
    assert {e["stream"] for e in events} == {"web/web/0a1b2c", "sidecar/[REDACTED:github_token]"}
