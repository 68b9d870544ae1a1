"""Cheap per-line decisions for compaction: severity, masking, stack-trace folding, capping.

Everything here runs once per input line on up to hundreds of thousands of lines, so
each decision is at most one precompiled regex; drain3's own masking runs a list of
regexes per line and was measured at ~85 % of its time, which is why masking is done
here, once, and its result doubles as the key of the template cache.
"""

from __future__ import annotations

import re

__all__ = [
    "ERROR",
    "NORMAL",
    "WARNING",
    "cap_event",
    "cap_text",
    "continues_event",
    "exception_summary",
    "has_http_5xx",
    "is_error_line",
    "is_notable",
    "mask_message",
    "severity_of",
    "shape_of",
]

NORMAL, WARNING, ERROR = 0, 1, 2

# HTTP 5xx: access-log status after the request, status=/code= fields, "HTTP 503", JSON "status":502
_HTTP_5XX = r'(?:HTTP/\d(?:\.\d)?"|HTTP|(?:status|code|status_code)"?\s*[=:])\s*5\d\d\b'
# Every alternative but the CamelCase one starts at \b, so the engine tries the list at
# word starts only, not at every character.
_ERROR_RE = re.compile(
    r"\b(?:(?:ERR|CRIT|ALERT|EMERG|OOM|Exception|Error)\b"
    r"|(?i:errors?|fatal|critical|severe|panic(?:ked)?|traceback|fail(?:ed|ure|ing)?|refused|denied"
    r"|unreachable|segfault|timed[ -]out|time-?out(?!\s*(?:[=:]\s*)?\d)|out of memory|abort(?:ed|ing)?"
    r"|crash(?:ed)?|oom[-_ ]?kill(?:ed|er)?|crashloop\w*)\b"
    r"|" + _HTTP_5XX + ")"
    r"|[a-z](?:Exception|Error)\b"  # ValueError, NullPointerException
)
# Lower-case substrings one of which every match above contains: `in` tests are much
# cheaper than the regex, and most lines contain none of them.
_ERROR_HINTS = (
    "err", "fatal", "crit", "sever", "panic", "trace", "exception", "fail", "refus", "denied", "unreach",
    "segfault", "oom", "time", "memory", "abort", "crash", "alert", "emerg", "http", "status", "code",
)
# "exception" in lower case is usually an error being handled; not sure enough to call
# it an error, worth showing before the routine lines.
_WARNING_RE = re.compile(r"(?i:\bwarn(?:ing)?s?\b|\bexceptions?\b)")

# A token holding a digit is a variable (ids, counts, IPs, sizes, hex, timestamps):
# masked whole, so `blk_-123` and `10.0.0.1:80` collapse. The look-behind anchors each
# attempt at a token start, keeping the scan linear.
_MASK_RE = re.compile(r"(?<!\S)[^\s\d]*\d\S*")

# Digits -> "0", as bytes because bytes.translate is ~20x faster than str.translate.
# Two messages with the same shape mask identically (masking depends only on where the
# digits are), so the shape can key a cache in front of the masking regex.
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_HTTP_5XX_RE = re.compile(_HTTP_5XX)

_TRACE_CONNECTORS = (
    "Traceback (most recent call last)",
    "During handling of the above exception",
    "The above exception was the direct cause",
)
_JAVA_EXCEPTION_RE = re.compile(r"(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b")


def is_error_line(text: str) -> bool:
    """Whether an on-call engineer would call this line an error.

    Broad on purpose (failed/refused/5xx/timeouts, not just the ERROR level): a template
    flagged here is always kept in the compacted view, and missing the one line that
    explains an outage costs more than showing a harmless one.
    """
    return _is_error(text, text.lower())


def _is_error(text: str, lowered: str) -> bool:
    for hint in _ERROR_HINTS:
        if hint in lowered:
            return _ERROR_RE.search(text) is not None
    return False


def severity_of(message: str, header_severity: int) -> int:
    """Combine the header's level with the message's words; the worse one wins."""
    if header_severity == ERROR:
        return ERROR
    lowered = message.lower()
    if _is_error(message, lowered):
        return ERROR
    if header_severity == WARNING or (
        ("warn" in lowered or "exception" in lowered) and _WARNING_RE.search(message) is not None
    ):
        return WARNING
    return NORMAL


def mask_message(message: str) -> str:
    """The template-cache key: the message with every digit-bearing token as <*>."""
    return _MASK_RE.sub("<*>", message)


def shape_of(message: str) -> bytes:
    """Cheap stand-in for mask_message as a cache key (see _DIGITS)."""
    return message.encode("utf-8", "surrogatepass").translate(_DIGITS)


def has_http_5xx(message: str) -> bool:
    """The one error signal masking hides (the status is a number), checked per line."""
    return ("HTTP" in message or "status" in message or "code" in message) and (
        _HTTP_5XX_RE.search(message) is not None
    )


