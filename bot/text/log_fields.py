"""Structured log lines (one JSON object per line, logfmt): template key, severity and a compact rendering.

Modern services log objects, not sentences. Templated as text, a compact JSON line has no spaces and
a digit somewhere in nearly every token, so thousands of different messages collapse into one group
while one message splits by key order. Here the object is parsed and the parts an engineer reads
are pulled out by field name: the message (templated), level and logger (part of the key), the error,
status and duration (severity, and first in the rendering). Ids and timestamps never enter the key.
The stdlib json parser is used because it is the fastest correct one available; logfmt has no
maintained parser worth a dependency, and one regex covers it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.text.log_header import level_severity
from bot.text.log_lines import ERROR, NORMAL, WARNING, exception_summary, severity_of, shape_of

__all__ = ["Fields", "parse_fields"]

_MESSAGE = ("msg", "message", "@m", "@mt", "event", "log", "text", "body", "summary", "type")
_LEVEL = frozenset({"level", "lvl", "severity", "loglevel", "log_level", "levelname", "@l", "severity_text"})
_LOGGER = ("logger", "logger_name", "loggername", "name", "component", "module", "source", "service")
_TIME = frozenset({"time", "timestamp", "ts", "@timestamp", "@t", "date", "datetime", "asctime", "timeunixnano"})
# Words that make a field an error field wherever they appear in its name (err.message, errorType,
# upstream_error, stack_trace, exc_info, Serilog's @x).
_ERROR_WORDS = frozenset({"error", "errors", "err", "exception", "exceptions", "exc", "stack", "stacktrace",
                          "traceback", "cause", "fault", "panic", "@x"})
_DETAIL = frozenset({"reason", "detail", "details", "description", "hint", "cause_message"})
_WORD_SPLIT = re.compile(r"[._\-\s/]+|(?<=[a-z0-9])(?=[A-Z])")
_STATUS = frozenset({"status", "statuscode", "status_code", "http_status", "httpstatus", "response_status",
                     "code", "outcome", "result"})
_DURATION = frozenset({"duration", "duration_ms", "durationms", "latency", "latency_ms", "elapsed", "elapsed_ms",
                       "took", "took_ms", "response_time", "responsetime", "request_time", "time_ms", "rt"})
_BAD_STATUS = frozenset({"error", "failed", "failure", "fail", "timeout", "timedout", "fatal", "crash", "crashed",
                         "aborted", "killed", "unhealthy"})
# pino/bunyan numeric levels: 50 error, 60 fatal, 40 warn
_NUMERIC_LEVELS = ((50, ERROR), (40, WARNING))

_LOGFMT_PAIR = re.compile(r'([A-Za-z_@][\w.@/-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_LOGFMT_START = re.compile(r"[A-Za-z_@][\w.@/-]*=")
_DIGITS = re.compile(r"\d")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")
MAX_KEY_PART = 160  # chars of message/error that enter the template key: beyond that, a variable tail
MAX_FIELDS = 64  # fields rendered per line; a huge object is cut, not walked whole


@dataclass(frozen=True, slots=True)
class Fields:
    """What compaction needs from one structured line; the rendering is made only when shown."""

    key: str  # level, logger, message and error kind: what the template is mined from (not yet masked)
    severity: int
    level: str | None
    prefix: str
    flat: dict[str, Any]
    order: tuple[str, ...]  # the fields to show after the level, in the order they matter
    errors: tuple[str, ...]  # error fields with a value (shown as their gist)
    error_names: tuple[str, ...]  # every error field (empty ones are not shown)
    time: int | str | None = None  # the object's own timestamp: epoch ms, or ISO text


    @property
    def rendered(self) -> str:
        """The line as shown: level, message, error, status, duration first, then the rest."""
        flat, errors, names = self.flat, self.errors, self.error_names
        shown = ([self.prefix] if self.prefix else []) + (
            [f"level={_value(self.level)}"] if self.level is not None else [])
        shown += [f"{k}={_value(_error_gist(flat[k]) if k in errors else flat[k])}" for k in self.order
                  if k in errors or k not in names]
        return " ".join(shown)


def parse_fields(message: str) -> Fields | None:
    """Fields of a JSON or logfmt line (an optional text prefix before the JSON is kept); None for text."""
    last = message[-1:] if message else ""
    if last == "}":
        brace = message.find("{")
        if brace < 0 or (brace and message[brace - 1] not in " \t:"):
            return None
        try:
            obj = json.loads(message[brace:])
        except ValueError:
            return None
        if not isinstance(obj, dict) or not obj:
            return None
        return _build(_flatten(obj), message[:brace].strip())
    if "=" in message and _LOGFMT_START.match(message):
        pairs = _LOGFMT_PAIR.findall(message)
        if len(pairs) < 2:
            return None
        flat = {k: _unquote(v) for k, v in pairs}
        if not any(k.lower() in _LEVEL or k.lower() in ("msg", "message") for k in flat):
            return None  # key=value words inside a sentence, not a logfmt line
        return _build(flat, "")
    return None


def _unquote(value: str) -> str:
    if value[:1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value[1:-1]
    return value


def _flatten(obj: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested objects as dotted keys (err.message), so fields are found by name at any depth."""
    if out is None and len(obj) <= MAX_FIELDS and not any(type(v) is dict for v in obj.values()):
        return obj  # already flat: most lines
    out = {} if out is None else out
    for key, value in obj.items():
        if len(out) >= MAX_FIELDS:
            break
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _flatten(value, name + ".", out)
        else:
            out[name] = value
    return out


