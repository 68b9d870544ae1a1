"""Admission: who may run what, where, and how often. Runs before any AWS call, for every path
(Slack, sidecar /query, CLI), so the rules cannot be bypassed by choosing another door.

Access classes: ``read`` (commands that only show AWS evidence), ``model`` (the model path, which
sends evidence to a third party) and ``action`` (changes: off unless enabled, proposed in Slack only,
run after a second person approves).
Read and model have user, user-group and channel allowlists; an empty list means everyone. Rate
limits are per-user and per-channel token buckets in the shared store.
"""

from __future__ import annotations

from bot.config import Settings
from bot.errors import NotAllowedError, RateLimitedError
from bot.metrics import Metrics
from bot.models import Request, Source
from bot.store import Store
from handlers.capability import Access


def _allowed(allow: tuple[str, ...], *candidates: str) -> bool:
    return not allow or any(c in allow for c in candidates if c)


def check_access(request: Request, access: str, settings: Settings) -> None:
    """``access`` is a capability's class (``handlers.capability.Access``): read, model or action."""
    if access == Access.ACTION:
        _check_action(request, settings)
        return
    if request.source is Source.CLI:
        return  # the operator's own terminal
    if access == Access.MODEL:
        users, groups, channels = settings.access_model_users, settings.access_model_groups, \
            settings.access_model_channels
        what, variables = "model questions", "CLOUDOPS_MODEL_USERS / _GROUPS"
    else:
        users, groups, channels = settings.access_read_users, settings.access_read_groups, \
            settings.access_read_channels
        what, variables = "this command", "CLOUDOPS_READ_USERS / _GROUPS"
    if users or groups:
        in_user = bool(users) and request.user in users
        in_group = bool(groups) and bool(request.user_groups & set(groups))
        if not (in_user or in_group):
            raise NotAllowedError(f"you are not on the list of people allowed to run {what}",
                                  f"ask the bot's operator to add you ({variables})")
    if not _allowed(channels, request.channel):
        raise NotAllowedError(f"{what} are not enabled in this channel" if access == Access.MODEL
                              else "CloudOps is not enabled in this channel",
                              "use one of the channels the operator enabled")


def _check_action(request: Request, settings: Settings) -> None:
    """Actions are proposed and approved in Slack, where a second person can see and click; who may
    propose which action in which account is checked once the target's account is known
    (``handlers.actions.flow``)."""
    if not settings.actions_enabled:
        raise NotAllowedError("actions are not enabled on this bot",
                              "the operator enables them with CLOUDOPS_ACTIONS_ENABLED")
    if request.source in (Source.CLI, Source.QUERY):
        raise NotAllowedError("actions are proposed and approved in Slack only", "use `/cloudops do …` in Slack")
    if not _allowed(settings.access_read_channels, request.channel):
        raise NotAllowedError("CloudOps is not enabled in this channel", "use one of the channels the operator enabled")
    rules = [rule for accounts in settings.action_rules.values() for rule in accounts.values()]
    if not any(rule.allows(rule.request, request.user, request.user_groups) for rule in rules):
        raise NotAllowedError("you are not on the list of people who may propose actions",
                              "ask the bot's operator (CLOUDOPS_ACTION_RULES)")


def check_rate(request: Request, store: Store, settings: Settings, metrics: Metrics) -> None:
    if request.source is Source.CLI:
        return
    if not store.take_token(f"rl:user:{request.user}", settings.rate_user_per_min / 60, settings.rate_user_burst):
        metrics.rate_limited.labels("user").inc()
        raise RateLimitedError(f"you have sent more than {settings.rate_user_per_min:g} requests a minute",
                               "wait a minute and try again")
    if request.channel and not store.take_token(f"rl:channel:{request.channel}",
                                                settings.rate_channel_per_min / 60, settings.rate_channel_burst):
        metrics.rate_limited.labels("channel").inc()
        raise RateLimitedError("this channel is sending more requests than the bot allows per minute",
                               "wait a minute, or use another channel")