def cap_text(text: str, max_chars: int) -> str:
    """Shorten to max_chars keeping both ends.

    The end of a line (status, error text) and of a stack trace (the exception) matter
    as much as its start, so the middle is what goes.
    """
    if len(text) <= max_chars:
        return text
    if max_chars < 8:
        return text[:max_chars]
    tail = (max_chars - 1) // 3
    return text[: max_chars - 1 - tail] + "…" + text[len(text) - tail :]


# Routine-looking lines an on-call engineer still scans for: what changed (deploys, config, scaling,
# restarts, failovers) and what is about to break (certificates, disk, memory, quotas). Not errors:
# they earn a place only while rare (see log_select).
_NOTABLE_RE = re.compile(
    r"(?i:\b(?:deploy(?:ed|ing|ment)?|rollout|roll(?:ing|ed) (?:back|out|update|restart)|rollback|release[ds]?"
    r"|upgrad(?:e|ed|ing)|migrat(?:e|ed|ing|ion)|config(?:uration)?\s+(?:change[ds]?|reload(?:ed)?|updated?)"
    r"|reload(?:ed|ing)?\s+config(?:uration)?|feature[ -]flag|toggled|certificate|cert(?:ificate)?s?\s+expir"
    r"|expir(?:es|ing|ed|y)|disk(?:\s+(?:usage|space|full|pressure))|no space left|inodes?|quota|throttl(?:ed|ing)"
    r"|memory (?:pressure|usage|limit)|scal(?:ed|ing) (?:up|down|out|in)|autoscal\w*|restart(?:ed|ing)"
    r"|shutting down|sigterm|sigkill|failover|fail(?:ed)? over|promot(?:ed|ing)|leader|draining|evict(?:ed|ing)"
    r"|rotat(?:ed|ing) (?:key|secret|credential)s?|schema change|maintenance|version \S*\d"
    r"|changed|modified|enabled|disabled|switched|exited|exit code|killed|terminat(?:ed|ing)|reboot(?:ed|ing)?"
    r"|interrupt(?:ed|ion)?|unhealthy|degraded|health ?checks?|rate[ -]limit(?:ed)?|back-?off|lockup|hung"
    r"|blocked for more than|(?:is|went|link) down|steady state)\b)"
)


def is_notable(message: str) -> bool:
    """Whether a non-error line names a change or a looming limit (see _NOTABLE_RE)."""
    return _NOTABLE_RE.search(message) is not None


def continues_event(line: str, head_is_error: bool, has_extra: bool, in_python_trace: bool) -> bool:
    """Whether `line` belongs to the event above it (stack traces, wrapped output).

    Follows the conventions of log shippers' multiline settings: indented lines and blank
    lines continue an event; a Python traceback continues an ERROR line (logging.exception)
    up to and including its exception line; a Java exception line continues an ERROR line,
    and `Caused by:` continues the trace.
    """
    if not line or line[0] in " \t":
        return True
    if in_python_trace:
        return True  # the exception line that closes a traceback: "ValueError: bad input"
    if line.startswith(_TRACE_CONNECTORS):
        return head_is_error or has_extra
    if line.startswith("Caused by: "):
        return has_extra
    return head_is_error and not has_extra and _JAVA_EXCEPTION_RE.match(line) is not None


def cap_event(lines: list[str], max_chars: int) -> str:
    """A multi-line event in at most max_chars, keeping what defines it.

    A stack trace's middle is frames; its head (what was being done) and its exception lines (the
    final exception, each `Caused by`, the last line) are what an engineer reads. Those are taken
    first, then frames nearest the exception while room remains; gaps show as an indented `…`.
    """
    text = "\n".join(lines)
    if len(text) <= max_chars or len(lines) < 2:
        return cap_text(text, max_chars)
    wanted = [0]
    summary = exception_summary(lines[1:])
    defining = [i for i, line in enumerate(lines) if i and line and line[0] not in " \t"
                and not line.startswith(_TRACE_CONNECTORS)]
    if summary is not None:
        wanted.append(1 + lines[1:].index(summary))
    # then the first exception (a Python chain's root, a Java trace's top) and the rest, newest first
    wanted += [len(lines) - 1, *defining[:1], *reversed(defining)]
    wanted += [i for i in range(len(lines) - 1, 0, -1)]
    per_line = max(40, max_chars // 3)
    kept: dict[int, str] = {}
    used = 0
    for i in dict.fromkeys(wanted):
        piece = cap_text(lines[i], max(per_line, max_chars // 2) if i == 0 else per_line)
        cost = len(piece) + 4  # newline, and room for a gap marker
        if used + cost > max_chars and kept:
            continue
        kept[i] = piece
        used += cost
    out: list[str] = []
    previous = -1
    for i in sorted(kept):
        if i != previous + 1:
            out.append("  …")
        out.append(kept[i])
        previous = i
    if previous != len(lines) - 1:
        out.append("  …")
    return cap_text("\n".join(out), max_chars)


def exception_summary(extra: list[str]) -> str | None:
    """The line of a folded trace that names what went wrong (last exception / root cause)."""
    for line in reversed(extra):
        if not line or line[0] in " \t" or line.startswith(_TRACE_CONNECTORS):
            continue
        return line
    return None
