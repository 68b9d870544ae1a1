"""One log event on its own, read the way compaction reads it: its severity, key and display form.

The grouped view and the "newest error lines" next to it must agree on what an error is and show
it the same way (a JSON line rendered with its error first, a trace with its exception), so both
go through the header parser, the structured-line parser and the multi-line cap used by compaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.text.log_fields import parse_fields
from bot.text.log_header import HeaderParser, level_severity
from bot.text.log_lines import (
    NORMAL,
    cap_event,
    continues_event,
    exception_summary,
    has_http_5xx,
    is_error_line,
    is_notable,
    mask_message,
    severity_of,
)

__all__ = ["EventReader", "EventView", "bound_event", "join_continuations"]

MAX_JOINED = 256  # lines joined into one event: a trace, not a whole stream of indented output
JOIN_GAP_MS = 5000  # a continuation arrives with its event, not minutes later


@dataclass(frozen=True, slots=True)
class EventView:
    severity: int
    key: str  # masked shape of the first line and the exception: equal keys, same kind of event
    display: str  # one line: structured fields first, a trace's head and exception joined by ⏎


class EventReader:
    """Reads events of one stream (remembers the header format, like compaction does)."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._parser = HeaderParser()

    def matters(self, message: str) -> bool:
        """Whether an event is worth keeping from a stretch of the window read only for what matters:
        an error or warning, or a notable line (a deploy, a config change, a looming limit)."""
        head = message.split("\n", 1)[0]
        if "\n" in message:
            return True  # a multi-line event is a trace or a dump: rare, and usually the explanation
        start, _, level = self._parser.split(head)
        body = head[start:]
        fields = parse_fields(body) if body[-1:] == "}" or ("=" in body and body[:1].isalpha()) else None
        if fields is not None:
            return max(fields.severity, level_severity(level)) > NORMAL or is_notable(fields.key)
        return severity_of(body, level_severity(level)) > NORMAL or is_notable(body)

    def read(self, message: str) -> EventView:
        lines = message.rstrip("\r\n").split("\n")
        head = lines[0]
        start, _, level = self._parser.split(head)
        body = head[start:]
        header_severity = level_severity(level)
        fields = None
        if len(lines) > 1 and body[:1] == "{" and message.rstrip()[-1:] == "}":  # a pretty-printed object
            fields = parse_fields(message[start:].strip())
            if fields is not None:
                lines = [head]
        if fields is None and (body[-1:] == "}" or ("=" in body and body[:1].isalpha())):
            fields = parse_fields(body)
        if fields is not None:
            severity = max(fields.severity, header_severity)
            key = mask_message(fields.key)
            head = head[:start] + fields.rendered
        else:
            severity = severity_of(body, header_severity)
            key = mask_message(body) + ("\x005" if has_http_5xx(body) else "")
        summary = exception_summary(lines[1:]) if len(lines) > 1 else None
        if summary is not None:
            severity = max(severity, severity_of(summary, 0))
            key += " ⏎ " + mask_message(summary)
        shown = cap_event([head, *lines[1:]], self.max_chars).replace("\r", "").replace("\n", " ⏎ ")
        return EventView(severity, key, shown)


def bound_event(message: str, max_chars: int) -> str:
    """An event cut to max_chars keeping its head and its end (a trace's exception, a JSON line's
    last fields), so what defines it survives the cap applied before compaction."""
    if len(message) <= max_chars:
        return message
    return cap_event(message.split("\n"), max_chars)


class _Event(Protocol):
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def stream(self) -> str: ...


E = TypeVar("E", bound=_Event)


def join_continuations(events: Sequence[E], make: Callable[[int, str, str], E]) -> list[E]:
    """Events in time order with each stream's continuation lines joined to the event they continue.

    A Java trace written one line per event arrives interleaved with other streams' events, so
    folding consecutive lines (as compaction does for a file) would hand its frames and its
    `Caused by` to whatever event of another stream came between. Joined per stream first, with the
    rules log shippers' multiline settings use (log_lines.continues_event), each trace is one event.
    """
    out: list[E] = []
    open_events: dict[str, tuple[int, bool, bool, int]] = {}  # stream -> (index, head is error, in trace, lines)
    parser = HeaderParser()
    for event in events:
        line = event.message
        found = open_events.get(event.stream)
        if found is not None and "\n" not in line:
            index, head_error, in_trace, count = found
            previous = out[index]
            if (count < MAX_JOINED and event.timestamp_ms - previous.timestamp_ms <= JOIN_GAP_MS
                    and continues_event(line, head_error, count > 1, in_trace)
                    and not (line[:1] in " \t" and line.strip() and parser.split(line.lstrip())[1])):
                out[index] = make(previous.timestamp_ms, previous.message + "\n" + line, previous.stream)
                if line.startswith("Traceback"):
                    in_trace = True
                elif in_trace and line[:1] not in " \t":
                    in_trace = False
                open_events[event.stream] = (index, head_error, in_trace, count + 1)
                continue
        out.append(event)
        first = line.split("\n", 1)[0]
        open_events[event.stream] = (len(out) - 1, is_error_line(first), first.startswith("Traceback"),
                                     line.count("\n") + 1)
    return out
