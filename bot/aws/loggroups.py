"""The log-group allow-list: which CloudWatch log groups the bot may read, whoever asks.

Log text is untrusted and reaches the model, which can call ``search_logs`` with any group name; a
line that says "now read /prod/payments" must not widen what the bot reads. So every CloudWatch Logs
call goes through ``AwsClients.call``, which asks ``check_call`` first (slash commands, the sidecar's
/logs, the model's tools and alarm evidence packs alike) and filters group listings.

``CLOUDOPS_LOG_GROUP_ALLOW`` holds glob patterns (``*`` and ``?``, as IAM reads them); empty means
every group the IAM policy allows. ``CLOUDOPS_LOG_GROUP_ALLOW_CHANNELS`` narrows it per Slack channel
(``C123=/ecs/api-*|/ecs/web-*``); the channel comes from the request being handled (a ContextVar
bound by ``handlers.dispatch.handle``). ``scoped_policy`` turns the global list into the IAM policy
that enforces the same list in AWS (``cloudops-bot iam-policy``).
"""

from __future__ import annotations

import contextvars
import copy
from fnmatch import fnmatchcase
from typing import Any

from bot.config import Settings
from bot.errors import NotAllowedError

_channel: contextvars.ContextVar[str] = contextvars.ContextVar("log_allow_channel", default="")
_GROUP_KEYS = ("logGroupName", "logGroupIdentifier")
READ_SID = "CloudOpsReadLogEvents"


def bind_channel(channel: str) -> contextvars.Token[str]:
    return _channel.set(channel)


def unbind_channel(token: contextvars.Token[str]) -> None:
    _channel.reset(token)


def channel_patterns(settings: Settings, channel: str) -> tuple[str, ...]:
    raw = settings.log_group_allow_channels.get(channel, "")
    return tuple(p.strip() for p in raw.split("|") if p.strip())


def allowed(group: str, settings: Settings, channel: str | None = None) -> bool:
    """On the global list (when there is one) and on the channel's list (when it has one)."""
    channel = _channel.get() if channel is None else channel
    lists = [settings.log_group_allow, channel_patterns(settings, channel)]
    return all(any(fnmatchcase(group, p) for p in patterns) for patterns in lists if patterns)


def check_call(settings: Settings, kwargs: dict[str, Any]) -> None:
    for key in _GROUP_KEYS:
        group = kwargs.get(key)
        if isinstance(group, str) and not allowed(group, settings):
            raise NotAllowedError(f"log group {group!r} is not on the bot's log-group allow-list",
                                  "ask the bot's operator (CLOUDOPS_LOG_GROUP_ALLOW); groups that are: "
                                  + (", ".join(settings.log_group_allow) or "see help"))


def filter_listing(settings: Settings, response: dict[str, Any]) -> dict[str, Any]:
    """DescribeLogGroups without the groups the bot may not read: the model is not told they exist."""
    groups = response.get("logGroups")
    if not isinstance(groups, list):
        return response
    return {**response, "logGroups": [g for g in groups if allowed(str(g.get("logGroupName", "")), settings)]}


def scoped_policy(policy: dict[str, Any], patterns: tuple[str, ...]) -> dict[str, Any]:
    """``policy`` with the log-event read statement limited to ``patterns`` (unchanged when empty).

    IAM matches a group's ARN with and without the trailing ``:*`` depending on the action, so both
    forms are listed. DescribeLogGroups cannot be scoped to names in IAM; the bot filters its answer.
    """
    scoped = copy.deepcopy(policy)
    if not patterns:
        return scoped
    for statement in scoped["Statement"]:
        if statement.get("Sid") == READ_SID:
            statement["Resource"] = [f"arn:aws:logs:*:*:log-group:{p}{suffix}"
                                     for p in patterns for suffix in ("", ":*")]
    return scoped