def _leaf(key: str) -> str:
    return key.rsplit(".", 1)[-1].lower()


def _is_error_key(key: str) -> bool:
    return any(word.lower() in _ERROR_WORDS for word in _WORD_SPLIT.split(key))


def _present(value: Any) -> bool:
    return value not in (None, "", False, 0, [], "null", "None", "none", "nil")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _error_gist(value: Any) -> str:
    """One line for an error value: a multi-line stack becomes its exception line (the last cause)."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = "\n".join(value)  # Node's Lambda runtime: the stack as a list of lines
    text = _text(value).strip()
    if "\n" not in text:
        return text
    lines = [line.rstrip("\r") for line in text.split("\n")]
    summary = exception_summary(lines[1:])
    return lines[0] if summary is None or summary == lines[0] else f"{lines[0]} ⏎ {summary}"


def _level_of(value: Any) -> tuple[str | None, int]:
    if isinstance(value, bool):
        return None, NORMAL
    if isinstance(value, int | float):
        for floor, severity in _NUMERIC_LEVELS:
            if value >= floor:
                return ("fatal" if value >= 60 else "error" if value >= 50 else "warn"), severity
        return ("info" if value >= 30 else "debug"), NORMAL
    text = str(value).strip()
    if text.isdigit() and len(text) == 2:
        return _level_of(int(text))
    return text or None, level_severity(text)


def _status_severity(value: Any) -> int:
    if isinstance(value, bool):
        return NORMAL if value else WARNING
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit() and len(value) == 3):
        return ERROR if 500 <= int(value) <= 599 else NORMAL
    if isinstance(value, str) and value.strip().lower().replace(" ", "").replace("_", "") in _BAD_STATUS:
        return ERROR
    return NORMAL


def _status_class(value: Any) -> str:
    text = _text(value)
    return f"{text[:1]}xx" if text.isdigit() else text[:40]


_LEVEL_ROLE, _TIME_ROLE, _ERROR_ROLE, _DETAIL_ROLE, _STATUS_ROLE, _DURATION_ROLE, _REST_ROLE = range(7)
_NO_RANK = 99
_ROLES: dict[str, tuple[int, int, int]] = {}  # field name -> (role, message rank, logger rank)
_ROLES_MAX = 4096  # field names seen are few; a log inventing names per line does not grow this
_SEVERITIES: dict[bytes, int] = {}  # template key's shape -> severity of its words (all are in the key)
_SEVERITIES_MAX = 20_000


def _role(key: str) -> tuple[int, int, int]:
    """What a field is, by its name alone, so each name is classified once per process."""
    found = _ROLES.get(key)
    if found is not None:
        return found
    leaf, lowered = _leaf(key), key.lower()
    if leaf in _LEVEL:
        role = _LEVEL_ROLE
    elif leaf in _TIME:
        role = _TIME_ROLE
    elif _is_error_key(key):
        role = _ERROR_ROLE
    elif leaf in _DETAIL:
        role = _DETAIL_ROLE
    elif leaf in _STATUS:
        role = _STATUS_ROLE
    elif leaf in _DURATION:
        role = _DURATION_ROLE
    else:
        role = _REST_ROLE
    message_rank = (_MESSAGE.index(lowered) if lowered in _MESSAGE
                    else len(_MESSAGE) + _MESSAGE.index(leaf) if leaf in _MESSAGE else _NO_RANK)
    logger_rank = _LOGGER.index(lowered) if lowered in _LOGGER else _NO_RANK
    found = (role, message_rank, logger_rank)
    if len(_ROLES) < _ROLES_MAX:
        _ROLES[key] = found
    return found


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where the parts are in objects with one set of field names: worked out once per set."""

    level: str | None
    time: str | None
    message: str | None
    logger: str | None
    errors: tuple[str, ...]
    statuses: tuple[str, ...]
    rest: tuple[str, ...]  # sorted: the gist of an object without a message field
    order: tuple[str, ...]  # shown after the level: message, errors, details, statuses, durations, logger, rest


