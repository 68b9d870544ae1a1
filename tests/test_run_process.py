"""The installed entry point, black-box: `cloudops-bot run` configured only through the documented
environment variables, against the Slack emulator, moto and the model server; SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import FAKE_AWS_ENV, text_of
from tests.peers.llm_server import FakeLLMServer, Scripted


@pytest.fixture
def bot_process(aws: tuple[MotoSandbox, SeededIncident]) -> Iterator[tuple[SlackEmulator, FakeLLMServer,
                                                                          subprocess.Popen[str]]]:
    sandbox, _ = aws
    with SlackEmulator() as slack, FakeLLMServer(api_key="sk-proc") as llm:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "CLOUDOPS_"))}
        env.update(FAKE_AWS_ENV)
        env.update({
            "SLACK_BOT_TOKEN": "xoxb-proc", "SLACK_APP_TOKEN": "xapp-proc", "SLACK_API_URL": slack.api_url,
            "OPENAI_API_KEY": "sk-proc", "OPENAI_BASE_URL": llm.base_url, "CLOUDOPS_LLM_MODEL": "gpt-proc",
            "AWS_ENDPOINT_URL": sandbox.endpoint_url, "AWS_REGION": "us-east-1",
            "CLOUDOPS_SIDECAR_ADDR": "127.0.0.1:0", "CLOUDOPS_LOG_FORMAT": "json",
        })
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            slack.wait_connected(1, timeout=30)
            yield slack, llm, proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)


def test_run_answers_in_thread_and_stops_on_sigterm(bot_process: tuple[SlackEmulator, FakeLLMServer,
                                                                       subprocess.Popen[str]],
                                                    incident: SeededIncident) -> None:
    slack, llm, proc = bot_process
    llm.script(Scripted(content="web-1 looks healthy."))
    slack.send_slash_command("status web-1", channel="C-proc")
    assert slack.wait_for(lambda: bool(slack.channel_messages("C-proc")), 20)
    parent = slack.channel_messages("C-proc")[0]
    reply = slack.wait_thread_replies("C-proc", parent["ts"], 1, 20)[0]
    assert reply["thread_ts"] == parent["ts"]
    assert incident.instances["web-1"] in text_of(reply) and "web-1 looks healthy." in text_of(reply)
    assert llm.received()[0]["model"] == "gpt-proc"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in err
    assert "xoxb-proc" not in out + err and "sk-proc" not in out + err  # tokens never logged
    assert '"event": "request"' in out  # one JSON audit line per request


def _start(slack: SlackEmulator, llm: FakeLLMServer, moto_url: str, drain_s: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "CLOUDOPS_"))}
    env.update(FAKE_AWS_ENV)
    env.update({"SLACK_BOT_TOKEN": "xoxb-proc", "SLACK_APP_TOKEN": "xapp-proc", "SLACK_API_URL": slack.api_url,
                "OPENAI_API_KEY": "sk-proc", "OPENAI_BASE_URL": llm.base_url, "AWS_ENDPOINT_URL": moto_url,
                "CLOUDOPS_SIDECAR_ADDR": "127.0.0.1:0", "CLOUDOPS_DRAIN_S": drain_s, "CLOUDOPS_LOG_FORMAT": "json"})
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


@pytest.mark.parametrize(("drain_s", "model_delay", "expect"), [("15", 2.0, "answer"), ("0.5", 8.0, "abort")])
def test_sigterm_with_requests_in_flight_answers_or_aborts_each(aws: tuple[MotoSandbox, SeededIncident],
                                                                drain_s: str, model_delay: float,
                                                                expect: str) -> None:
    with SlackEmulator() as slack, FakeLLMServer(api_key="sk-proc") as llm:
        llm.set_responder(lambda _req: Scripted(content="summary after a slow model", delay_s=model_delay))
        proc = _start(slack, llm, aws[0].endpoint_url, drain_s)
        try:
            slack.wait_connected(1, timeout=30)
            channels = [f"C-term-{expect}-{i}" for i in range(3)]
            for ch in channels:
                slack.send_slash_command("alarms", channel=ch)
            assert slack.wait_for(lambda: all(slack.channel_messages(ch) for ch in channels), 20)
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
            assert proc.returncode == 0
            for ch in channels:
                thread = slack.thread(ch, slack.channel_messages(ch)[0]["ts"])
                texts = [text_of(m) for m in thread[1:]]
                assert len(texts) == 1, texts  # exactly one: the answer or the abort message, never both
                if expect == "answer":
                    assert "summary after a slow model" in texts[0]
                else:
                    assert "restarting and could not finish" in texts[0]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
