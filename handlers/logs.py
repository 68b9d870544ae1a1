"""`logs <group|alias> [terms…] [window]`: grouped log shapes, newest errors verbatim, model summary."""

from __future__ import annotations

from bot.aws import logs as cwlogs
from bot.aws.records import LogEvent, LogQueryResult
from bot.errors import UserInputError
from bot.models import Reply, Request, Section
from bot.progress import report
from bot.text.compaction import LogLine, compact
from bot.text.log_event import EventReader, bound_event, join_continuations
from bot.text.log_lines import ERROR
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
                               now_ms=int(services.clock().timestamp() * 1000),
                               scan_events=s.logs_scan_events, keep=EventReader(s.max_line_chars).matters)


def scrubbed_events(services: Services, result: LogQueryResult) -> list[LogEvent]:
    """Scrubbed events, each stream's continuation lines (trace frames, `Caused by`) joined to their
    event, each event bounded keeping its head and its end: a traceback stored as one event ends with
    its exception, and a JSON line's error fields may come after the first few hundred chars."""
    limit = services.settings.logs_max_event_chars
    joined = join_continuations(services.scrub_events(result.events), LogEvent)
    return [LogEvent(e.timestamp_ms, bound_event(e.message, limit), e.stream) for e in joined]


def compact_text(services: Services, events: list[LogEvent]) -> tuple[str, int, int]:
    """The compacted view (same code as `cloudops-bot compact`); returns text, groups shown, groups total."""
    s = services.settings
    view = compact([LogLine(e.message, e.timestamp_ms, e.stream) for e in events],
                   budget_tokens=s.logs_budget_tokens, max_groups=s.logs_max_groups,
                   max_line_chars=s.max_line_chars)
    return view.render(), len(view.groups), view.total_groups


def error_events(events: list[LogEvent], max_chars: int = 400) -> list[LogEvent]:
    """The events that are errors (by level, fields, status or words), each in its one-line display form."""
    reader = EventReader(max_chars)
    out = []
    for e in events:
        seen = reader.read(e.message)
        if seen.severity == ERROR:
            out.append(LogEvent(e.timestamp_ms, seen.display, e.stream))
    return out


def newest_errors(events: list[LogEvent], n: int, max_chars: int = 400) -> list[LogEvent]:
    """The newest error of each of the ``n`` most recent kinds, oldest first: a flood of one error
    must not hide the different one just before it."""
    reader = EventReader(max_chars)
    picked: dict[str, LogEvent] = {}
    for e in reversed(events):
        seen = reader.read(e.message)
        if seen.severity == ERROR and seen.key not in picked:
            picked[seen.key] = LogEvent(e.timestamp_ms, seen.display, e.stream)
            if len(picked) >= n:
                break
    return sorted(picked.values(), key=lambda e: e.timestamp_ms)


def coverage_note(result: LogQueryResult, events: int, max_events: int) -> str | None:
    """What the answer covers, when it is not the whole window: the span read in full, the span only
    scanned for what matters, and what was not read at all."""
    if not result.capped:
        return None
    full = events - result.scanned_kept
    note = (f"Read the newest {full:,} events in full ({ms_stamp(result.read_from_ms)}–"
            f"{ms_stamp(result.window_end_ms)} UTC; cap CLOUDOPS_LOGS_MAX_EVENTS={max_events:,})")
    if result.scanned_events:
        note += (f"; the {result.scanned_events:,} events before them ({ms_stamp(result.scanned_from_ms)}–"
                 f"{ms_stamp(result.read_from_ms)}) were scanned and only their errors, warnings and notable "
                 f"lines kept ({result.scanned_kept:,})")
    if result.scanned_from_ms > result.window_start_ms:
        skipped = (f"at least {result.skipped_at_least:,} older events" if result.skipped_at_least
                   else "older events")
        note += (f"; {skipped} from {ms_stamp(result.window_start_ms)} to {ms_stamp(result.scanned_from_ms)} "
                 "were not read")
    return note + ". Narrow the window or add terms for the full picture."


def tool_text(services: Services, group: str, terms: list[str], window: int, where: str) -> str:
    """The `search_logs` tool's result: coverage, the grouped view and the newest errors, sized so the
    loop's cut (CLOUDOPS_LLM_TOOL_RESULT_CHARS) never drops the view's error groups."""
    result = gather_logs(services, group, terms, window)
    events = scrubbed_events(services, result)
    if not events:
        return (f"no events in {group}{where} over {format_window(window)}"
                + (f" matching {terms}" if terms else ""))
    s = services.settings
    errors = newest_errors(events, s.logs_error_examples, min(s.max_line_chars, 300))
    tail = "\nNewest errors:\n" + "\n".join(e.message for e in errors) if errors else ""
    note = coverage_note(result, len(result.events), s.logs_max_events)
    head = (f"{group}{where}\n" if where else "") + (f"{note}\n" if note else "")
    room = s.llm_tool_result_chars - len(head) - len(tail)
    budget = min(s.logs_budget_tokens, max(200, room // 4))  # ~4 chars per token for log text
    view = compact([LogLine(e.message, e.timestamp_ms, e.stream) for e in events], budget_tokens=budget,
                   max_groups=s.logs_max_groups, max_line_chars=s.max_line_chars).render()
    while len(head) + len(view) + len(tail) > s.llm_tool_result_chars and budget > 200:
        budget = int(budget * 0.8)
        view = compact([LogLine(e.message, e.timestamp_ms, e.stream) for e in events], budget_tokens=budget,
                       max_groups=s.logs_max_groups, max_line_chars=s.max_line_chars).render()
    return head + view + tail


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
    errors = newest_errors(events, services.settings.logs_error_examples, services.settings.max_line_chars)
    error_text = "\n".join(f"{ms_stamp(e.timestamp_ms)} {e.stream[-24:]} {e.message}" for e in errors)
    read = f"{len(result.events)} events"
    if result.capped:
        read += (f" (the newest {len(result.events) - result.scanned_kept} from {ms_stamp(result.read_from_ms)} UTC"
                 + (f", and {result.scanned_kept} older ones that matter" if result.scanned_kept else "") + ")")
    sections = [Section(title=f"{read}, grouped by shape", text=grouped, code=True)]
    if errors:
        sections.append(Section(title=f"Newest {len(errors)} error lines", text=error_text, code=True))
    note = coverage_note(result, len(result.events), services.settings.logs_max_events)
    notes: tuple[str, ...] = (note,) if note else ()
    all_errors = error_events(events)
    n_err = len(all_errors)
    first_err = all_errors[0] if all_errors else None
    fallback = (f"{n_err} of {len(events)} lines look like errors"
                + (f", the first at {ms_stamp(first_err.timestamp_ms)} UTC" if first_err else "")
                + f"; {total} distinct line shapes.")
    evidence = ((f"{note}\n\n" if note else "") + grouped
                + ("\n\nNewest error lines:\n" + error_text if errors else ""))
    return finish(services, request, title=f"Logs — {label}", sections=tuple(sections), evidence=evidence,
                  fallback=fallback, prompt="logs",
                  values={"group": group, "terms": " ".join(terms), "window": format_window(window)},
                  notes=notes)
