"""`logs <group|alias> [terms…] [window]`: grouped log shapes, newest errors verbatim, model summary."""

from __future__ import annotations

from bot.aws import logs as cwlogs
from bot.aws.records import LogEvent, LogQueryResult
from bot.errors import UserInputError
from bot.models import Reply, Request, Section
from bot.progress import report
from bot.text.compaction import LogLine, compact, is_error_line
from bot.text.sanitize import clamp_line
from handlers.formatting import ms_stamp
from handlers.parsing import format_window, resolve_group, split_window
from handlers.scope import labelled, single_target, split_scope
from handlers.services import Services
from handlers.summarize import finish

USAGE_HINT = "usage: `/cloudops logs <group|alias> [terms…] [15m|2h|1d]`, e.g. `/cloudops logs api 502 30m`"


def gather_logs(services: Services, group: str, terms: list[str], window_s: int) -> LogQueryResult:
    """The one log gatherer the Slack path, the model tool and the sidecar's /logs all use."""
    s = services.settings
    return cwlogs.fetch_events(services.aws, group, terms=terms, window_s=window_s,
                               max_events=s.logs_max_events, page_size=s.logs_page_size,
                               now_ms=int(services.clock().timestamp() * 1000))


def scrubbed_events(services: Services, result: LogQueryResult) -> list[LogEvent]:
    limit = services.settings.max_line_chars
    return [LogEvent(e.timestamp_ms, clamp_line(e.message, limit), e.stream)
            for e in services.scrub_events(result.events)]


def compact_text(services: Services, events: list[LogEvent]) -> tuple[str, int, int]:
    """The compacted view (same code as `cloudops-bot compact`); returns text, groups shown, groups total."""
    s = services.settings
    view = compact([LogLine(e.message, e.timestamp_ms, e.stream) for e in events],
                   budget_tokens=s.logs_budget_tokens, max_groups=s.logs_max_groups,
                   max_line_chars=s.max_line_chars)
    return view.render(), len(view.groups), view.total_groups


def newest_errors(events: list[LogEvent], n: int) -> list[LogEvent]:
    return [e for e in events if is_error_line(e.message)][-n:]


def parse_args(args: list[str], services: Services) -> tuple[str, list[str], int]:
    if not args:
        raise UserInputError("which log group?", USAGE_HINT)
    rest, window = split_window(args, services.settings)
    if not rest:
        raise UserInputError("which log group?", USAGE_HINT)
    group = resolve_group(rest[0], services.settings)
    return cwlogs.validate_group(group), rest[1:], window


def handle_logs(request: Request, args: list[str], services: Services) -> Reply:
    args, scope = split_scope(args, request, services)
    target = single_target(scope, services)
    services = services.at(target)
    group, terms, window = parse_args(args, services)
    if terms:
        cwlogs.filter_pattern(terms)  # validate before calling AWS
    report(f"Reading {group}…")
    result = gather_logs(services, group, terms, window)
    report(f"Grouping {len(result.events)} log lines…")
    events = scrubbed_events(services, result)
    label = (f"{group}" + (f" matching {' '.join(terms)}" if terms else "") + f", last {format_window(window)}"
             + (f" — {target.label}" if labelled(services, [target]) else ""))
    if not events:
        return Reply(title=f"Logs — {label}",
                     summary=f"No log events in {group} over the last {format_window(window)}"
                             + (f" matching {' '.join(terms)}." if terms else "."),
                     notes=("Try a longer window (e.g. 2h) or fewer search terms.",))
    grouped, _, total = compact_text(services, events)
    errors = newest_errors(events, services.settings.logs_error_examples)
    error_text = "\n".join(f"{ms_stamp(e.timestamp_ms)} {e.stream[-24:]} {e.message}" for e in errors)
    sections = [Section(title=f"{len(events)} events, grouped by shape", text=grouped, code=True)]
    if errors:
        sections.append(Section(title=f"Newest {len(errors)} error lines", text=error_text, code=True))
    notes: tuple[str, ...] = ()
    if result.capped:
        notes = (f"Stopped at {services.settings.logs_max_events:,} events (CLOUDOPS_LOGS_MAX_EVENTS); "
                 "showing the newest. Narrow the window or add terms for the full picture.",)
    n_err = sum(1 for e in events if is_error_line(e.message))
    first_err = next((e for e in events if is_error_line(e.message)), None)
    fallback = (f"{n_err} of {len(events)} lines look like errors"
                + (f", the first at {ms_stamp(first_err.timestamp_ms)} UTC" if first_err else "")
                + f"; {total} distinct line shapes.")
    evidence = grouped + ("\n\nNewest error lines:\n" + error_text if errors else "")
    return finish(services, request, title=f"Logs — {label}", sections=tuple(sections), evidence=evidence,
                  fallback=fallback, prompt="logs",
                  values={"group": group, "terms": " ".join(terms), "window": format_window(window)},
                  notes=notes)
