"""Every Prometheus metric, defined once, with bounded labels that are pre-initialised to zero.

Metrics live in a ``Metrics`` object with its own ``CollectorRegistry`` (not the global one) so that
tests and several in-process bots don't collide; the process/platform collectors are registered on
it too. Label values come from closed sets: the ones below, and the commands and AWS operations that
the capability entries declare (``handlers.registry``, passed in by ``bot.runtime``). No user, channel
or instance ids ever become labels.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector

KINDS = ("command", "mention", "query", "cli", "action")
UNKNOWN_COMMAND = "unknown"  # a request refused or failed before it was routed
OUTCOMES = ("ok", "bad_input", "not_found", "denied", "rate_limited", "upstream", "aws_denied",
            "aws_throttled", "model", "config", "error", "internal")
AWS_OUTCOMES = ("ok", "throttled", "denied", "not_found", "error")
MODEL_OUTCOMES = ("ok", "error", "timeout", "rate_limited")
SLACK_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "conversations.replies",
                 "conversations.history", "chat.startStream", "chat.appendStream", "chat.stopStream", "other")
SLACK_OUTCOMES = ("ok", "error", "rate_limited")
ACTIONS = ("incident_investigate", "incident_ack", "incident_mute")
# Approved actions (handlers.actions): each stage of a proposal's life, and how it ended.
ACTION_STAGES = ("proposal", "approval", "rejection", "execution", "verification")
ACTION_OUTCOMES = ("ok", "refused", "blocked", "failed", "timeout")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3)


class Metrics:
    """The bot's metrics on a private registry; one instance per running bot."""

    def __init__(self, version: str = "0", commands: Iterable[str] = (), aws_operations: Iterable[str] = ()) -> None:
        """``commands``: the verbs; ``aws_operations``: ``service:Operation``; both pre-initialised at zero."""
        # The `_created` series double the exposition (~170 KB → ~110 KB) and no alert or dashboard uses
        # them; Prometheus derives resets itself. The switch is process-wide, which is fine: the bot
        # owns its process.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.build_info = Info("cloudops_build", "Bot version", registry=r)
        self.build_info.info({"version": version})
        self.requests = Counter("cloudops_requests", "Requests handled, by source, command and outcome",
                                ["kind", "command", "outcome"], registry=r)
        self.request_seconds = Histogram("cloudops_request_duration_seconds",
                                         "Time from accepted request to reply posted",
                                         ["kind", "command"], buckets=LATENCY_BUCKETS, registry=r)
        self.ack_seconds = Histogram("cloudops_ack_latency_seconds",
                                     "Time from envelope received to ack sent", ["kind"],
                                     buckets=ACK_BUCKETS, registry=r)
        self.in_flight = Gauge("cloudops_requests_in_flight", "Requests accepted and not yet answered",
                               registry=r)
        self.queued = Gauge("cloudops_requests_queued", "Requests waiting for a worker", registry=r)
        self.aws_calls = Counter("cloudops_aws_calls", "AWS API calls by service, operation and outcome",
                                 ["service", "operation", "outcome"], registry=r)
        self.aws_seconds = Histogram("cloudops_aws_call_duration_seconds", "AWS API call duration",
                                     ["service", "operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.model_requests = Counter("cloudops_model_requests", "Model requests by model and outcome",
                                      ["model", "outcome"], registry=r)
        self.model_seconds = Histogram("cloudops_model_request_duration_seconds",
                                       "Model request duration", ["model"], buckets=LATENCY_BUCKETS,
                                       registry=r)
        self.model_tokens = Counter("cloudops_model_tokens", "Model tokens by model and type",
                                    ["model", "type"], registry=r)
        self.model_cost = Counter("cloudops_model_cost_usd",
                                  "Estimated model cost from the configured price table", ["model"],
                                  registry=r)
        self.slack_calls = Counter("cloudops_slack_api_calls", "Slack Web API calls by method and outcome",
                                   ["method", "outcome"], registry=r)
        self.rate_limited = Counter("cloudops_rate_limited_requests",
                                    "Requests refused by rate limits or the queue", ["reason"],
                                    registry=r)
        self.redactions = Counter("cloudops_redactions", "Secrets redacted, by kind", ["kind"], registry=r)
        self.slack_connected = Gauge("cloudops_slack_connected", "1 while the Socket Mode link is up",
                                     registry=r)
        self.duplicates = Counter("cloudops_duplicate_events", "Redelivered events dropped by dedupe",
                                  registry=r)
        self.reply_failures = Counter("cloudops_reply_post_failures",
                                      "Replies that could not be posted after retries", registry=r)
        self.incidents = Counter("cloudops_incidents", "Alarm incidents by event", ["event"], registry=r)
        self.incident_poll_seconds = Histogram("cloudops_alarm_poll_duration_seconds", "describe_alarms poll time",
                                               buckets=LATENCY_BUCKETS, registry=r)
        self.incident_poll_errors = Counter("cloudops_alarm_poll_errors", "Failed alarm polls or incident posts",
                                            registry=r)
        self.actions = Counter("cloudops_button_actions", "Button clicks by action and outcome",
                               ["action", "outcome"], registry=r)
        self.store_degraded = Gauge("cloudops_store_degraded",
                                    "1 while the shared store (Redis) is unreachable and state is per replica",
                                    registry=r)
        self.feedback = Counter("cloudops_answer_feedback", "👍/👎 on answers, by command", ["command", "vote"],
                                registry=r)
        self.action_events = Counter("cloudops_approved_actions", "Approved-action events by action, stage and outcome",
                                     ["action", "stage", "outcome"], registry=r)
        self._preinit()
        self.init_commands((*commands, UNKNOWN_COMMAND))
        self.init_aws_operations(aws_operations)

    def _preinit(self) -> None:
        """Touch every label combination so series exist at zero (rate() and absent() work at once)."""
        for kind in KINDS:
            self.ack_seconds.labels(kind)
        for method in SLACK_METHODS:
            for outcome in SLACK_OUTCOMES:
                self.slack_calls.labels(method, outcome)
        for reason in ("user", "channel", "queue_full", "budget"):
            self.rate_limited.labels(reason)
        for event in ("opened", "updated", "reopened", "deduplicated"):
            self.incidents.labels(event)
        for action in ACTIONS:
            for outcome in ("ok", "denied", "unknown"):
                self.actions.labels(action, outcome)

    def init_commands(self, commands: Iterable[str]) -> None:
        for cmd in commands:
            for vote in ("up", "down"):
                self.feedback.labels(cmd, vote)
            for kind in KINDS:
                self.request_seconds.labels(kind, cmd)
                for outcome in OUTCOMES:
                    self.requests.labels(kind, cmd, outcome)

    def init_actions(self, actions: Iterable[str]) -> None:
        """The declared actions (``handlers.registry``): every stage and outcome starts at zero."""
        for action in actions:
            for stage in ACTION_STAGES:
                for outcome in ACTION_OUTCOMES:
                    self.action_events.labels(action, stage, outcome)

    def init_aws_operations(self, operations: Iterable[str]) -> None:
        for operation in operations:
            service, _, op = operation.partition(":")
            self.aws_seconds.labels(service, op)
            for outcome in AWS_OUTCOMES:
                self.aws_calls.labels(service, op, outcome)

    def init_model(self, model: str) -> None:
        """The configured model is known at start-up; pre-initialise its series."""
        self.model_seconds.labels(model)
        self.model_cost.labels(model)
        for outcome in MODEL_OUTCOMES:
            self.model_requests.labels(model, outcome)
        for kind in ("prompt", "completion"):
            self.model_tokens.labels(model, kind)

    def init_redaction_kinds(self, kinds: tuple[str, ...]) -> None:
        for kind in kinds:
            self.redactions.labels(kind)

    def count_redaction(self, kind: str, n: int) -> None:
        self.redactions.labels(kind).inc(n)

    def slack_method_label(self, method: str) -> str:
        return method if method in SLACK_METHODS else "other"

    def render(self) -> bytes:
        return generate_latest(self.registry)
