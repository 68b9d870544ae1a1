"""Split a log line into its header (timestamp, host, pid, level, logger) and its message.

Template mining works on the message alone: timestamps, pids and thread names vary on
every line, so left in they would either explode the number of templates or eat the
similarity budget of the miner. This is hand-written rather than a grok library: the
formats we meet are few (syslog, Apache, log4j/logback, Python logging, Lambda, the
loghub samples) and the hot path must cost one regex match per line, which a small set
of anchored, precompiled regexes gives when the last format that matched is tried first.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["HeaderParser", "LineHeader", "level_severity", "parse_header", "timestamp_ms"]

_LEVELS = (
    r"TRACE|DEBUG|FINE|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRITICAL|CRIT|ALERT|EMERG|PANIC"
)
# Every format has both named groups so the hot path can read them with one call;
# this one never matches, so the group is None for formats without a level.
_NO_LEVEL = "(?P<level>(?!))?"
_ISO_TS = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d| UTC)?"

# Each format ends exactly where the message starts. Named groups: ts (timestamp text),
# level (when the format has one). Order matters only for the first line of a stream.
_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 2015-07-29 17:41:44,747 - INFO  [thread:Comp@774] - msg ; 2024-01-01T00:00:00Z ERROR msg ;
    # 2024-01-01 10:00:00,123 [main] INFO  com.foo.Bar - msg ; Lambda node: ts \t reqid \t ERROR \t msg ;
    # Spring Boot: ts  INFO 123 --- [  main] c.e.App  : msg ; Python: ts - name - LEVEL - msg
    (
        "iso",
        re.compile(
            rf"\[?(?P<ts>{_ISO_TS})\]?"
            # possessive inside items: no backtracking into a header item (not on the outer
            # repeat, which holds a capturing group: CPython 3.11 rejects that)
            r"(?:[ \t]++(?:-{1,3}|\||[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
            rf"|\[?(?P<level>{_LEVELS})\]?:?(?:[ \t]+\d+)?"
            r"|\[(?:[^\[\]]++|\[[^\]]*+\])*+\]"
            r"|(?=[\w$.@-]*[a-z.])[\w$.@-]++(?=[ \t]+[-:|][ \t])"
            r"|[\w$-]++(?:\.[\w$-]++)++(?:@\d+)?:(?=[ \t])))*[ \t]*"
        ),
    ),
    # Jun 14 15:16:01 combo sshd(pam_unix)[19939]: msg
    (
        "syslog",
        re.compile(
            r"(?P<ts>[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d) [\w.-]+ +(?:-- )?"
            r"[\w./-]+(?:\([^)\s]*\))?(?:\[\d+\])?(?: [\d.]+)?: " + _NO_LEVEL
        ),
    ),
    # [Sun Dec 04 04:47:44 2005] [error] [pid 1:tid 2] msg
    (
        "apache_error",
        re.compile(
            r"\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] "
            r"\[(?:[\w.]+:)?(?P<level>\w+)\](?: \[pid \d+(?::tid \d+)?\])? "
        ),
    ),
    # 10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326: the request is the message.
    (
        "access",
        re.compile(r"\S+ \S+ \S+ \[(?P<ts>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d(?: [+-]\d{4})?)\] " + _NO_LEVEL),
    ),
    # 081109 203615 148 INFO dfs.DataNode$PacketResponder: msg  (HDFS)
    ("yymmdd", re.compile(rf"(?P<ts>\d{{6}} \d{{6}}) \d+ (?P<level>{_LEVELS}) [\w$.-]+: ")),
    # 17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: msg  (Spark, log4j 1 default)
    ("yy/mm/dd", re.compile(rf"(?P<ts>\d\d/\d\d/\d\d \d\d:\d\d:\d\d) (?P<level>{_LEVELS}) [\w$.-]+: ")),
    # [ERROR]\t2024-01-01T00:00:00.000Z\treq-id\tmsg  (Lambda Python runtime)
    ("lambda", re.compile(rf"\[(?P<level>{_LEVELS})\]\t(?P<ts>{_ISO_TS})\t\S+\t")),
    # ERROR:root:msg  (Python logging.basicConfig default)
    ("py_basic", re.compile(rf"(?P<level>{_LEVELS}):[\w.]+:(?P<ts>(?!))?")),
)

_ERROR_LEVELS = frozenset({"ERROR", "ERR", "SEVERE", "FATAL", "CRITICAL", "CRIT", "ALERT", "EMERG", "PANIC"})
_WARN_LEVELS = frozenset({"WARN", "WARNING"})
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}


@dataclass(frozen=True, slots=True)
class LineHeader:
    """Where the message starts, so callers can slice it without copying the line twice."""

    message_start: int
    ts_text: str | None
    level: str | None

    @property
    def severity(self) -> int:
        """2 for error levels, 1 for warnings, 0 otherwise: the header alone says this much."""
        return level_severity(self.level)


def level_severity(level: str | None) -> int:
    """2 for error levels, 1 for warnings, 0 otherwise: what the header alone says."""
    if level is None:
        return 0
    level = level.upper()
    return 2 if level in _ERROR_LEVELS else 1 if level in _WARN_LEVELS else 0


class HeaderParser:
    """Remembers the last format that matched: a stream is nearly always one format."""

    __slots__ = ("_current", "_order")

    def __init__(self) -> None:
        self._order = [pattern for _, pattern in _FORMATS]
        self._current = self._order[0]

    def split(self, line: str) -> tuple[int, str | None, str | None]:
        """(message start, timestamp text, level); (0, None, None) when no format fits."""
        if line[:1] == "{":  # a JSON object: no header format starts with a brace
            return 0, None, None
        match = self._current.match(line)
        if match is None or not match.end():
            for pattern in self._order:
                match = pattern.match(line)
                if match is not None and match.end():
                    self._current = pattern
                    break
            else:
                return 0, None, None
        ts, level = match.group("ts", "level")
        return match.end(), ts, level

    def parse(self, line: str) -> LineHeader:
        """The same as split, as a named record for callers off the hot path."""
        return LineHeader(*self.split(line))


def parse_header(line: str) -> LineHeader:
    """One-off parse for callers without a stream (rendering, tests)."""
    return HeaderParser().parse(line)


def timestamp_ms(ts_text: str, default_year: int) -> int | None:
    """Turn a header timestamp into epoch ms (UTC when the log gives no zone).

    Only called for the first and last line of each template, never per line, so the
    slowness of strptime does not matter. Syslog timestamps carry no year: the caller
    supplies one, as syslog readers do.
    """
    text = ts_text.strip()
    try:
        if text[:4].isdigit() and len(text) >= 19 and text[4] == "-":
            iso = text.replace(",", ".").replace(" UTC", "Z")
            parsed = datetime.fromisoformat(iso[:10] + "T" + iso[11:])
        elif re.fullmatch(r"\d{6} \d{6}", text):
            parsed = datetime.strptime(text, "%y%m%d %H%M%S")
        elif re.fullmatch(r"\d\d/\d\d/\d\d \d\d:\d\d:\d\d", text):
            parsed = datetime.strptime(text, "%y/%m/%d %H:%M:%S")
        elif re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", text):
            parsed = datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")
        elif re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4}", text):
            parsed = datetime.strptime(re.sub(r"\.\d+", "", text), "%a %b %d %H:%M:%S %Y")
        elif (match := re.fullmatch(r"([A-Z][a-z]{2}) +(\d\d?) (\d\d):(\d\d):(\d\d)", text)) is not None:
            month = _MONTHS.get(match[1])
            if month is None:
                return None
            parsed = datetime(default_year, month, int(match[2]), int(match[3]), int(match[4]), int(match[5]))
        else:
            return None
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
