"""Turn many log lines into a prompt-sized view: one verbatim example per template.

A model (or a tired human) cannot read 200k lines, and the first or last N lines of a
log say little about what it contains. Grouping by drain3 template, keeping a real
example line with its count and time range, and picking groups under a token budget
gives a view whose size is bounded however large the input is. The Slack bot and the
`cloudops-bot compact` command both go through `compact`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.text.log_header import parse_header, timestamp_ms
from bot.text.log_lines import ERROR, cap_event, is_error_line
from bot.text.log_mining import SPLIT_MAX_PARTS, Cluster, Stamp, TemplateIndex
from bot.text.log_select import choose
from bot.text.tokens import DEFAULT_ENCODING, count_tokens

__all__ = ["CompactView", "LogGroup", "LogLine", "compact", "is_error_line"]


@dataclass(frozen=True)
class LogLine:
    """One log event as the bot fetches it; `source` is the log stream."""

    message: str
    timestamp_ms: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class LogGroup:
    """One template, shown by its first occurrence verbatim (capped)."""

    template: str
    count: int
    example: str
    example_line: int  # 1-based position of the example in the input
    first_ms: int | None
    last_ms: int | None
    is_error: bool
    source: str | None = None

    def render_line(self, time_format: str = "%H:%M:%S") -> str:
        """`×COUNT [first–last] example` on one line, the example's own timestamp dropped."""
        example = self.example
        if self.first_ms is not None:
            example = _drop_timestamp(example)
        example = example.replace("\r", "").replace("\n", " ⏎ ")
        when = ""
        if self.first_ms is not None and self.last_ms is not None:
            # Input order need not be time order (merged streams): show the range sorted.
            early, late = sorted((self.first_ms, self.last_ms))
            first, last = _fmt(early, time_format), _fmt(late, time_format)
            if first == last:
                when = f"[{first}] "
            else:
                same_day = first[:6] == last[:6] and time_format.startswith("%m")
                when = f"[{first}–{last[6:] if same_day else last}] "
        return f"×{self.count} {when}{example}"


@dataclass(frozen=True)
class CompactView:
    """The chosen groups (in order of first appearance) and what was left out."""

    groups: tuple[LogGroup, ...]
    total_lines: int
    total_groups: int
    omitted_groups: int
    tokens: int
    omitted_lines: int = 0  # events in templates with no group shown
    folded_lines: int = 0  # stack-trace/continuation lines counted inside their event
    time_format: str = "%H:%M:%S"

    def render(self) -> str:
        """The text that goes to the model or to Slack."""
        return render_view(self.groups, self.total_lines, self.total_groups, self.omitted_groups,
                           self.omitted_lines, self.folded_lines, self.time_format)


def render_view(groups: tuple[LogGroup, ...], total_lines: int, total_groups: int, omitted_groups: int,
                omitted_lines: int, folded_lines: int, time_format: str) -> str:
    """Header with totals, then one line per group."""
    header = _header(total_lines, total_groups, len(groups), omitted_groups, omitted_lines, folded_lines)
    return "\n".join([header, *(group.render_line(time_format) for group in groups)])


def _header(total_lines: int, total_groups: int, shown: int, omitted_groups: int, omitted_lines: int,
            folded_lines: int) -> str:
    """Says how much was left out, so neither a model nor a reader takes the view for the whole log."""
    header = f"{_n(total_lines, 'log line')}, {_n(total_groups, 'template')}: {_n(shown, 'group')} shown"
    if omitted_groups:
        header += f", {_n(omitted_groups, 'template')} omitted ({_n(omitted_lines, 'line')})"
    if folded_lines:
        header += f"; {_n(folded_lines, 'stack-trace line')} folded into their event"
    return header


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _drop_timestamp(example: str) -> str:
    """The group's time range already says when; the example's own timestamp is noise."""
    ts = parse_header(example).ts_text
    if not ts:
        return example
    at = example.find(ts, 0, len(ts) + 48)  # at the start, or after an access log's host
    if at < 0:
        return example
    end = at + len(ts)
    if at and example[at - 1] == "[" and example[end : end + 1] == "]":
        at, end = at - 1, end + 1
    before, after = example[:at].rstrip(" \t"), example[end:].lstrip(" \t")
    return f"{before} {after}" if before else after


