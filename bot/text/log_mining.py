"""Stream log lines into drain3 templates, one pass, with per-template statistics.

Speed comes from not calling drain3 for most lines: lines are folded into events (a
stack trace is one event), the header is cut off, digit-bearing tokens are masked, and
the masked message keys a dict. Only a key never seen before goes to drain3, whose
template for that key cannot change afterwards except by generalising, so the cache
is exact. Real logs repeat a few hundred shapes, so drain3 sees a few hundred lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.text.log_fields import parse_fields
from bot.text.log_header import HeaderParser, level_severity
from bot.text.log_lines import (
    ERROR,
    NORMAL,
    cap_event,
    continues_event,
    exception_summary,
    has_http_5xx,
    is_error_line,
    is_notable,
    mask_message,
    severity_of,
    shape_of,
)

if TYPE_CHECKING:  # drain3 (~8 MB resident with jsonpickle) is imported on the first compaction
    from drain3 import TemplateMiner

__all__ = ["WILDCARD", "Cluster", "KeyStat", "TemplateIndex", "make_miner"]

# Tuned on the loghub 2k samples (bench/compaction_quality.py): coarse groups for the
# first pass, fine ones to split a group when the budget leaves room.
COARSE_SIM, FINE_SIM, DEPTH = 0.4, 0.7, 5
WILDCARD = "<*>"  # drain3's parameter token; mask_message uses the same
# Distinct shapes tracked one by one (each keeps a capped example line, <= ~1 KB).
KEY_CAP = 20_000
# Bounds the shape cache for inputs where every line has a new shape (hex ids, free
# text): past this, such lines pay for the masking regex instead of growing memory.
SHAPE_CACHE_MAX = 2 * KEY_CAP
# A template is split only if it has at most this many shapes and falls into at most
# SPLIT_MAX_PARTS parts; more parts means a free-text variable (user names, paths).
SPLIT_MAX_SHAPES, SPLIT_MAX_PARTS = 256, 8
# Continuation lines kept per event: enough for any example, bounded for a log that is
# all indented text.
MAX_FOLDED = 256


class LineLike(Protocol):
    """The fields of compaction.LogLine this module reads (avoids an import cycle)."""

    @property
    def message(self) -> str: ...
    @property
    def timestamp_ms(self) -> int | None: ...
    @property
    def source(self) -> str | None: ...


Stamp = int | str | None  # epoch ms when the caller gave one, else the header's text


def make_miner(sim_th: float, depth: int = DEPTH) -> TemplateMiner:
    """A drain3 miner set up in code: no ini file, no persistence, no masking of its own."""
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.drain_sim_th = sim_th
    config.drain_depth = depth
    config.masking_instructions = []  # already masked, once, by mask_message
    config.profiling_enabled = False
    config.parametrize_numeric_tokens = True
    return TemplateMiner(persistence_handler=None, config=config)


@dataclass(slots=True, eq=False)
class KeyStat:
    """Everything kept about one masked message shape; lines themselves are not kept."""

    masked: str
    severity: int
    cluster: int
    first_line: int
    example: str
    source: str | None
    first_ts: Stamp
    count: int = 1
    last_line: int = 0
    last_ts: Stamp = None
    notable: bool = False  # a change or a looming limit (log_lines.is_notable), not an error


@dataclass(slots=True, eq=False)
class Cluster:
    """A template with the key shapes that fell into it, in first-seen order."""

    template: str
    severity: int
    keys: list[KeyStat] = field(default_factory=list)
    example_chars: int | None = None  # a tighter cap than max_line_chars, set by selection

    @property
    def count(self) -> int:
        return sum(key.count for key in self.keys)

    @property
    def notable(self) -> bool:
        return any(key.notable for key in self.keys)

    @property
    def first(self) -> KeyStat:
        return self.keys[0]

    @property
    def last(self) -> KeyStat:
        return max(self.keys, key=lambda key: key.last_line)


class TemplateIndex:
    """One pass over the input; keeps O(distinct shapes) memory, not O(lines)."""

    def __init__(self, *, max_line_chars: int = 400) -> None:
        self.max_line_chars = max_line_chars
        self.total_lines = 0
        self.folded_lines = 0
        self._parser = HeaderParser()
        self._stats: dict[str, KeyStat] = {}
        self._shapes: dict[bytes, str] = {}
        self._overflow: dict[int, KeyStat] = {}
        self._signatures: dict[tuple[int, int, str], int] = {}
        self._miners: dict[int, TemplateMiner] = {}
        self._cluster_ids: dict[tuple[int, int], int] = {}

    def add_all(self, items: Iterable[str | LineLike]) -> None:
        """Consume the input; a line that continues the event above it is folded into it.

        The head of an event is keyed when it is read, but counted only when the next
        head shows that no stack trace followed it. The fast path for a line seen in
        this shape before costs one header regex, one bytes.translate and two dict hits.
        """
        stats, shapes, split_header = self._stats, self._shapes, self._parser.split
        number = self.total_lines
        key: str | None = None  # of the event being read
        stat: KeyStat | None = None
        severity = line = start = 0
        text = ""
        level: str | None = None
        stamp: Stamp = None
        source: str | None = None
        extra: list[str] | None = None
        in_trace = False
        for item in items:
            if isinstance(item, str):
                raw, raw_stamp, raw_source = item, None, None
            else:
                raw, raw_stamp, raw_source = item.message, item.timestamp_ms, item.source
            if raw.endswith(("\n", "\r")):
                raw = raw.rstrip("\r\n")
            number += 1
            first = raw[:1]
            if key is not None:
                if (
                    (first in " \tTDC" or in_trace or (severity == ERROR and extra is None))
                    and continues_event(raw, severity == ERROR, extra is not None, in_trace)
                    and not (first in " \t" and raw.strip() and split_header(raw.lstrip())[1])
                ):  # the last test: an indented log line with its own timestamp is not a frame
                    if extra is None:
                        extra = []
                    elif len(extra) >= MAX_FOLDED:
                        del extra[MAX_FOLDED // 2]  # keep both ends; the example keeps no more
                    extra.append(raw)
                    self.folded_lines += 1
                    if raw.startswith("Traceback"):
                        in_trace = True
                    elif in_trace and first not in " \t":
                        in_trace = False
                    continue
                if extra is None and stat is not None:
                    stat.count += 1
                    stat.last_line = line
                    stat.last_ts = stamp
                else:
                    self._finish(key, severity, line, text, start, stamp, source, extra)
            if first in " \t":
                raw = raw.lstrip()
            start, ts, level = split_header(raw)
            text, line, source, extra = raw, number, raw_source, None
            stamp = raw_stamp if raw_stamp is not None else ts
            message = raw[start:] if start else raw
            fields = None
            if "\n" in message:  # one event holding several lines (CloudWatch, Lambda)
                if message[:1] == "{" and message.rstrip()[-1:] == "}":  # a pretty-printed object
                    fields = parse_fields(message.strip())
                if fields is None:
                    text, *extra = raw.split("\n")
                    message = text[start:]
            if fields is None and (message[-1:] == "}" or ("=" in message and message[:1].isalpha())):
                fields = parse_fields(message)
            if fields is not None:
                # Keyed by level, logger, message and error, never by ids or key order; the severity
                # is the line's own (status, error fields, numeric levels), so it is part of the key.
                severity = max(fields.severity, level_severity(level))
                level = level or fields.level
                shape = shape_of(fields.key)
                masked = shapes.get(shape)
                if masked is None:
                    masked = mask_message(fields.key)
                    if len(shapes) < SHAPE_CACHE_MAX:
                        shapes[shape] = masked
                key = f"{level or ''}\x00{masked}\x00{severity}"
                if stamp is None:
                    stamp = fields.time
                stat = stats.get(key)
                if stat is None or extra is not None:  # rendered only when it may become an example
                    text = raw[:start] + fields.rendered
                in_trace = False
                continue
            shape = shape_of(message)
            masked = shapes.get(shape)
            if masked is None:
                masked = mask_message(message)
                if len(shapes) < SHAPE_CACHE_MAX:
                    shapes[shape] = masked
            key = f"{level or ''}\x00{masked}\x005" if has_http_5xx(message) else f"{level or ''}\x00{masked}"
            stat = stats.get(key)
            severity = stat.severity if stat is not None else severity_of(message, level_severity(level))
            in_trace = message.startswith("Traceback")
        if key is not None:
            if extra is None and stat is not None:
                stat.count += 1
                stat.last_line = line
                stat.last_ts = stamp
            else:
                self._finish(key, severity, line, text, start, stamp, source, extra)
        self.total_lines = number

    def _finish(
        self,
        key: str,
        severity: int,
        line: int,
        head: str,
        start: int,
        stamp: Stamp,
        source: str | None,
        extra: list[str] | None,
    ) -> None:
        """Count an event that is new, or that carries a stack trace."""
        masked = key.split("\x00", 2)[1]
        if extra:
            # Keyed by its first line and its exception line, not by its frames, which
            # differ with every code path but say less than the exception does.
            summary = exception_summary(extra)
            if summary is not None:
                tail = " ⏎ " + mask_message(summary)
                masked += tail
                key += tail
                if severity != ERROR and is_error_line(summary):
                    severity = ERROR
        lines = [head, *extra] if extra else [head]
        stat = self._stats.get(key)
        if stat is not None:
            stat.count += 1
            stat.last_line = line
            stat.last_ts = stamp
            return
        tokens = masked.split(maxsplit=1)
        signature = (severity, masked.count(" "), tokens[0] if tokens else "")
        if len(self._stats) >= KEY_CAP:
            # Past the cap a new shape is counted on an overflow record of the template
            # last seen with the same length and first word, without asking drain3:
            # memory stays bounded and the cost per line stays near the cached path
            # when every line is new. Only the long tail of shapes is grouped this roughly.
            index = self._signatures.get(signature)
            if index is None:
                index = self._mine(severity, masked)
                self._signatures[signature] = index
            overflow = self._overflow.get(index)
            if overflow is not None:
                overflow.count += 1
                overflow.last_line = line
                overflow.last_ts = stamp
                return
            example = cap_event(lines, self.max_line_chars)
            stat = KeyStat(masked, severity, index, line, example, source, stamp, 1, line, stamp,
                           severity == NORMAL and is_notable(masked))
            self._overflow[index] = self._stats[f"\x01{index}"] = stat
            return
        index = self._signatures[signature] = self._mine(severity, masked)
        capped = cap_event(lines, self.max_line_chars)
        self._stats[key] = KeyStat(masked, severity, index, line, capped, source, stamp, 1, line, stamp,
                                   severity == NORMAL and is_notable(masked))

    def _mine(self, severity: int, masked: str) -> int:
        """drain3's cluster for a new shape, as a dense index over all severities."""
        miner = self._miners.get(severity)
        if miner is None:
            miner = self._miners[severity] = make_miner(COARSE_SIM)
        cluster_id = miner.add_log_message(masked)["cluster_id"]
        return self._cluster_ids.setdefault((severity, cluster_id), len(self._cluster_ids))

    def clusters(self) -> list[Cluster]:
        """Coarse templates, each with its keys in first-seen order, by first appearance."""
        templates: dict[int, str] = {}
        for (severity, cluster_id), index in self._cluster_ids.items():
            found = self._miners[severity].drain.id_to_cluster.get(cluster_id)
            templates[index] = found.get_template() if found is not None else ""
        by_index: dict[int, Cluster] = {}
        for stat in self._stats.values():
            cluster = by_index.get(stat.cluster)
            if cluster is None:
                cluster = by_index[stat.cluster] = Cluster(templates[stat.cluster], stat.severity)
            cluster.keys.append(stat)
        return sorted(by_index.values(), key=lambda c: c.first.first_line)

    @staticmethod
    def split(cluster: Cluster) -> list[Cluster]:
        """Re-mine one template's shapes with a stricter similarity.

        drain3 merges messages that differ in one constant word (LEADING vs FOLLOWING,
        admin vs root) when they are long enough; when the budget has room, showing
        those apart is worth more than a second example of anything else.
        """
        if not 2 <= len(cluster.keys) <= SPLIT_MAX_SHAPES:
            return [cluster]  # hundreds of shapes: a variable word, not a few merged messages
        miner = make_miner(FINE_SIM)
        parts: dict[int, Cluster] = {}
        for stat in cluster.keys:
            cluster_id = miner.add_log_message(stat.masked)["cluster_id"]
            part = parts.get(cluster_id)
            if part is None:
                part = parts[cluster_id] = Cluster("", cluster.severity)
            part.keys.append(stat)
        for cluster_id, part in parts.items():
            part.template = miner.drain.id_to_cluster[cluster_id].get_template()
        return sorted(parts.values(), key=lambda c: c.first.first_line)
