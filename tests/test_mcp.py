"""`cloudops-bot mcp`: an MCP client (the SDK's own) lists the bot's read-only tools, calls each against
the seeded moto sandbox, gets redacted results, is refused without the bearer token over HTTP, and every
call leaves exactly one audit line — over streamable HTTP in-process and over stdio in a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import boto3
import httpx2
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from structlog.testing import capture_logs

from bot.__main__ import build_parser, main
from bot.config import Settings
from bot.mcp.calls import tools_for
from bot.mcp.http import PATH, McpHttpServer
from bot.runtime import Bot
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from tests.harness import FAKE_AWS_ENV

TOKEN = "mcp-test-token-7f3a"
ALIASES = {"api": "/ecs/api-prod", "worker": "/ecs/worker-prod"}


def _calls(incident: SeededIncident) -> list[tuple[str, dict[str, Any]]]:
    """One call of every tool, with arguments a person would pass, in the order the server lists them."""
    return [
        ("list_instances", {}),
        ("describe_ecs_service", {"service": "api-prod"}),
        ("list_ecs_services", {}),
        ("search_logs", {"group": "worker", "terms": ["reconnecting"], "window": "1h"}),
        ("list_log_groups", {}),
        ("get_alarms", {}),
        ("recent_changes", {"resource": "api-prod", "window": "1h"}),
        ("get_instance_metrics", {"instance": incident.spiking_instance, "kind": "cpu", "window": "2h"}),
        ("describe_lambda", {"function": "checkout", "window": "1h"}),
        ("describe_db", {"instance": "orders-db", "window": "1h"}),
    ]


@contextmanager
def _bot(**overrides: Any) -> Iterator[Bot]:
    values: dict[str, Any] = {"sidecar_token": TOKEN, "mcp_addr": "127.0.0.1:0", "log_aliases": ALIASES,
                              "aws_max_attempts": 2}
    values.update(overrides)
    bot = Bot(Settings.from_values(values))
    try:
        yield bot
    finally:
        bot.stop(0)


@contextmanager
def _http(**overrides: Any) -> Iterator[tuple[Bot, str]]:
    with _bot(**overrides) as bot, McpHttpServer(bot.services, version="test") as server:
        yield bot, server.url


async def _session(read: Any, write: Any, calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    async with ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        return listed, [await session.call_tool(name, args) for name, args in calls]


def _over_http(url: str, calls: list[tuple[str, dict[str, Any]]], token: str | None = TOKEN) -> tuple[Any, list[Any]]:
    async def run() -> tuple[Any, list[Any]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
                streamable_http_client(url, http_client=http) as (read, write):
            return await _session(read, write, calls)

    return anyio.run(run)


def _text(result: Any) -> str:
    return "\n".join(c.text for c in result.content)


def _audit(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == "request"]


def _check_results(results: list[Any], incident: SeededIncident, calls: list[tuple[str, dict[str, Any]]]) -> None:
    texts = dict(zip([name for name, _ in calls], map(_text, results), strict=True))
    assert not [name for name, r in zip(texts, results, strict=True) if r.is_error], texts
    assert all(iid in texts["list_instances"] for iid in incident.instances.values())
    assert "reconnecting" in texts["search_logs"]  # the leaking line is there...
    assert incident.fake_secret not in texts["search_logs"]  # ...without the secret
    assert incident.fake_access_key_id not in texts["search_logs"] and "REDACTED" in texts["search_logs"]
    assert all(g in texts["list_log_groups"] for g in incident.log_groups)
    assert all(a in texts["get_alarms"] for a in incident.alarms_in_alarm)
    assert incident.instances[incident.spiking_instance] in texts["get_instance_metrics"]
    assert "ecs UpdateService by maria.k@example.com" in texts["recent_changes"]
    assert "api exit 137" in texts["describe_ecs_service"] and "api-prod" in texts["list_ecs_services"]
    assert "checkout" in texts["describe_lambda"] and "orders-db" in texts["describe_db"]
    assert all(incident.fake_secret not in t for t in texts.values())


def test_http_client_lists_and_calls_every_tool_redacted_and_audited_once(incident: SeededIncident) -> None:
    calls = _calls(incident)
    with _http() as (bot, url), capture_logs() as events:
        listed, results = _over_http(url, calls)
        toolbox = {t.name: t for t in tools_for(bot.services)}
    assert {t.name: t.input_schema for t in listed.tools} == {n: t.parameters for n, t in toolbox.items()}
    assert all(t.annotations.read_only_hint and not t.annotations.destructive_hint for t in listed.tools)
    assert {name for name, _ in calls} == set(toolbox)  # every tool called once
    _check_results(results, incident, calls)
    audit = _audit(events)
    assert [a["command"] for a in audit] == [name for name, _ in calls]
    assert all(a["source"] == "mcp" and a["transport"] == "http" and a["user"] == "mcp" and a["outcome"] == "ok"
               and a["aws_calls"] >= 1 for a in audit)
    assert all(incident.fake_secret not in json.dumps(a) for a in audit)


def test_http_without_the_token_is_refused_before_any_tool_runs(incident: SeededIncident) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "curl", "version": "1"}}}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_instances", "arguments": {}}}
    accept = {"Accept": "application/json, text/event-stream"}
    with _http() as (_, url), capture_logs() as events:
        missing = httpx2.post(url, json=call, headers=accept)
        wrong = httpx2.post(url, json=call, headers={**accept, "Authorization": "Bearer not-the-token"})
        right = httpx2.post(url, json=init, headers={**accept, "Authorization": f"Bearer {TOKEN}"})
        with pytest.raises(ExceptionGroup) as refused:  # the SDK's own client, no token
            _over_http(url, [("list_instances", {})], token=None)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "bearer token is required" in missing.json()["error"]
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert right.status_code == 200 and right.json()["result"]["serverInfo"]["name"] == "cloudops-bot"
    assert refused.group_contains(MCPError, match="error response")
    assert _audit(events) == []  # nothing ran, so nothing to audit


def test_http_with_no_token_configured_is_closed(incident: SeededIncident) -> None:
    with _http(sidecar_token="") as (_, url):
        answer = httpx2.post(url, json={}, headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 403 and "CLOUDOPS_SIDECAR_TOKEN" in answer.json()["hint"]


def test_rate_limits_access_and_bad_calls_are_refused_and_each_audited_once(incident: SeededIncident) -> None:
    calls = [("list_log_groups", {}), ("search_logs", {"window": "1h"}), ("no_such_tool", {}),
             ("list_log_groups", {}), ("search_logs", {"group": "worker", "terms": ["x" * 600]})]
    # burst 2: the first two calls are admitted (the second then fails its argument check); an unknown tool
    # is refused before the rate limit is charged, as an unknown Slack command is; the fourth is over the limit;
    # the fifth is longer than CLOUDOPS_MAX_COMMAND_CHARS, which is checked before the rate limit
    with _http(rate_user_burst=2, rate_user_per_min=1) as (_, url), capture_logs() as events:
        _, results = _over_http(url, calls)
    assert [r.is_error for r in results] == [False, True, True, True, True]
    assert "missing required argument(s): group" in _text(results[1])
    assert "no tool named 'no_such_tool'" in _text(results[2]) and "list_instances" in _text(results[2])
    assert "requests a minute" in _text(results[3])
    assert "characters; the limit is 500" in _text(results[4])
    assert [(a["command"], a["outcome"]) for a in _audit(events)] == [
        ("list_log_groups", "ok"), ("search_logs", "bad_input"), ("unknown", "bad_input"),
        ("list_log_groups", "rate_limited"), ("search_logs", "bad_input")]
    with _http(access_read_users=("U-alice",)) as (_, url), capture_logs() as events:
        _, (denied,) = _over_http(url, [("get_alarms", {})])
    assert denied.is_error and "not on the list" in _text(denied)
    assert [(a["command"], a["outcome"], a["aws_calls"]) for a in _audit(events)] == [("get_alarms", "denied", 0)]


def test_results_are_cut_to_the_model_loops_budget(incident: SeededIncident) -> None:
    with _http(llm_tool_result_chars=120) as (_, url):
        _, (result,) = _over_http(url, [("list_instances", {})])
    text = _text(result)
    assert not result.is_error and len(text.split("\n… [cut:")[0]) == 120 and "more chars" in text


def test_stdio_subprocess_lists_calls_every_tool_and_audits_on_stderr(aws: tuple[MotoSandbox, SeededIncident],
                                                                     tmp_path: Path) -> None:
    sandbox, incident = aws
    calls = _calls(incident)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "CLOUDOPS_"))}
    env.update(FAKE_AWS_ENV)
    env.update({"AWS_ENDPOINT_URL": sandbox.endpoint_url, "CLOUDOPS_LOG_FORMAT": "json",
                "CLOUDOPS_LOG_ALIASES": ",".join(f"{k}={v}" for k, v in ALIASES.items()),
                "CLOUDOPS_AWS_MAX_ATTEMPTS": "2"})
    params = StdioServerParameters(command=sys.executable, args=["-m", "bot", "mcp"], env=env,
                                   cwd=str(Path(__file__).parent.parent))
    errlog = tmp_path / "stderr.log"

    async def run() -> tuple[Any, list[Any]]:
        with errlog.open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write):
                return await _session(read, write, calls)

    listed, results = anyio.run(run)
    assert [t.name for t in listed.tools] == [name for name, _ in calls]
    _check_results(results, incident, calls)
    lines = [json.loads(x) for x in errlog.read_text().splitlines() if x.startswith("{")]
    audit = _audit(lines)
    assert [(a["command"], a["transport"], a["outcome"]) for a in audit] == [(n, "stdio", "ok") for n, _ in calls]
    assert incident.fake_secret not in errlog.read_text()


def test_mcp_over_http_will_not_start_without_a_token(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CLOUDOPS_SIDECAR_TOKEN", raising=False)
    monkeypatch.delenv("CLOUDOPS_CONFIG", raising=False)
    assert main(["mcp", "--http"]) == 2
    assert "CLOUDOPS_SIDECAR_TOKEN is required" in capsys.readouterr().err


def test_readme_client_configurations_parse_and_name_this_command_and_path() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## MCP clients", 1)[1].split("\n## ", 1)[0]
    blocks = [json.loads(b.split("```", 1)[0]) for b in section.split("```json\n")[1:]]
    stdio = blocks[0]["mcpServers"]["cloudops"]
    assert stdio["command"] == "cloudops-bot" and build_parser().parse_args(stdio["args"]).fn.__name__ == "_mcp"
    http = blocks[1]["servers"]["cloudops"]
    assert http["type"] == "http" and http["url"].endswith(PATH) and http["headers"]["Authorization"].startswith(
        "Bearer ")


def test_what_a_tool_does_not_scrub_itself_is_scrubbed_before_it_leaves(
        aws: tuple[MotoSandbox, SeededIncident]) -> None:
    """A log group *name* carrying an access key id: the tool lists names verbatim, the MCP edge redacts."""
    sandbox, incident = aws
    logs = boto3.client("logs", endpoint_url=sandbox.endpoint_url, region_name=incident.region)
    leaky = f"/mcp-test/{incident.fake_access_key_id}"
    logs.create_log_group(logGroupName=leaky)
    try:
        with _http() as (_, url):
            _, (result,) = _over_http(url, [("list_log_groups", {"prefix": "/mcp-test"})])
    finally:
        logs.delete_log_group(logGroupName=leaky)
    assert not result.is_error and "/mcp-test/[REDACTED:aws_access_key_id]" in _text(result)
    assert incident.fake_access_key_id not in _text(result)


def test_an_oversized_http_body_is_refused_before_parsing(incident: SeededIncident) -> None:
    with _http(mcp_max_body_bytes=2048) as (_, url):
        answer = httpx2.post(url, content=b"{" + b" " * 4096 + b"}", headers={
            "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream"})
    assert answer.status_code == 413


def test_mcp_http_command_serves_until_sigterm(aws: tuple[MotoSandbox, SeededIncident]) -> None:
    """`cloudops-bot mcp --http` as an operator runs it: says where it listens, answers, stops on SIGTERM."""
    sandbox, incident = aws
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "CLOUDOPS_"))}
    env.update(FAKE_AWS_ENV)
    env.update({"AWS_ENDPOINT_URL": sandbox.endpoint_url, "CLOUDOPS_LOG_FORMAT": "json",
                "CLOUDOPS_SIDECAR_TOKEN": TOKEN, "CLOUDOPS_MCP_ADDR": "127.0.0.1:0"})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "mcp", "--http"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(Path(__file__).parent.parent))
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "MCP over streamable HTTP at http://127.0.0.1:" in line, line
        url = line.rsplit(" ", 1)[1].strip()
        _, (alarms,) = _over_http(url, [("get_alarms", {})])
        assert not alarms.is_error and incident.alarms_in_alarm[0] in _text(alarms)
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0
    audit = _audit([json.loads(x) for x in out.splitlines() if x.startswith("{")])
    assert [(a["command"], a["transport"], a["outcome"]) for a in audit] == [("get_alarms", "http", "ok")]
