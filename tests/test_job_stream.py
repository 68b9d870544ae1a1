"""CLOUDOPS_JOB_QUEUE=redis: `cloudops-bot run` acks and its `cloudops-bot worker` children answer, fed by
a Redis stream. A worker killed mid-answer (SIGKILL: no drain, no goodbye) loses nothing and answers nothing
twice; a busy line still tells people their place; SIGTERM drains."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import FAKE_AWS_ENV, text_of
from tests.peers.llm_server import FakeLLMServer
from tests.test_store_redis import REDIS_BIN, RedisProcess

pytestmark = pytest.mark.skipif(REDIS_BIN is None, reason="redis-server binary not found (Debian package)")


class StreamBot:
    """`cloudops-bot run` with the redis job queue; its worker processes are its children."""

    def __init__(self, slack: SlackEmulator, redis_url: str, moto_url: str, llm: FakeLLMServer, log: Path,
                 **extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "CLOUDOPS_"))}
        env.update(FAKE_AWS_ENV)
        env.update({"SLACK_BOT_TOKEN": "xoxb-js", "SLACK_APP_TOKEN": "xapp-js", "SLACK_API_URL": slack.api_url,
                    "AWS_ENDPOINT_URL": moto_url, "CLOUDOPS_SIDECAR_ADDR": "127.0.0.1:0",
                    "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.base_url, "CLOUDOPS_LLM_MODEL": "gpt-test",
                    "CLOUDOPS_REDIS_URL": redis_url, "CLOUDOPS_JOB_QUEUE": "redis", "CLOUDOPS_LOG_FORMAT": "json",
                    "CLOUDOPS_RATE_USER_BURST": "1000", "CLOUDOPS_RATE_CHANNEL_BURST": "1000",
                    "CLOUDOPS_STREAM_ANSWERS": "false", **extra})
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=log.open("w"),
                                     stderr=subprocess.STDOUT)

    def workers(self) -> list[int]:
        """Pids of the running `cloudops-bot worker` children."""
        out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(self.proc.pid)], capture_output=True,
                             text=True, check=False).stdout
        return [int(line.split()[0]) for line in out.splitlines() if "bot worker" in line]

    def wait_workers(self, n: int, timeout: float = 60) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = self.log.read_text().count('"worker_started"')
            pids = self.workers()
            if len(pids) >= n and started >= n:
                return pids
            time.sleep(0.2)
        raise AssertionError(f"{n} workers did not start:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


@pytest.fixture
def peers(aws: tuple[MotoSandbox, SeededIncident], tmp_path: Path) -> Iterator[Any]:
    with ExitStack() as stack:
        redis_proc = RedisProcess(tmp_path)
        redis_proc.start()
        stack.callback(redis_proc.kill)
        slack = stack.enter_context(SlackEmulator(seed=5))
        llm = stack.enter_context(FakeLLMServer(api_key="sk-test", latency_s=1.5))
        yield slack, redis_proc.url, aws[0].endpoint_url, llm, tmp_path


def _answers(slack: SlackEmulator, channel: str) -> list[list[dict[str, Any]]]:
    """Per parent message in the channel: the bot's replies in its thread."""
    return [[m for m in slack.thread(channel, p["ts"])[1:] if m.get("bot_id")] for p in slack.channel_messages(channel)]


@pytest.mark.timeout(300)
def test_a_killed_worker_loses_nothing_and_answers_nothing_twice(peers: Any) -> None:
    slack, redis_url, moto_url, llm, tmp = peers
    bot = StreamBot(slack, redis_url, moto_url, llm, tmp / "bot.jsonl", CLOUDOPS_WORKER_PROCESSES="2",
                    CLOUDOPS_WORKERS="3", CLOUDOPS_JOB_CLAIM_AFTER_S="3")
    try:
        slack.wait_connected(1, 40)
        victim = bot.wait_workers(2)[0]
        n, channel = 12, "C-js-crash"
        envelopes = [slack.send_slash_command(f"ask what is wrong with web-{i}?", user=f"U-js{i}", channel=channel)
                     for i in range(n)]
        # Both workers are waiting for the model on all their threads: the victim dies mid-answer.
        assert slack.wait_for(lambda: len(llm.received()) >= 6, 30)
        time.sleep(0.3)
        os.kill(victim, signal.SIGKILL)
        assert slack.wait_for(lambda: len(slack.channel_messages(channel)) >= n
                              and all(_answers(slack, channel)), 90), (
            len(slack.channel_messages(channel)), [len(a) for a in _answers(slack, channel)])
        time.sleep(4)  # a second answer, if any, would come from a re-run after the take-over
        acks = slack.acks()
        assert all(e in acks and acks[e].latency_s is not None for e in envelopes)
        assert len(slack.channel_messages(channel)) == n  # one thread per command, none opened twice
        assert [len(a) for a in _answers(slack, channel)] == [1] * n, [[text_of(m)[:80] for m in a]
                                                                      for a in _answers(slack, channel)]
        assert victim not in bot.workers() and len(bot.workers()) == 2  # the dead one was replaced
        assert '"job_taken_over"' in bot.log.read_text()  # its unfinished jobs were run by another worker
    finally:
        assert bot.stop() == 0


@pytest.mark.timeout(300)
def test_a_full_worker_tells_people_their_place_and_sigterm_drains(peers: Any) -> None:
    slack, redis_url, moto_url, llm, tmp = peers
    bot = StreamBot(slack, redis_url, moto_url, llm, tmp / "bot.jsonl", CLOUDOPS_WORKER_PROCESSES="1",
                    CLOUDOPS_WORKERS="1", CLOUDOPS_MAX_QUEUE="3")
    try:
        slack.wait_connected(1, 40)
        bot.wait_workers(1)
        channel = "C-js-line"
        ask = lambda i: slack.send_slash_command(f"ask is web-{i} healthy?", user=f"U-jl{i}", channel=channel)  # noqa: E731
        envelopes = [ask(0)]
        assert slack.wait_for(lambda: bool(slack.channel_messages(channel)), 30)  # the only worker is busy
        for i in range(1, 6):  # one at a time: envelopes are acked concurrently, in no promised order
            envelopes.append(ask(i))
            assert slack.wait_for(lambda: envelopes[-1] in slack.acks(), 20)
        said = [str((slack.acks()[e].payload or {}).get("text", "")) for e in envelopes]
        # The first one waiting is not told a number: nothing had taken its place in the stream yet.
        assert "number 2 in line" in said[2] and "number 3 in line" in said[3], said
        assert "at capacity" in said[4] and "at capacity" in said[5], said
        assert slack.wait_for(lambda: len(slack.channel_messages(channel)) >= 2, 30)
    finally:
        assert bot.stop() == 0  # SIGTERM: the worker finishes what it runs before the process exits
    answered = [a for a in _answers(slack, channel) if a]
    assert answered and all(len(a) == 1 for a in answered)
    assert '"worker_stopped_with_jobs"' not in bot.log.read_text()
