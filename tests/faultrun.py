"""Fault-injection driver shared by the CI test (small) and bench/fault_run.py (1,000 requests).

Real peers only: AWS throttling comes from a proxy in front of moto, model errors and timeouts from
the model server, 429s, socket drops, disconnect refreshes and duplicate deliveries from the Slack
emulator. The bot is the real one, started exactly as `cloudops-bot run` starts it.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from typing import Any

from bot.runtime import Bot
from cloudops_demo.slack import SlackEmulator
from tests.harness import bot_settings
from tests.peers.aws_faults import ThrottlingProxy
from tests.peers.llm_server import FakeLLMServer, Scripted

COMMANDS = ("status web-1", "alarms", "logs api 502 30m", "metrics api-1 cpu 1h", "status", "help")


@dataclass
class FaultFigures:
    sent: int = 0
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    unacked: int = 0
    unacked_on_open_socket: int = 0  # not acked although the socket it went out on stayed open: a bug
    error_replies: int = 0
    aws_throttled: int = 0
    slack_429: int = 0
    model_errors: int = 0
    redelivered: int = 0
    socket_events: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return ", ".join(f"{k}={v if not isinstance(v, float) else round(v, 1)}" for k, v in self.__dict__.items())


def _answers(slack: SlackEmulator, channel: str, root: str) -> list[dict[str, Any]]:
    """Bot replies in the thread that are answers (not 'busy, you are number N' notes)."""
    return [m for m in slack.thread(channel, root)[1:]
            if m.get("bot_id") and m.get("blocks") and m["blocks"][0].get("type") == "header"
            and "(part " not in str(m.get("text", ""))]


def run_faults(moto_endpoint: str, n: int, *, seed: int = 7, aws_throttle: float = 0.3, model_fail: float = 0.2,
               slack_429: float = 0.1, duplicates: float = 0.1, socket_faults: int = 2,
               settle_s: float = 120.0) -> FaultFigures:
    rng = random.Random(seed)
    figures = FaultFigures()
    proxy = ThrottlingProxy(moto_endpoint, aws_throttle, seed=seed).start()
    llm = FakeLLMServer(api_key="sk-test", error_rate=model_fail / 2, error_status=500, seed=seed).start()
    timeouts = random.Random(seed + 1)

    def responder(request: dict[str, Any]) -> Scripted:  # the other half of model failures: timeouts
        if timeouts.random() < model_fail / 2:
            return Scripted(content="late", delay_s=3.0)
        return Scripted(content="Summary (fake model): evidence reviewed.")

    llm.set_responder(responder)
    slack = SlackEmulator(seed=seed, redeliver_after_s=3.0).start()
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint_url
    try:
        bot = Bot(bot_settings(slack, llm, llm_timeout_s=1.0, llm_max_retries=1, aws_max_attempts=5,
                               aws_retry_mode="standard", rate_user_burst=1e6, rate_user_per_min=1e6,
                               rate_channel_burst=1e6, rate_channel_per_min=1e6, slack_ping_interval_s=0.5,
                               workers=32, max_queue=max(100, n))).start(sidecar=False)
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = saved
    try:
        slack.wait_connected(1, timeout=15)
        if slack_429 > 0:  # the emulator reads "no option" as "limit the next call only"
            slack.rate_limit("chat.postMessage", probability=slack_429, retry_after=1)
        start = time.monotonic()
        fault_at = {int(n * (i + 1) / (socket_faults + 1)) for i in range(socket_faults)}
        sent: list[tuple[str, str, str | None]] = []  # (kind, channel, envelope or mention ts)
        for i in range(n):
            channel = f"C-fault-{i:05d}"
            if i in fault_at:
                figures.socket_events += 1
                if len(fault_at) > 1 and i == min(fault_at):
                    slack.drop_sockets()
                else:
                    slack.disconnect_all("refresh_requested")
            if i % 3 == 2:
                ts = slack.send_mention(COMMANDS[i % len(COMMANDS)], user=f"U{i % 50}", channel=channel)
                sent.append(("mention", channel, ts))
                if rng.random() < duplicates:
                    env = [e for e in slack.envelopes() if e.type == "events_api"][-1]
                    slack.redeliver(env.envelope_id)
                    figures.redelivered += 1
            else:
                env_id = slack.send_slash_command(COMMANDS[i % len(COMMANDS)], user=f"U{i % 50}", channel=channel)
                sent.append(("command", channel, env_id))
            time.sleep(0.005)
        figures.sent = len(sent)

        def roots() -> list[tuple[str, str | None]]:
            out: list[tuple[str, str | None]] = []
            for kind, channel, ident in sent:
                if kind == "mention":
                    out.append((channel, ident))
                else:
                    top = [m for m in slack.channel_messages(channel) if m.get("bot_id")]
                    out.append((channel, top[0]["ts"] if top else None))
            return out

        def done() -> bool:
            return all(root and _answers(slack, ch, root) for ch, root in roots())

        slack.wait_for(done, timeout=settle_s)
        time.sleep(1.0)  # let any duplicate arrive before counting
        figures.seconds = time.monotonic() - start
        acks = slack.acks()
        for (kind, channel, ident), (_, root) in zip(sent, roots(), strict=True):
            answers = _answers(slack, channel, root) if root else []
            if not answers:
                figures.lost += 1
            if len(answers) > 1:
                figures.duplicated += 1
            if any("didn't work" in str(a.get("text", "")) or "went wrong" in str(a.get("text", ""))
                   for a in answers):
                figures.error_replies += 1
            if kind == "command" and ident not in acks:
                figures.unacked += 1
                if ident is None or not slack.cut_before_ack(ident):
                    figures.unacked_on_open_socket += 1
        figures.answered = figures.sent - figures.lost
        figures.aws_throttled = proxy.throttled
        figures.slack_429 = sum(1 for c in slack.calls("chat.postMessage") if c.status == 429)
        figures.model_errors = sum(1 for _ in range(0))  # filled from metrics below
        sample = bot.metrics.registry.get_sample_value
        figures.model_errors = int(sum(sample("cloudops_model_requests_total", {"model": "gpt-test", "outcome": o})
                                       or 0 for o in ("error", "timeout", "rate_limited")))
        return figures
    finally:
        bot.stop(drain_s=2)
        slack.stop()
        llm.stop()
        proxy.stop()