_PLANS: dict[tuple[str, ...], _Plan] = {}
_LEVELS_SEEN: dict[str | int, tuple[str | None, int]] = {}


def _plan(names: tuple[str, ...]) -> _Plan:
    found = _PLANS.get(names)
    if found is not None:
        return found
    level = time = message = logger = None
    message_rank = logger_rank = _NO_RANK
    groups: dict[int, list[str]] = {role: [] for role in range(7)}
    for name in names:
        role, m_rank, l_rank = _role(name)
        if role == _LEVEL_ROLE:
            level = level or name
            continue
        if role == _TIME_ROLE:
            time = time or name
        groups[role].append(name)
        if role == _REST_ROLE:
            if m_rank < message_rank:
                message, message_rank = name, m_rank
            if l_rank < logger_rank:
                logger, logger_rank = name, l_rank
    if logger == message:
        logger = None
    rest = [name for name in groups[_REST_ROLE] if name != message and name != logger]
    order = [name for name in (message, *groups[_ERROR_ROLE], *groups[_DETAIL_ROLE], *groups[_STATUS_ROLE],
                               *groups[_DURATION_ROLE], logger, *rest) if name is not None]
    found = _Plan(level, time, message, logger, tuple(groups[_ERROR_ROLE]), tuple(groups[_STATUS_ROLE]),
                  tuple(sorted(groups[_REST_ROLE])), tuple(order))
    if len(_PLANS) < _ROLES_MAX:
        _PLANS[names] = found
    return found


def _build(flat: dict[str, Any], prefix: str) -> Fields:
    plan = _plan(tuple(flat))
    level, severity = None, NORMAL
    if plan.level is not None:
        raw_level = flat[plan.level]
        found = _LEVELS_SEEN.get(raw_level) if isinstance(raw_level, str | int) else None
        if found is None:
            found = _level_of(raw_level)
            if isinstance(raw_level, str | int) and len(_LEVELS_SEEN) < _ROLES_MAX:
                _LEVELS_SEEN[raw_level] = found
        level, severity = found
    errors = tuple(k for k in plan.errors if _present(flat[k]))
    message = _text(flat[plan.message]) if plan.message is not None else ""
    error_text = " ".join(_error_gist(flat[k]) for k in errors)[:MAX_KEY_PART] if errors else ""
    for key in plan.statuses:
        severity = max(severity, _status_severity(flat[key]))
    if errors:
        severity = max(severity, WARNING if level is not None and severity == NORMAL else ERROR)
    logger = _text(flat[plan.logger]) if plan.logger is not None else ""
    if plan.message is not None:
        gist = message.split("\n", 1)[0][:MAX_KEY_PART]
    else:  # no message field: the field names and short non-numeric values say what the line is
        gist = " ".join(f"{k}={_text(flat[k])[:40]}" for k in plan.rest if not _DIGITS.search(_text(flat[k])))
    status_class = " ".join(f"{_leaf(k)}={_status_class(flat[k])}" for k in plan.statuses)
    key = " ".join(part for part in (prefix[:MAX_KEY_PART], level or "", logger, gist, status_class, error_text)
                   if part) or "{}"
    shape = shape_of(key)  # digits do not change what the words say (see log_lines.shape_of)
    words = _SEVERITIES.get(shape)
    if words is None:
        words = severity_of(f"{prefix} {gist} {error_text}", NORMAL)
        if len(_SEVERITIES) < _SEVERITIES_MAX:
            _SEVERITIES[shape] = words
    stamp = _stamp(flat[plan.time]) if plan.time is not None else None
    return Fields(key, max(severity, words), level, prefix, flat, plan.order, errors, plan.errors, stamp)


def _stamp(value: Any) -> int | str | None:
    """An object's time as compaction reads it: epoch ms (numbers in s or ms), or ISO-8601 text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value > 1e12 else int(value * 1000) if value > 1e9 else None
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    return None


def _value(value: Any) -> str:
    """A value for reading, not for re-parsing: quoted when it has spaces, inner quotes left as they are."""
    text = _text(value).rstrip("\r\n")
    if text and not any(c in text for c in ' "=\t\n\r'):
        return text
    return '"' + text.replace("\r", "").replace("\n", " ⏎ ") + '"'

