"""One validated Settings object, built once at start-up from the environment and an optional YAML file.

Every setting is declared once in ``SPECS`` with its environment variable, default, description and
parser, so the README's configuration table, ``check-config`` and validation cannot drift apart.
Precedence: environment > YAML file (``CLOUDOPS_CONFIG``) > default. Nothing below this module reads
``os.environ``; the Settings object is passed down.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from bot.config_accounts import AccountSpec, account_problems, parse_accounts
from bot.config_actions import ActionRule, action_problems, parse_action_rules, parse_ssm_documents
from bot.errors import ConfigError

_DURATION = re.compile(r"^([0-9]+)([smhd])$")  # ASCII digits only: int() would take '１５' too
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Parse ``15m``/``2h``/``1d``/``30s`` into seconds; raises ValueError with a readable message."""
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise ValueError(f"{text!r} is not a duration like 15m, 2h or 1d")
    return int(m.group(1)) * _UNIT_S[m.group(2)]


def _csv(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(v.strip() for v in str(value).split(",") if v.strip())


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{value!r} is not a boolean (use true/false)")


def _mapping(value: Any) -> dict[str, str]:
    """Aliases and price tables come from YAML as a mapping, or from env as ``a=b,c=d``."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for item in _csv(value):
        key, sep, val = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r} should look like name=value")
        out[key.strip()] = val.strip()
    return out


def _addr(value: Any) -> str:
    _host, sep, port = str(value).rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not 0 <= int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port")
    return str(value)


def _duration(value: Any) -> int:
    """Config durations: ``15m``/``2h``/``1d``, or a plain number of seconds (YAML ints, tests)."""
    if isinstance(value, int) or (str(value).strip().isascii() and str(value).strip().isdigit()):
        return int(value)
    return parse_duration(str(value))


@dataclass(frozen=True)
class Spec:
    """How one setting is read: env var, default, description, parser and whether to mask it."""

    env: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = str
    secret: bool = False


# Field name -> spec. Order here is the order in check-config and the README table.
SPECS: dict[str, Spec] = {
    "slack_bot_token": Spec("SLACK_BOT_TOKEN", "", "Bot token (xoxb-…) for the Web API", secret=True),
    "slack_app_token": Spec("SLACK_APP_TOKEN", "", "App-level token (xapp-…) for Socket Mode", secret=True),
    "slack_api_url": Spec("SLACK_API_URL", "https://slack.com/api/", "Slack Web API base URL"),
    "openai_api_key": Spec("OPENAI_API_KEY", "", "Model API key; empty = evidence-only answers", secret=True),
    "openai_base_url": Spec("OPENAI_BASE_URL", "", "OpenAI-compatible endpoint (empty = api.openai.com)"),
    "llm_model": Spec("CLOUDOPS_LLM_MODEL", "gpt-4o-mini", "Model name sent to the endpoint"),
    "llm_timeout_s": Spec("CLOUDOPS_LLM_TIMEOUT_S", 30.0, "Per model request timeout (seconds)", float),
    "llm_max_retries": Spec("CLOUDOPS_LLM_MAX_RETRIES", 2, "Model request retries (SDK backoff)", int),
    "llm_max_steps": Spec("CLOUDOPS_LLM_MAX_STEPS", 6, "Tool-calling steps before forcing an answer", int),
    "llm_max_output_tokens": Spec("CLOUDOPS_LLM_MAX_OUTPUT_TOKENS", 800, "Max tokens per model answer", int),
    "llm_max_tool_calls": Spec(
        "CLOUDOPS_LLM_MAX_TOOL_CALLS", 8, "Tool calls run per model step; extra calls are refused with a note", int
    ),
    "request_deadline_s": Spec(
        "CLOUDOPS_REQUEST_DEADLINE_S", 120.0, "Overall time for one request across all model steps and streaming",
        float
    ),
    "llm_tool_result_chars": Spec(
        "CLOUDOPS_LLM_TOOL_RESULT_CHARS", 6000, "Each tool result is cut to this many chars", int
    ),
    "llm_tools": Spec(
        "CLOUDOPS_LLM_TOOLS", "auto", "Model tool calls: auto (a malformed call is reported once, then the answer "
        "comes from the triage bundle), on (always offered), off (one call over the bundle; small models)"
    ),
    "triage_window_s": Spec("CLOUDOPS_TRIAGE_WINDOW", 3600, "Look-back of a question's triage (a time hint "
                            "like 'since 10:40' widens it)", _duration),
    "triage_max_groups": Spec("CLOUDOPS_TRIAGE_MAX_GROUPS", 4, "Log groups read by one triage", int),
    "triage_max_instances": Spec("CLOUDOPS_TRIAGE_MAX_INSTANCES", 5, "Instances examined by one triage", int),
    "triage_max_alarms": Spec("CLOUDOPS_TRIAGE_MAX_ALARMS", 4, "Related alarms whose metrics one triage reads", int),
    "triage_bundle_chars": Spec(
        "CLOUDOPS_TRIAGE_BUNDLE_CHARS", 12000, "Triage evidence sent in the model's first prompt (chars)", int
    ),
    "llm_prices": Spec(
        "CLOUDOPS_LLM_PRICES",
        {"gpt-4o-mini": "0.15/0.60", "gpt-4o": "2.50/10.00"},
        "USD per 1M prompt/completion tokens by model, for the cost metric",
        _mapping,
    ),
    "aws_region": Spec("AWS_REGION", "", "AWS region (empty = boto3's chain: AWS_DEFAULT_REGION, profile)"),
    "aws_connect_timeout_s": Spec("CLOUDOPS_AWS_CONNECT_TIMEOUT_S", 3.0, "boto3 connect timeout", float),
    "aws_read_timeout_s": Spec("CLOUDOPS_AWS_READ_TIMEOUT_S", 10.0, "boto3 read timeout", float),
    "aws_max_attempts": Spec("CLOUDOPS_AWS_MAX_ATTEMPTS", 5, "botocore retry attempts (incl. first)", int),
    "aws_retry_mode": Spec("CLOUDOPS_AWS_RETRY_MODE", "adaptive", "botocore retry mode: standard|adaptive"),
    "aws_parallelism": Spec("CLOUDOPS_AWS_PARALLELISM", 8, "Concurrent AWS calls per request", int),
    "accounts": Spec(
        "CLOUDOPS_ACCOUNTS", {}, "AWS accounts by name: role_arn (+external_id) or profile, and regions "
        "(YAML mapping; JSON in the env var). Empty = the bot's own credentials only", parse_accounts
    ),
    "default_account": Spec("CLOUDOPS_DEFAULT_ACCOUNT", "", "Account used when none is named (empty = the first)"),
    "channel_scopes": Spec(
        "CLOUDOPS_CHANNEL_SCOPES", {}, "Channel id → default account or account/region, e.g. C123=prod/eu-west-1",
        _mapping
    ),
    "sts_session_name": Spec("CLOUDOPS_STS_SESSION_NAME", "cloudops-bot", "RoleSessionName for AssumeRole"),
    "sts_duration_s": Spec("CLOUDOPS_STS_DURATION_S", 3600, "AssumeRole session length (refreshed before expiry)",
                           _duration),
    "fanout_parallelism": Spec(
        "CLOUDOPS_FANOUT_PARALLELISM", 4, "Account/region targets queried at once by fleet-wide commands", int
    ),
    "answer_ttl_s": Spec("CLOUDOPS_ANSWER_TTL", 86400, "How long an answer's buttons (evidence, re-run) keep working",
                         _duration),
    "answer_max_chars": Spec(
        "CLOUDOPS_ANSWER_MAX_CHARS", 100_000, "Evidence/prompt kept per answer for its buttons (the rest is cut)", int
    ),
    "log_aliases": Spec(
        "CLOUDOPS_LOG_ALIASES", {}, "Short names for log groups, e.g. api=/ecs/api-prod", _mapping
    ),
    "log_group_allow": Spec(
        "CLOUDOPS_LOG_GROUP_ALLOW", (), "Log groups the bot may read, glob patterns, e.g. /ecs/*,/aws/lambda/checkout "
        "(empty = all the IAM policy allows)", _csv
    ),
    "log_group_allow_channels": Spec(
        "CLOUDOPS_LOG_GROUP_ALLOW_CHANNELS", {}, "Per channel, a narrower list: C123=/ecs/api-*|/ecs/web-*", _mapping
    ),
    "default_window_s": Spec("CLOUDOPS_DEFAULT_WINDOW", 3600, "Default time window (15m, 1h, 1d)", _duration),
    "max_window_s": Spec("CLOUDOPS_MAX_WINDOW", 14 * 86400, "Longest window a user may ask for", _duration),
    "logs_max_events": Spec("CLOUDOPS_LOGS_MAX_EVENTS", 10000, "Cap on log events read per request", int),
    "logs_page_size": Spec("CLOUDOPS_LOGS_PAGE_SIZE", 1000, "filter_log_events page size", int),
    "logs_error_examples": Spec("CLOUDOPS_LOGS_ERROR_EXAMPLES", 5, "Newest error lines shown verbatim", int),
    "logs_budget_tokens": Spec("CLOUDOPS_LOGS_BUDGET_TOKENS", 2500, "Token budget for compacted logs", int),
    "logs_max_groups": Spec("CLOUDOPS_LOGS_MAX_GROUPS", 40, "Max line shapes kept by compaction", int),
    "max_line_chars": Spec("CLOUDOPS_MAX_LINE_CHARS", 400, "Long log lines are cut to this", int),
    "logs_scan_events": Spec("CLOUDOPS_LOGS_SCAN_EVENTS", 50000,
                             "Older events scanned past the cap, keeping only errors, warnings and notable lines"
                             " (0 = none)", int),
    "logs_max_event_chars": Spec("CLOUDOPS_LOGS_MAX_EVENT_CHARS", 8000,
                                 "Longest log event kept whole before compaction (head and end kept)", int),
    "max_command_chars": Spec("CLOUDOPS_MAX_COMMAND_CHARS", 500, "Longest accepted command text", int),
    "max_question_chars": Spec("CLOUDOPS_MAX_QUESTION_CHARS", 2000, "Longest accepted question", int),
    "thread_history_messages": Spec(
        "CLOUDOPS_THREAD_HISTORY", 20, "Earlier thread messages read for follow-ups", int
    ),
    "workers": Spec("CLOUDOPS_WORKERS", 16, "Worker threads handling requests after the ack", int),
    "max_queue": Spec("CLOUDOPS_MAX_QUEUE", 100, "Requests waiting for a worker before 'busy'", int),
    "reply_retries": Spec("CLOUDOPS_REPLY_RETRIES", 3, "Attempts to post a reply before giving up", int),
    "drain_s": Spec("CLOUDOPS_DRAIN_S", 20.0, "On SIGTERM, time to finish requests in flight", float),
    "job_queue": Spec("CLOUDOPS_JOB_QUEUE", "threads", "Where requests run after the ack: threads (this process) "
                      "or redis (worker processes fed by a Redis stream; needs CLOUDOPS_REDIS_URL)"),
    "worker_processes": Spec("CLOUDOPS_WORKER_PROCESSES", 1, "With the redis queue: `cloudops-bot worker` "
                             "processes `run` starts itself (0 = workers run as their own deployment)", int),
    "worker_nice": Spec("CLOUDOPS_WORKER_NICE", 5, "With the redis queue: scheduling niceness (0-19) of the worker "
                        "processes, so on a shared machine the socket side's acks get the CPU first", int),
    "job_claim_after_s": Spec("CLOUDOPS_JOB_CLAIM_AFTER_S", 30.0, "With the redis queue: a job whose worker "
                              "stopped heartbeating this long is taken over by another worker", float),
    "sidecar_addr": Spec("CLOUDOPS_SIDECAR_ADDR", "0.0.0.0:8080", "host:port of the sidecar HTTP server", _addr),
    "sidecar_token": Spec("CLOUDOPS_SIDECAR_TOKEN", "", "Bearer token for /logs and /query", secret=True),
    "mcp_addr": Spec("CLOUDOPS_MCP_ADDR", "127.0.0.1:8081",
                     "host:port of `cloudops-bot mcp --http` (MCP streamable HTTP at /mcp, behind the sidecar token)",
                     _addr),
    "mcp_concurrency": Spec("CLOUDOPS_MCP_CONCURRENCY", 8, "MCP tool calls run at once; more wait their turn", int),
    "mcp_max_body_bytes": Spec("CLOUDOPS_MCP_MAX_BODY_BYTES", 65536, "Largest MCP HTTP request body accepted", int),
    "metrics_require_token": Spec(
        "CLOUDOPS_METRICS_REQUIRE_TOKEN", False, "Require the sidecar token on /metrics", _bool
    ),
    "sidecar_user": Spec(
        "CLOUDOPS_SIDECAR_USER", "sidecar",
        "Who POST /query and GET /logs run as, for the read/model allow-lists and rate limits"
    ),
    "sidecar_channel": Spec(
        "CLOUDOPS_SIDECAR_CHANNEL", "http",
        "Channel POST /query and GET /logs run in (allow-lists, rate limits, channel scope)"
    ),
    "sidecar_read_timeout_s": Spec(
        "CLOUDOPS_SIDECAR_READ_TIMEOUT_S", 5.0, "Sidecar: a client silent this long mid-request is dropped", float
    ),
    "sidecar_max_connections": Spec(
        "CLOUDOPS_SIDECAR_MAX_CONNECTIONS", 32, "Sidecar connections served at once; more get 503", int
    ),
    "slack_grace_s": Spec(
        "CLOUDOPS_SLACK_GRACE_S", 60.0, "Slack socket down this long → /status 503", float
    ),
    "slack_ping_interval_s": Spec(
        "CLOUDOPS_SLACK_PING_INTERVAL_S", 10.0,
        "Socket Mode ping interval; no pong for 2 intervals + 1 s = link down: /status says so, a new socket is opened",
        float
    ),
    "slack_close_s": Spec(
        "CLOUDOPS_SLACK_CLOSE_S", 5.0, "On stop, time the Socket Mode client gets to close its threads", float
    ),
    "slack_concurrency": Spec("CLOUDOPS_SLACK_CONCURRENCY", 32, "Threads that read envelopes and ack them", int),
    "aws_health_ttl_s": Spec("CLOUDOPS_AWS_HEALTH_TTL_S", 60.0, "Cache for the sts health probe", float),
    "access_read_users": Spec("CLOUDOPS_READ_USERS", (), "User ids allowed read commands (empty = all)", _csv),
    "access_read_channels": Spec("CLOUDOPS_READ_CHANNELS", (), "Channels where read commands work (empty = all)", _csv),
    "access_read_groups": Spec("CLOUDOPS_READ_GROUPS", (), "User group ids whose members may read (empty = all)", _csv),
    "access_model_users": Spec("CLOUDOPS_MODEL_USERS", (), "User ids allowed model questions (empty = all)", _csv),
    "access_model_channels": Spec("CLOUDOPS_MODEL_CHANNELS", (), "Channels for model questions (empty = all)", _csv),
    "access_model_groups": Spec("CLOUDOPS_MODEL_GROUPS", (), "User groups allowed model questions (empty = all)", _csv),
    "rate_user_per_min": Spec("CLOUDOPS_RATE_USER_PER_MIN", 20.0, "Requests per user per minute (token bucket)", float),
    "rate_user_burst": Spec("CLOUDOPS_RATE_USER_BURST", 10.0, "Burst size of the per-user bucket", float),
    "rate_channel_per_min": Spec("CLOUDOPS_RATE_CHANNEL_PER_MIN", 60.0, "Requests per channel per minute", float),
    "rate_channel_burst": Spec("CLOUDOPS_RATE_CHANNEL_BURST", 30.0, "Burst size of the per-channel bucket", float),
    "budget_user_tokens": Spec("CLOUDOPS_BUDGET_USER_TOKENS", 200_000, "Model tokens per user per UTC day", int),
    "budget_total_tokens": Spec("CLOUDOPS_BUDGET_TOTAL_TOKENS", 2_000_000, "Model tokens per UTC day in total", int),
    "actions_enabled": Spec(
        "CLOUDOPS_ACTIONS_ENABLED", False, "Allow proposing approved actions (reboot, scale, …); off by default", _bool
    ),
    "action_rules": Spec(
        "CLOUDOPS_ACTION_RULES", {}, "Action → account (or *) → {request: [ids], approve: [ids]}; ids are Slack "
        "users (U…) or user groups (S…); YAML mapping, JSON in the env var", parse_action_rules
    ),
    "action_roles": Spec(
        "CLOUDOPS_ACTION_ROLES", {}, "Account → IAM role actions run under, assumed per action", _mapping
    ),
    "action_external_id": Spec("CLOUDOPS_ACTION_EXTERNAL_ID", "", "External id for assuming the action roles"),
    "action_ssm_documents": Spec(
        "CLOUDOPS_ACTION_SSM_DOCUMENTS", {}, "SSM documents ssm-run may run → {parameter: regex its value must "
        "match}", parse_ssm_documents
    ),
    "action_ttl_s": Spec("CLOUDOPS_ACTION_TTL", 900, "A proposal expires unless approved within this", _duration),
    "action_verify_timeout_s": Spec(
        "CLOUDOPS_ACTION_VERIFY_TIMEOUT", 600, "How long to wait for an action's effect before saying so", _duration
    ),
    "action_verify_poll_s": Spec("CLOUDOPS_ACTION_VERIFY_POLL_S", 10.0, "Pause between verification checks",
                                 float),
    "alarm_channel": Spec("CLOUDOPS_ALARM_CHANNEL", "", "Channel id for alarm incident threads (empty = off)"),
    "alarm_poll_s": Spec("CLOUDOPS_ALARM_POLL_SECONDS", 60.0, "How often alarms are polled (±10 % jitter)", float),
    "alarm_reopen_s": Spec("CLOUDOPS_ALARM_REOPEN_WINDOW", 3600, "ALARM again within this → same thread", _duration),
    "alarm_routes": Spec("CLOUDOPS_ALARM_ROUTES", {}, "Alarm-name prefix → channel id, e.g. api-=C123", _mapping),
    "alarm_severity": Spec("CLOUDOPS_ALARM_SEVERITY", {}, "Alarm-name prefix → severity, e.g. api-=critical", _mapping),
    "alarm_log_groups": Spec("CLOUDOPS_ALARM_LOG_GROUPS", {}, "Alarm-name prefix → log group for evidence", _mapping),
    "alarm_mute_s": Spec("CLOUDOPS_ALARM_MUTE", 3600, "How long the Mute button silences an alarm", _duration),
    "alarm_queue_url": Spec("CLOUDOPS_ALARM_QUEUE_URL", "", "SQS queue of EventBridge alarm state changes, "
                            "long-polled for announcements within seconds (empty = polling only)"),
    "alarm_queue_wait_s": Spec("CLOUDOPS_ALARM_QUEUE_WAIT_S", 20, "SQS long-poll wait per receive (1–20 s)", int),
    "changes_window_s": Spec("CLOUDOPS_CHANGES_WINDOW", 3600, "Changes shown before an alarm's breach", _duration),
    "changes_max_events": Spec("CLOUDOPS_CHANGES_MAX_EVENTS", 200, "CloudTrail write events read per request", int),
    "redis_url": Spec("CLOUDOPS_REDIS_URL", "", "Shared store for dedupe/limits/budgets/incidents across replicas "
                      "(empty = per process)", secret=True),
    "redis_timeout_s": Spec("CLOUDOPS_REDIS_TIMEOUT_S", 0.5, "Redis socket timeout; then per-replica state", float),
    "llm_provider": Spec("CLOUDOPS_LLM_PROVIDER", "openai", "Model provider: openai or bedrock"),
    "bedrock_model_id": Spec("CLOUDOPS_BEDROCK_MODEL_ID", "", "Bedrock model / inference-profile id"),
    "stream_answers": Spec(
        "CLOUDOPS_STREAM_ANSWERS", True, "Show model answers in the thread as they are written (chat.*Stream)", _bool
    ),
    "stream_append_interval_s": Spec(
        "CLOUDOPS_STREAM_APPEND_INTERVAL_S", 1.0, "At most one chat.appendStream per stream this often", float
    ),
    "stream_update_interval_s": Spec(
        "CLOUDOPS_STREAM_UPDATE_INTERVAL_S", 1.5, "No streaming allowed: at most one chat.update this often", float
    ),
    "stream_holdback_chars": Spec(
        "CLOUDOPS_STREAM_HOLDBACK_CHARS", 256, "Newest streamed text held back so a secret is redacted whole", int
    ),
    "stream_context_chars": Spec(
        "CLOUDOPS_STREAM_CONTEXT_CHARS", 1024,
        "Streamed text already sent kept for rules that look back; never less than the rules' reach", int
    ),
    "log_format": Spec("CLOUDOPS_LOG_FORMAT", "auto", "auto|json|console for our own logs"),
    "log_level": Spec("CLOUDOPS_LOG_LEVEL", "INFO", "Our own log level"),
}


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Build it with ``load_settings``; tests pass overrides to ``from_values``."""

    slack_bot_token: str
    slack_app_token: str
    slack_api_url: str
    openai_api_key: str
    openai_base_url: str
    llm_model: str
    llm_timeout_s: float
    llm_max_retries: int
    llm_max_steps: int
    llm_max_output_tokens: int
    llm_max_tool_calls: int
    request_deadline_s: float
    llm_tool_result_chars: int
    llm_tools: str
    triage_window_s: int
    triage_max_groups: int
    triage_max_instances: int
    triage_max_alarms: int
    triage_bundle_chars: int
    llm_prices: dict[str, str]
    aws_region: str
    aws_connect_timeout_s: float
    aws_read_timeout_s: float
    aws_max_attempts: int
    aws_retry_mode: str
    aws_parallelism: int
    accounts: dict[str, AccountSpec]
    default_account: str
    channel_scopes: dict[str, str]
    sts_session_name: str
    sts_duration_s: int
    fanout_parallelism: int
    answer_ttl_s: int
    answer_max_chars: int
    log_aliases: dict[str, str]
    log_group_allow: tuple[str, ...]
    log_group_allow_channels: dict[str, str]
    default_window_s: int
    max_window_s: int
    logs_max_events: int
    logs_page_size: int
    logs_error_examples: int
    logs_budget_tokens: int
    logs_max_groups: int
    max_line_chars: int
    logs_max_event_chars: int
    logs_scan_events: int
    max_command_chars: int
    max_question_chars: int
    thread_history_messages: int
    workers: int
    max_queue: int
    reply_retries: int
    drain_s: float
    job_queue: str
    worker_processes: int
    job_claim_after_s: float
    worker_nice: int
    sidecar_addr: str
    sidecar_token: str
    mcp_addr: str
    mcp_concurrency: int
    mcp_max_body_bytes: int
    metrics_require_token: bool
    sidecar_user: str
    sidecar_channel: str
    sidecar_read_timeout_s: float
    sidecar_max_connections: int
    slack_grace_s: float
    slack_ping_interval_s: float
    slack_close_s: float
    slack_concurrency: int
    aws_health_ttl_s: float
    access_read_users: tuple[str, ...]
    access_read_channels: tuple[str, ...]
    access_read_groups: tuple[str, ...]
    access_model_users: tuple[str, ...]
    access_model_channels: tuple[str, ...]
    access_model_groups: tuple[str, ...]
    rate_user_per_min: float
    rate_user_burst: float
    rate_channel_per_min: float
    rate_channel_burst: float
    budget_user_tokens: int
    budget_total_tokens: int
    actions_enabled: bool
    action_rules: dict[str, dict[str, ActionRule]]
    action_roles: dict[str, str]
    action_external_id: str
    action_ssm_documents: dict[str, dict[str, str]]
    action_ttl_s: int
    action_verify_timeout_s: int
    action_verify_poll_s: float
    alarm_channel: str
    alarm_poll_s: float
    alarm_reopen_s: int
    alarm_routes: dict[str, str]
    alarm_severity: dict[str, str]
    alarm_log_groups: dict[str, str]
    alarm_mute_s: int
    alarm_queue_url: str
    alarm_queue_wait_s: int
    changes_window_s: int
    changes_max_events: int
    redis_url: str
    redis_timeout_s: float
    llm_provider: str
    bedrock_model_id: str
    stream_answers: bool
    stream_append_interval_s: float
    stream_update_interval_s: float
    stream_holdback_chars: int
    stream_context_chars: int
    log_format: str
    log_level: str
    source: dict[str, str] = field(default_factory=dict, compare=False)  # field -> env|file|default

    @property
    def model_enabled(self) -> bool:
        if self.llm_provider == "bedrock":
            return bool(self.bedrock_model_id)
        return bool(self.openai_api_key)

    def price_per_token(self, model: str) -> tuple[float, float]:
        """USD per prompt and per completion token for ``model`` (0 when unknown)."""
        raw = self.llm_prices.get(model, "")
        try:
            p, _, c = raw.partition("/")
            return float(p) / 1e6, float(c) / 1e6
        except ValueError:
            return 0.0, 0.0

    def masked(self) -> dict[str, str]:
        """Every setting as display text, secrets masked (keeps a prefix so xoxb/xapp mix-ups show)."""
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "source":
                continue
            value = getattr(self, f.name)
            if SPECS[f.name].secret:
                value = (str(value)[:5] + "…(set)") if value else "(not set)"
            elif f.name == "accounts":
                value = "; ".join(a.describe() for a in self.accounts.values()) or "(the bot's own credentials)"
            out[f.name] = str(value)
        return out

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | None = None, **overrides: Any) -> Settings:
        """Defaults + values, validated. Used by tests and by the demo to build settings in-process."""
        merged: dict[str, Any] = {name: spec.default for name, spec in SPECS.items()}
        merged.update(values or {})
        merged.update(overrides)
        return _build(merged, {k: "given" for k in {**(values or {}), **overrides}})


