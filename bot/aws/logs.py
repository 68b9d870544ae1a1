"""CloudWatch Logs gatherer: events of one group over a window, paginated up to a cap."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
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


MIN_SLICE_MS = 1000  # a busier second than the cap is read oldest-first within that second
FIRST_SLICE_PARTS = 16  # the first slice read is the newest 1/16 of the window


@dataclass
class _Walk:
    """What one backward walk over a span read."""

    kept: list[LogEvent]
    scanned: int  # events read
    high: int  # exclusive end of what is still unread: the span start when the walk finished
    calls: int
    skipped_seen: int  # events seen in over-full slices, older than `high`: known to be left out


def fetch_events(
    aws: AwsClients,
    group: str,
    *,
    terms: list[str] | None = None,
    window_s: int,
    max_events: int,
    page_size: int,
    now_ms: int | None = None,
    scan_events: int = 0,
    keep: Callable[[str], bool] | None = None,
) -> LogQueryResult:
    """The newest ``max_events`` events of the window, what they cover, and what matters before them.

    FilterLogEvents pages oldest-first, so reading pages up to a cap shows the start of a busy window
    and never the incident at its end. Instead the window is read backwards in time slices (see
    _walk_back). When the cap stops the read, up to ``scan_events`` older events are read the same way
    and only those ``keep`` accepts (errors, warnings, notable lines) are kept: the deploy or the first
    error that started a long incident is older than its newest ten thousand lines.
    """
    validate_group(group)
    end = now_ms if now_ms is not None else int(time.time() * 1000)
    start = end - window_s * 1000
    base: dict[str, Any] = {"logGroupName": group, "limit": min(page_size, 10000)}
    if terms:
        base["filterPattern"] = filter_pattern(terms)
    newest = _walk_back(aws, group, base, terms, start, end + 1, max_events)
    older = _Walk([], 0, newest.high, 0, newest.skipped_seen)
    if newest.high > start and scan_events > 0 and keep is not None:
        older = _walk_back(aws, group, base, terms, start, newest.high, scan_events, keep)
    events = sorted([*newest.kept, *older.kept], key=lambda e: e.timestamp_ms)
    return LogQueryResult(group=group, events=tuple(events), capped=newest.high > start,
                          pages=newest.calls + older.calls, window_start_ms=start, window_end_ms=end,
                          read_from_ms=max(start, newest.high), skipped_at_least=older.skipped_seen,
                          scanned_from_ms=max(start, older.high), scanned_events=older.scanned,
                          scanned_kept=len(older.kept))


def _walk_back(aws: AwsClients, group: str, base: dict[str, Any], terms: list[str] | None, start: int,
               high: int, room: int, keep: Callable[[str], bool] | None = None) -> _Walk:
    """Read [start, high) newest-first, at most ``room`` events, keeping those ``keep`` accepts (all without).

    The newest slice is read first, each next slice sized from the event rate seen so far, and a slice
    holding more events than the room left is halved towards the present until it fits. API calls are
    bounded by four times the pages the room needs, plus a few for quiet stretches.
    """
    max_calls = 4 * -(-room // base["limit"]) + 32
    walk = _Walk([], 0, high, 0, 0)
    seen_older: list[int] = []  # timestamps from slices that held too much
    span = max(MIN_SLICE_MS, (high - start) // FIRST_SLICE_PARTS)
    while walk.high > start and room > 0 and walk.calls < max_calls:
        low = max(start, walk.high - span)
        got, more, used = _read_slice(aws, group, base, low, walk.high, room, terms)
        walk.calls += used
        if more and walk.high - low > MIN_SLICE_MS:
            seen_older.extend(e.timestamp_ms for e in got)
            span = (walk.high - low) // 2
            continue
        walk.kept.extend(got if keep is None else (e for e in got if keep(e.message)))
        walk.scanned += len(got)
        room -= len(got)
        width, walk.high = walk.high - low, low
        if more:
            break
        rate = len(got) / width  # events per ms in the slice just read: size the next one to fill the room
        span = max(MIN_SLICE_MS, int(min(4 * width, room / rate * 0.8)) if rate > 0 else 4 * width)
    walk.skipped_seen = sum(1 for t in seen_older if t < walk.high) if walk.high > start else 0
    return walk


def _read_slice(aws: AwsClients, group: str, base: dict[str, Any], low: int, high: int, room: int,
                terms: list[str] | None) -> tuple[list[LogEvent], bool, int]:
    """Events with low <= timestamp < high, at most ``room`` of them; (events, more than room, calls)."""
    kwargs = {**base, "startTime": low, "endTime": high - 1}  # both bounds are inclusive in the API
    events: list[LogEvent] = []
    calls = 0
    while True:
        try:
            page = aws.call("logs", "FilterLogEvents", **kwargs)
        except NotFoundError:
            raise NotFoundError(f"log group {group!r} does not exist in {aws.region}",
                                "check the name, or configure an alias (CLOUDOPS_LOG_ALIASES)") from None
        calls += 1
        events.extend(
            LogEvent(timestamp_ms=e.get("timestamp", 0), message=e.get("message", ""),
                     stream=e.get("logStreamName", ""))
            for e in page.get("events", [])
            # CloudWatch already ANDs the terms; checking again costs little and keeps the answer right
            # where an implementation over-matches (moto treats a bare number as "match everything").
            if not terms or all(t in e.get("message", "") for t in terms)
        )
        token = page.get("nextToken")
        if len(events) > room:
            return events[:room], True, calls
        if not token:
            return events, False, calls
        kwargs["nextToken"] = token


def list_groups(aws: AwsClients, prefix: str = "", limit: int = 50) -> list[str]:
    """Log group names (for the model's discovery tool and for 'did you mean' hints)."""
    kwargs: dict[str, Any] = {"limit": min(limit, 50)}
    if prefix:
        kwargs["logGroupNamePrefix"] = prefix
    page = aws.call("logs", "DescribeLogGroups", **kwargs)
    return [g["logGroupName"] for g in page.get("logGroups", [])][:limit]