def _fmt(ms: int, time_format: str) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime(time_format)


def _time_format(first: int | None, last: int | None) -> str:
    """Clock time when the whole input is within one UTC day, else the date too."""
    if first is None or last is None:
        return "%H:%M:%S"
    a, b = (datetime.fromtimestamp(x / 1000, tz=UTC) for x in (first, last))
    if a.date() == b.date():
        return "%H:%M:%S"
    return "%m-%d %H:%M" if a.year == b.year else "%Y-%m-%d %H:%M"


def _ms(stamp: Stamp, default_year: int) -> int | None:
    if stamp is None or isinstance(stamp, int):
        return stamp
    return timestamp_ms(stamp, default_year)


class _Grouper:
    """Clusters -> LogGroups, memoised: selection asks for the same line's cost often."""

    def __init__(self, default_year: int, encoding: str) -> None:
        self.default_year = default_year
        self.encoding = encoding
        self.time_format = "%H:%M:%S"
        self._groups: dict[int, LogGroup] = {}
        self._costs: dict[int, int] = {}

    def group(self, cluster: Cluster) -> LogGroup:
        found = self._groups.get(id(cluster))
        if found is None:
            first, last = cluster.first, cluster.last
            found = LogGroup(
                template=cluster.template,
                count=cluster.count,
                example=first.example if cluster.example_chars is None else cap_event(
                    first.example.split("\n"), cluster.example_chars),
                example_line=first.first_line,
                first_ms=_ms(first.first_ts, self.default_year),
                last_ms=_ms(last.last_ts, self.default_year),
                is_error=cluster.severity == ERROR,
                source=first.source,
            )
            self._groups[id(cluster)] = found
        return found

    def cost(self, cluster: Cluster) -> int:
        found = self._costs.get(id(cluster))
        if found is None:
            found = self._costs[id(cluster)] = count_tokens(
                "\n" + self.group(cluster).render_line(self.time_format), self.encoding
            )
        return found


def compact(
    lines: Iterable[LogLine] | Iterable[str],
    *,
    budget_tokens: int = 3000,
    max_groups: int = 50,
    max_line_chars: int = 400,
    default_year: int | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> CompactView:
    """Compact `lines` into at most `max_groups` groups whose rendering fits `budget_tokens`.

    `default_year` dates syslog timestamps, which carry none (default: this year, as
    syslog readers do). Same input and arguments give the same view.
    """
    index = TemplateIndex(max_line_chars=max_line_chars)
    index.add_all(lines)
    clusters = index.clusters()
    grouper = _Grouper(default_year or datetime.now(tz=UTC).year, encoding)
    firsts = [g.first_ms for g in map(grouper.group, clusters) if g.first_ms is not None]
    lasts = [g.last_ms for g in map(grouper.group, clusters) if g.last_ms is not None]
    grouper.time_format = _time_format(min(firsts, default=None), max(lasts, default=None))
    total, lines_in, folded = len(clusters), index.total_lines, index.folded_lines

    def view(chosen: list[Cluster]) -> CompactView:
        shown = {id(key) for cluster in chosen for key in cluster.keys}
        omitted = [c for c in clusters if not any(id(key) in shown for key in c.keys)]
        omitted_lines = sum(c.count for c in omitted)
        groups = tuple(sorted(map(grouper.group, chosen), key=lambda g: g.example_line))
        text = render_view(groups, lines_in, total, len(omitted), omitted_lines, folded, grouper.time_format)
        return CompactView(groups, lines_in, total, len(omitted), count_tokens(text, encoding), omitted_lines,
                           folded, grouper.time_format)

    # The header's size depends on the final counts; reserve its widest form.
    widest = min(max_groups, total * SPLIT_MAX_PARTS)
    reserve = count_tokens(_header(lines_in, total, widest, total, lines_in, folded), encoding)
    chosen = choose(clusters, max_groups=max_groups, budget=budget_tokens - reserve,
                    cost=grouper.cost, split=index.split, max_parts=SPLIT_MAX_PARTS)
    result = view(chosen)
    # Tokens of a joined text can differ by one or two from the sum of its parts; drop
    # the lowest-priority groups until the real count fits.
    while result.tokens > budget_tokens and chosen:
        chosen.pop()
        result = view(chosen)
    return result
