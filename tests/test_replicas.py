"""Two replicas (two `cloudops-bot run` processes) sharing Redis, behind one Slack emulator that spreads
envelopes across their connections: duplicates answered once, rate limits and alarm incidents held
across replicas, and no reply lost when Redis is killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import FAKE_AWS_ENV, text_of
from tests.test_store_redis import REDIS_BIN, RedisProcess

pytestmark = pytest.mark.skipif(REDIS_BIN is None, reason="redis-server binary not found (Debian package)")
ALARM = "replica-test-cpu"


class Replicas:
    def __init__(self, slack: SlackEmulator, redis_url: str, moto_url: str, logdir: Path) -> None:
        self.slack = slack
        self.logs = [logdir / f"replica-{i}.jsonl" for i in range(2)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "CLOUDOPS_"))}
        env.update(FAKE_AWS_ENV)
        env.update({"SLACK_BOT_TOKEN": "xoxb-r", "SLACK_APP_TOKEN": "xapp-r", "SLACK_API_URL": slack.api_url,
                    "AWS_ENDPOINT_URL": moto_url, "CLOUDOPS_SIDECAR_ADDR": "127.0.0.1:0",
                    "CLOUDOPS_REDIS_URL": redis_url, "CLOUDOPS_REDIS_TIMEOUT_S": "0.3",
                    "CLOUDOPS_RATE_USER_BURST": "3", "CLOUDOPS_RATE_USER_PER_MIN": "1",
                    "CLOUDOPS_ALARM_CHANNEL": "C-rep-alarms", "CLOUDOPS_ALARM_POLL_SECONDS": "1",
                    "CLOUDOPS_LOG_FORMAT": "json"})
        self.procs = [subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env,
                                       stdout=log.open("w"), stderr=subprocess.DEVNULL) for log in self.logs]

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()

    def handled(self) -> list[int]:
        """Requests each replica handled, from its own audit log."""
        out = []
        for log in self.logs:
            events = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
            out.append(sum(1 for e in events if e.get("event") == "request"))
        return out


@pytest.fixture(scope="module")
def cluster(aws: tuple[MotoSandbox, SeededIncident], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("replicas")
    with ExitStack() as stack:
        redis_proc = RedisProcess(tmp)
        redis_proc.start()
        stack.callback(redis_proc.kill)
        slack = stack.enter_context(SlackEmulator(seed=3))
        reps = Replicas(slack, redis_proc.url, aws[0].endpoint_url, tmp)
        stack.callback(reps.stop)
        slack.wait_connected(2, timeout=40)
        yield slack, reps, redis_proc


def _answers(slack: SlackEmulator, channel: str, root: str) -> list[dict[str, Any]]:
    return [m for m in slack.thread(channel, root)[1:] if m.get("bot_id")]


def test_redelivered_events_are_answered_once_across_replicas(cluster: Any) -> None:
    slack, reps, _ = cluster
    roots = []
    for i in range(10):
        ts = slack.send_mention("help", user=f"U-dup{i}", channel="C-rep-dup")
        env = [e for e in slack.envelopes() if e.type == "events_api"][-1]
        slack.redeliver(env.envelope_id)
        slack.redeliver(env.envelope_id)
        roots.append(ts)
    assert slack.wait_for(lambda: all(_answers(slack, "C-rep-dup", r) for r in roots), 30)
    time.sleep(1.5)
    counts = [len(_answers(slack, "C-rep-dup", r)) for r in roots]
    per_replica = reps.handled()
    print(f"answers per mention {counts}; requests handled per replica {per_replica}")
    assert counts == [1] * 10
    assert all(n > 0 for n in per_replica), "the emulator should have spread envelopes over both replicas"


def test_a_per_user_rate_limit_holds_across_replicas(cluster: Any) -> None:
    slack, _, _ = cluster
    for _ in range(5):
        slack.send_slash_command("help", user="U-rl-shared", channel="C-rep-rl")
    refused = lambda: [e for e in slack.ephemerals("C-rep-rl") if "requests a minute" in str(e.get("text"))]  # noqa: E731
    assert slack.wait_for(lambda: len(slack.channel_messages("C-rep-rl")) + len(refused()) >= 5, 30)
    time.sleep(1.0)
    assert len(slack.channel_messages("C-rep-rl")) == 3 and len(refused()) == 2


def test_an_alarm_incident_is_announced_once(cluster: Any, aws: tuple[MotoSandbox, SeededIncident]) -> None:
    slack, _, _ = cluster
    cw = boto3.client("cloudwatch", endpoint_url=aws[0].endpoint_url, region_name="us-east-1")
    cw.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/EC2", MetricName="CPUUtilization", Statistic="Average",
                        Period=60, EvaluationPeriods=1, Threshold=90.0, ComparisonOperator="GreaterThanThreshold")
    try:
        cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="replica test")
        parents = lambda: [m for m in slack.channel_messages("C-rep-alarms") if ALARM in str(m.get("text"))]  # noqa: E731
        assert slack.wait_for(lambda: bool(parents()), 20)
        time.sleep(4)  # several more polls by both replicas
        assert len(parents()) == 1
        for name in aws[1].alarms_in_alarm:
            assert len([m for m in slack.channel_messages("C-rep-alarms") if name in str(m.get("text"))]) == 1
    finally:
        cw.delete_alarms(AlarmNames=[ALARM])


def test_answer_buttons_work_on_whichever_replica_gets_the_click(cluster: Any) -> None:
    slack, reps, _ = cluster
    parent, channel = slack.send_slash_command("status", user="U-btn", channel="C-rep-btn"), "C-rep-btn"
    assert slack.wait_for(lambda: bool(slack.channel_messages(channel)), 20), parent
    root = slack.channel_messages(channel)[0]["ts"]
    assert slack.wait_for(lambda: any(_buttons(m) for m in _answers(slack, channel, root)), 30)
    answer = next(m for m in _answers(slack, channel, root) if _buttons(m))
    value = _buttons(answer)["answer_up"]
    for _ in range(8):
        slack.send_block_action(channel=channel, message_ts=answer["ts"], action_id="answer_up", value=value,
                                user="U-btn")
    said = lambda: [str(e.get("text")) for e in slack.ephemerals(channel)  # noqa: E731
                    if "feedback" in str(e.get("text")) or "expired" in str(e.get("text"))]
    assert slack.wait_for(lambda: len(said()) >= 8, 20)
    votes = [sum(1 for x in log.read_text().splitlines() if '"event": "feedback"' in x) for log in reps.logs]
    print(f"feedback clicks handled per replica {votes}")
    assert said() == ["Thanks for the feedback."] * 8
    assert all(n > 0 for n in votes), "the emulator should have spread the clicks over both replicas"


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    for block in message.get("blocks", []):
        if block.get("type") == "actions" and block.get("block_id") == "answer":
            return {e["action_id"]: e["value"] for e in block["elements"]}
    return {}


def test_killing_redis_mid_run_loses_no_reply(cluster: Any) -> None:
    slack, _, redis_proc = cluster
    redis_proc.kill()
    roots = [slack.send_mention("help", user=f"U-noredis{i}", channel="C-rep-noredis") for i in range(6)]
    assert slack.wait_for(lambda: all(_answers(slack, "C-rep-noredis", r) for r in roots), 30)
    assert all("CloudOps" in text_of(_answers(slack, "C-rep-noredis", r)[0]) for r in roots)
