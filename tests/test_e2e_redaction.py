"""Secrets that used to slip past the scrub, end to end: moto holds the logs, the real bot answers in the
Slack emulator and calls the local model server, the sidecar serves /logs over HTTP. Each test looks at
every Slack call, every model request and every sidecar answer, not at a function's return value."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

import boto3
import pytest

from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import Running, running_bot, text_of
from tests.peers.forward import ForwardingHandler
from tests.peers.llm_server import FakeLLMServer, Scripted
from tests.secret_corpus import ALNUM, SecretCase, pem, rand, unusual_cases
from tests.sidecar_client import TOKEN, call, running_sidecar

GROUP = "/ecs/keys-prod"


@dataclass(frozen=True)
class Leaky:
    """What the seeded group holds: a PEM key one line per event, a token split over two events, and a
    stream whose name ends in a token."""

    key_lines: tuple[str, ...]
    split_token: str
    stream_token: str
    unusual: tuple[SecretCase, ...]  # one line each of the shapes issue 16 found getting through

    def secrets(self) -> list[str]:
        return [*self.key_lines, self.split_token, self.split_token[:20], self.split_token[20:],
                self.stream_token, self.stream_token[-20:], *(c.secret for c in self.unusual)]


@pytest.fixture(scope="module")
def leaky(incident: SeededIncident) -> Leaky:
    g = random.Random(16)
    block = pem(g, "RSA PRIVATE KEY").split("\n")
    split = "ghp_" + rand(g, ALNUM, 36)
    stream_token = "ghp_" + rand(g, ALNUM, 36)
    logs = boto3.client("logs", region_name=incident.region)
    logs.create_log_group(logGroupName=GROUP)
    unusual = tuple(c for c in unusual_cases(g) if "\n" not in c.line)
    streams = {"web/web/0a1b2c": [], f"sidecar/{stream_token}": [], "app/app/9f8e7d": []}
    now = int(time.time() * 1000) - 120_000
    key_stream, token_stream, _ = streams
    lines = ["ERROR tls: loading key from TLS_KEY", *block, "ERROR tls: handshake failed, retrying"]
    for i, line in enumerate(lines):
        streams[key_stream].append((now + i * 10, line))
        streams[token_stream].append((now + i * 10 + 5, f"INFO heartbeat {i} ok"))  # interleaved by time
    t = now + len(lines) * 10
    streams[token_stream] += [(t, f"ERROR upstream 401 with token {split[:20]}"), (t + 1, f"{split[20:]} rejected")]
    streams["app/app/9f8e7d"] = [(now + 1000 + i, f"ERROR {c.line}") for i, c in enumerate(unusual)]
    for stream, events in streams.items():
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        logs.put_log_events(logGroupName=GROUP, logStreamName=stream,
                            logEvents=[{"timestamp": ts, "message": m} for ts, m in events])
    return Leaky(tuple(block[1:-1]), split, stream_token, unusual)


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
    assert len(events) == 2 * (len(leaky.key_lines) + 4) + 2 + len(leaky.unusual), "one message per event"
    assert any("heartbeat" in e["message"] for e in events)
    for view in views:
        leaked = [s for s in leaky.secrets() if s in view.text]
        assert leaked == []
    assert {e["stream"] for e in events} == {"web/web/0a1b2c", "sidecar/[REDACTED:github_token]", "app/app/9f8e7d"}


# --- paths that used to skip the scrub --------------------------------------------------------------
GHP = "ghp_" + "Zt4kQ9wLmX2vB7nR5sHc8JdF3gY6pA1eKuVo"  # the shape of a GitHub token, not a real one
INERT = ("\x00", "\x1b", "\u202e", "\u2066", "\u200b")


def test_the_echoed_command_and_the_q_header_are_redacted_and_cleaned(bot: Running, llm: FakeLLMServer) -> None:
    llm.script(Scripted(content="The deploy key was rotated; use the new one."))
    question = f"ask why does the deploy fail with {GHP}\x00\x1b[31m \u202eevil\u202c now\u200b?"
    parent, replies = bot.command(question, channel="C-echo")
    header = replies[0]["blocks"][0]["text"]["text"]
    for shown in (parent["text"], header, text_of(replies[0])):
        assert GHP not in shown and GHP[:12] not in shown
        assert not [c for c in INERT if c in shown]
    assert "[REDACTED:github_token]" in parent["text"] and header.startswith("Q: why does the deploy fail")
    assert "[REDACTED:github_token]" in header
    assert bot.slack.wait_for(lambda: "Working on" in json.dumps(bot.slack.ephemerals("C-echo")), 10)
    acks = json.dumps(bot.slack.ephemerals("C-echo"))  # the "Working on …" ack echoes the command too
    assert "Working on" in acks and GHP not in acks and "\\u001b" not in acks and "\\u202e" not in acks
    assert GHP not in _everything_sent(bot, llm)


def test_the_sidecar_query_title_is_redacted_and_cleaned(incident: SeededIncident) -> None:
    with running_sidecar() as side:
        answer = side.query(f"ask is {GHP} still valid?\x1b]0;title\x07\u202e")
    assert answer.status == 200
    body = answer.json()
    assert body["title"].startswith("Q: is [REDACTED:github_token] still valid")
    assert GHP not in answer.text and not [c for c in INERT if c in answer.text]


AWS_SECRET = "Zq81/hunter2+Kp90aaBBccDDeeFFggHHiiJJkkLL"  # 40 characters, the shape of an AWS secret key
AWS_ERROR = (f"1 validation error: filterPattern rejected for role session with aws_secret_access_key={AWS_SECRET} "
             "and password=Zq81-hunter2-xK")


@contextmanager
def _aws_that_fails_log_reads(upstream: str) -> Iterator[str]:
    """A loopback peer in front of moto that answers FilterLogEvents with an error quoting a secret, the way
    AWS error messages quote request parameters; everything else goes to moto unchanged."""

    class Handler(ForwardingHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            if self.headers.get("X-Amz-Target", "").endswith(".FilterLogEvents"):
                payload = json.dumps({"__type": "InvalidParameterException", "message": AWS_ERROR}).encode()
                self.send(400, {"Content-Type": "application/x-amz-json-1.1",
                                "x-amzn-ErrorType": "InvalidParameterException"}, payload)
                return
            self.forward(upstream, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    saved = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield os.environ["AWS_ENDPOINT_URL"]
    finally:
        os.environ["AWS_ENDPOINT_URL"] = saved
        server.shutdown()
        server.server_close()


def test_an_aws_error_quoting_a_secret_is_redacted_in_slack_and_the_sidecar(incident: SeededIncident) -> None:
    with _aws_that_fails_log_reads(os.environ["AWS_ENDPOINT_URL"]), SlackEmulator() as slack, \
            running_bot(slack, None) as failing, running_sidecar() as side:
        _, replies = failing.command("logs api 30m", channel="C-aws-error")
        over_http = call(f"{side.url}/logs?group=api&since=30m", token=TOKEN)
        query = side.query("logs api 30m")
        sent = json.dumps([c.params for c in slack.calls()])
    answer = text_of(replies[0])
    assert "InvalidParameterException" in answer and "filterPattern rejected" in answer  # AWS's words are shown
    assert over_http.status == 502 and "filterPattern rejected" in over_http.text
    for shown in (sent, over_http.text, query.text):
        assert AWS_SECRET not in shown and AWS_SECRET[:12] not in shown and "hunter2-xK" not in shown
    assert "[REDACTED:" in answer and "[REDACTED:" in over_http.text and "[REDACTED:" in query.text


# --- Slack rendering: one neutraliser for streamed and posted answers -------------------------------
LURE = ("Sign in again at https://evil.example/login?next=/ or [reset it](http://evil.example/reset) now "
        "@here @channel, mirror on www.evil.example/docs.")


@pytest.fixture(scope="module")
def unstreamed(incident: SeededIncident, llm: FakeLLMServer) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, llm, stream_answers=False) as running:
        yield running


@pytest.mark.parametrize("which", ["streamed", "posted"])
def test_links_and_broadcasts_in_a_model_answer_are_neutralised_on_both_paths(
        which: str, bot: Running, unstreamed: Running, llm: FakeLLMServer) -> None:
    running = bot if which == "streamed" else unstreamed
    filler = "The api target group lost its healthy targets after the deploy and checkout kept failing. " * 4
    llm.script(Scripted(content=filler + LURE + " " + filler, chunk_chars=9, chunk_delay_s=0.002))
    before = len(running.slack.calls())
    _, replies = running.command("ask how do I get back in?", channel=f"C-lure-{which}")
    calls = running.slack.calls()[before:]
    assert any(c.method.endswith("Stream") for c in calls) == (which == "streamed")
    sent = json.dumps([c.params for c in calls], ensure_ascii=False)
    for armed in ("https://evil", "http://evil", "www.evil", "](", "@here", "@channel"):
        assert armed not in sent, armed
    shown = text_of(replies[-1])
    assert "https[:]//evil[.]example/login" in shown and "＠here" in shown and "www[.]evil[.]example" in shown