def _validate(s: Settings) -> list[str]:
    problems: list[str] = []
    if s.slack_bot_token and not s.slack_bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if s.slack_app_token and not s.slack_app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    if not s.slack_api_url.startswith(("http://", "https://")):
        problems.append("SLACK_API_URL must be an http(s) URL")
    if s.aws_retry_mode not in {"standard", "adaptive", "legacy"}:
        problems.append("CLOUDOPS_AWS_RETRY_MODE must be standard, adaptive or legacy")
    if s.llm_tools not in {"auto", "on", "off"}:
        problems.append("CLOUDOPS_LLM_TOOLS must be auto, on or off")
    if s.llm_provider not in {"openai", "bedrock"}:
        problems.append("CLOUDOPS_LLM_PROVIDER must be openai or bedrock")
    if s.llm_provider == "bedrock" and not s.bedrock_model_id:
        problems.append("CLOUDOPS_BEDROCK_MODEL_ID is required when CLOUDOPS_LLM_PROVIDER=bedrock")
    if s.redis_url and not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append("CLOUDOPS_REDIS_URL must start with redis://, rediss:// or unix://")
    if s.log_format not in {"auto", "json", "console"}:
        problems.append("CLOUDOPS_LOG_FORMAT must be auto, json or console")
    positive = [n for n, sp in SPECS.items() if sp.parse in (int, float) and getattr(s, n) <= 0]
    zero_ok = ("llm_max_retries", "logs_scan_events", "worker_processes")
    problems += [f"{SPECS[n].env} must be greater than 0" for n in positive if n not in (*zero_ok, "worker_nice")]
    problems += [f"{SPECS[n].env} must be 0 or more" for n in zero_ok if getattr(s, n) < 0]
    if not 0 <= s.worker_nice <= 19:
        problems.append("CLOUDOPS_WORKER_NICE must be 0 to 19")
    if s.job_queue not in {"threads", "redis"}:
        problems.append("CLOUDOPS_JOB_QUEUE must be threads or redis")
    if s.job_queue == "redis" and not s.redis_url:
        problems.append("CLOUDOPS_JOB_QUEUE=redis needs CLOUDOPS_REDIS_URL")
    if s.alarm_queue_wait_s > 20:
        problems.append("CLOUDOPS_ALARM_QUEUE_WAIT_S must be 20 or less (SQS's longest long poll)")
    if s.alarm_queue_url and not s.alarm_queue_url.startswith(("https://", "http://")):
        problems.append("CLOUDOPS_ALARM_QUEUE_URL must be the queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
    if s.default_window_s > s.max_window_s:
        problems.append("CLOUDOPS_DEFAULT_WINDOW is longer than CLOUDOPS_MAX_WINDOW")
    problems += account_problems(s)
    allow = [*s.log_group_allow, *(p.strip() for v in s.log_group_allow_channels.values() for p in v.split("|"))]
    problems += [f"CLOUDOPS_LOG_GROUP_ALLOW: {p!r} may use only log-group characters and the wildcards * and ?"
                 for p in allow if p and not re.match(r"^[\w./#*?-]{1,512}$", p)]
    problems += action_problems(s)
    for alias, group in s.log_aliases.items():
        if not group.startswith("/") and not re.match(r"^[\w.\-/#]+$", group):
            problems.append(f"log alias {alias!r} points at {group!r}, which is not a log group name")
    return problems


def _build(merged: Mapping[str, Any], source: Mapping[str, str]) -> Settings:
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for name, spec in SPECS.items():
        raw = merged[name]
        try:
            parsed[name] = raw if raw is spec.default else spec.parse(raw)
        except (TypeError, ValueError) as exc:
            problems.append(f"{spec.env}: {exc}")
            parsed[name] = spec.default
    settings = Settings(**parsed, source=dict(source))
    problems += _validate(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def load_settings(env: Mapping[str, str] | None = None, *, require_slack: bool = False) -> Settings:
    """Read env (+ the YAML file it names), validate, and return Settings or raise ConfigError."""
    env = os.environ if env is None else env
    file_values: dict[str, Any] = {}
    problems: list[str] = []
    path = env.get("CLOUDOPS_CONFIG", "")
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise ValueError("top level must be a mapping")
            unknown = sorted(set(loaded) - set(SPECS))
            problems += [f"CLOUDOPS_CONFIG: unknown setting {k!r}" for k in unknown]
            file_values = {k: v for k, v in loaded.items() if k in SPECS}
        except (OSError, ValueError, yaml.YAMLError) as exc:
            problems.append(f"CLOUDOPS_CONFIG: cannot read {path}: {exc}")
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    for name, spec in SPECS.items():
        if spec.env in env:
            merged[name], source[name] = env[spec.env], "env"
        elif name in file_values:
            merged[name], source[name] = file_values[name], "file"
        else:
            merged[name], source[name] = spec.default, "default"
    if require_slack:
        problems += [
            f"{SPECS[n].env} is required for `run`" for n in ("slack_bot_token", "slack_app_token") if not merged[n]
        ]
    try:
        settings = _build(merged, source)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    if problems:
        raise ConfigError(problems)
    return settings
