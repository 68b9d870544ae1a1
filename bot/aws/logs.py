"""CloudWatch Logs gatherer: events of one group over a window, paginated up to a cap."""

from __future__ import annotations

import re
import time
from typing import Any

from bot.aws.records import LogEvent, LogQueryResult
from bot.aws.session import AwsClients
from bot.errors import NotFoundError, UserInputError

LOG_GROUP = re.compile(r"^[\w./#-]{1,512}$")
_TERM = re.compile(r"^[\w.:/@#%+=-]{1,64}$")
_BARE = re.compile(r"^[A-Za-z0-9_]+$")  # plain words go unquoted; anything with punctuation is quoted


def filter_pattern(terms: list[str]) -> str:
    """Build a CloudWatch filterPattern from plain terms; each term is quoted so it is matched literally.

    Terms are user input: only a safe character set is accepted, so nothing can inject pattern syntax.
    """
    bad = [t for t in terms if not _TERM.match(t)]
    if bad:
        raise UserInputError(f"search term {bad[0]!r} has characters the bot does not pass to AWS",
                             "use plain words, numbers or paths, e.g. `logs api 502 checkout 30m`")
    return " ".join(t if _BARE.match(t) else f'"{t}"' for t in terms)


def validate_group(name: str) -> str:
    if not LOG_GROUP.match(name):
        raise UserInputError(f"{name!r} is not a log group name",
                             "log groups look like /ecs/api-prod; configured aliases work too")
    return name


def fetch_events(
    aws: AwsClients,
    group: str,
    *,
    terms: list[str] | None = None,
    window_s: int,
    max_events: int,
    page_size: int,
    now_ms: int | None = None,
) -> LogQueryResult:
    """Newest-first is what on-call wants, but the API pages oldest-first; we read up to the cap and
    keep the newest ``max_events`` so a huge window still shows the latest lines."""
    validate_group(group)
    end = now_ms if now_ms is not None else int(time.time() * 1000)
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "startTime": end - window_s * 1000,
        "endTime": end,
        "limit": min(page_size, 10000),
    }
    if terms:
        kwargs["filterPattern"] = filter_pattern(terms)
    events: list[LogEvent] = []
    pages = 0
    capped = False
    while True:
        try:
            page = aws.call("logs", "FilterLogEvents", **kwargs)
        except NotFoundError:
            raise NotFoundError(f"log group {group!r} does not exist in {aws.region}",
                                "check the name, or configure an alias (CLOUDOPS_LOG_ALIASES)") from None
        pages += 1
        events.extend(
            LogEvent(timestamp_ms=e.get("timestamp", 0), message=e.get("message", ""),
                     stream=e.get("logStreamName", ""))
            for e in page.get("events", [])
            # CloudWatch already ANDs the terms; checking again costs little and keeps the answer right
            # where an implementation over-matches (moto treats a bare number as "match everything").
            if not terms or all(t in e.get("message", "") for t in terms)
        )
        token = page.get("nextToken")
        if len(events) >= max_events:
            capped = bool(token) or len(events) > max_events
            break
        if not token:
            break
        kwargs["nextToken"] = token
    events.sort(key=lambda e: e.timestamp_ms)
    return LogQueryResult(group=group, events=tuple(events[-max_events:]), capped=capped, pages=pages)


def list_groups(aws: AwsClients, prefix: str = "", limit: int = 50) -> list[str]:
    """Log group names (for the model's discovery tool and for 'did you mean' hints)."""
    kwargs: dict[str, Any] = {"limit": min(limit, 50)}
    if prefix:
        kwargs["logGroupNamePrefix"] = prefix
    page = aws.call("logs", "DescribeLogGroups", **kwargs)
    return [g["logGroupName"] for g in page.get("logGroups", [])][:limit]
