"""Redact a run of log events as the one text it often is, keeping one message per event.

Containers log a private key one line per CloudWatch event, and a runtime cuts a long line
into several events (Docker at 16 KiB). Scrubbed one at a time, such an event is a line of
base64 or half a token, which no rule recognises. :func:`redact_events` also looks at the
events joined, in order within each log stream:

* joined by newlines (how they were written): a match that reaches over more than one event
  (a PEM block, an access key id and its secret on the next line) is cut back onto every
  event it covers;
* glued end to start (how a runtime splits a long line): a match that starts in one event
  and ends in a later one (``ghp_AbC`` + ``dEf…``, a token cut in three, ``password=`` + value).
  Only rules that name a shape or a key count here: the random-looking nets would take an id at
  the end of one line glued to the first word of the next for a token;
* a ``-----END … PRIVATE KEY-----`` event whose BEGIN line is not among the events (the read
  started inside the key): the base64 lines right before it are the key's body; and three or
  more full-width (64-character) base64 events with no BEGIN before them (a read that began and
  ended inside a key; a certificate, whose BEGIN line is there, is kept).

Then each event is redacted on its own as before. The output has exactly as many messages as
the input, in the same order; an event with nothing found comes back unchanged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Sequence

from bot.text.redact import Redactor, Span

__all__ = ["redact_events"]

_NOT_GLUED = frozenset(("high_entropy_value", "vendor_token"))  # nets that glued ordinary lines would trip
# An event that starts like a new log record (a timestamp, a level, a JSON object, "[…]") is not the
# continuation of the one before it: no glued match reaches into it.
_RECORD_START = re.compile(r"\s*(?:\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|\d{6} \d{6}|[A-Z][a-z]{2} [ \d]\d |[\[{<]"
                           r"|(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)\b)")
_KEY_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_KEY_BEGIN = "-----BEGIN"
_KEY_LINE = re.compile(r"[ \t]*[A-Za-z0-9+/=]{16,}[ \t]*(?:\\n)?")  # one body line of a PEM block
_PEM_BODY_LINE = re.compile(r"[A-Za-z0-9+/]{64}")  # a full-width line of a PEM body (RFC 7468)
_MIN_BODY_LINES = 3

_Marks = list[list[tuple[int, int, str]]]


def redact_events(redactor: Redactor, messages: Sequence[str],
                  streams: Sequence[Hashable] | None = None) -> list[str]:
    """``messages`` in time order, scrubbed; ``streams[i]`` names the stream of message ``i``.

    Events of different streams never join (FilterLogEvents interleaves streams by time, and a
    key logged by one container is consecutive only within its own stream).
    """
    if streams is not None and len(streams) != len(messages):
        raise ValueError("one stream per message")
    marks: _Marks = [[] for _ in messages]
    counts: Counter[str] = Counter()
    for members in _by_stream(messages, streams):
        if len(members) > 1:
            run = [messages[i] for i in members]
            run_marks: _Marks = [[] for _ in members]
            joined, crossed = _joined(redactor, run, run_marks)
            counts += joined
            counts += _glued(redactor, run, run_marks, crossed)
            counts += _key_tails(run, run_marks)
            for i, found in zip(members, run_marks, strict=True):
                marks[i] = found
    out = [redactor.redact(_with_own(redactor, m, found, counts) if found else m).text
           for m, found in zip(messages, marks, strict=True)]
    if counts:
        redactor.report(counts)
    return out


def _with_own(redactor: Redactor, message: str, found: list[tuple[int, int, str]], counts: Counter[str]) -> str:
    """The event with what was found across events *and* what it holds on its own replaced in one go: a
    cross-event piece must not hide the key of a secret inside the event (``password is 'x'``)."""
    own = redactor.spans(message)
    counts.update(span.kind for span in own if not any(s < span.end and span.start < e for s, e, _ in found))
    return _apply(message, found + [(span.start, span.end, span.kind) for span in own])


def _by_stream(messages: Sequence[str], streams: Sequence[Hashable] | None) -> list[list[int]]:
    if streams is None:
        return [list(range(len(messages)))]
    groups: dict[Hashable, list[int]] = {}
    for i, stream in enumerate(streams):
        groups.setdefault(stream, []).append(i)
    return list(groups.values())


def _spread(span: Span, starts: list[int], lengths: list[int], marks: _Marks, first: int) -> None:
    """Cut ``span`` (positions in the joined text) onto the messages it covers, from ``first`` on."""
    for j in range(first, len(starts)):
        lo, hi = max(span.start, starts[j]), min(span.end, starts[j] + lengths[j])
        if starts[j] >= span.end:
            break
        if lo < hi:
            marks[j].append((lo - starts[j], hi - starts[j], span.kind))


def _owner(starts: list[int], pos: int) -> int:
    """Index of the message holding joined-text position ``pos`` (a separator counts as the next one)."""
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _joined(redactor: Redactor, run: list[str], marks: _Marks) -> tuple[Counter[str], set[int]]:
    """Matches over the events joined by newlines that reach from one event into another; also returns
    the splits (``i`` for events ``i``/``i + 1``) such a match already covers."""
    starts, pos = [], 0
    for m in run:
        starts.append(pos)
        pos += len(m) + 1
    lengths = [len(m) for m in run]
    counts: Counter[str] = Counter()
    crossed: set[int] = set()
    seen: set[tuple[int, int]] = set()
    for span in redactor.spans("\n".join(run)):
        first, last = _owner(starts, span.origin), _owner(starts, max(span.origin, span.until - 1))
        if first == last:
            continue  # inside one event: the per-event pass finds it
        _spread(span, starts, lengths, marks, first)
        crossed.update(range(first, last))
        if (span.origin, span.until) not in seen:
            seen.add((span.origin, span.until))
            counts[span.kind] += 1
    return counts, crossed


def _glued(redactor: Redactor, run: list[str], marks: _Marks, crossed: set[int]) -> Counter[str]:
    """Matches over the events glued end to start that begin in one event and end in a later one
    (a token cut into two or more pieces), except over splits a joined match already covers."""
    starts, pos = [], 0
    for m in run:
        starts.append(pos)
        pos += len(m)
    counts: Counter[str] = Counter()
    for span in redactor.spans("".join(run)):
        if span.kind in _NOT_GLUED:
            continue
        first, last = _owner(starts, span.origin), _owner(starts, max(span.origin, span.until - 1))
        if first == last or crossed.issuperset(range(first, last)):
            continue
        if any(_RECORD_START.match(run[j]) for j in range(first + 1, last + 1)):
            continue
        _spread_continued(span, starts, run, marks, first)
        counts[span.kind] += 1
    return counts


def _spread_continued(span: Span, starts: list[int], run: list[str], marks: _Marks, first: int) -> None:
    """Like :func:`_spread`, but a continuation ends at its event's first whitespace: a split token runs on
    without a blank, while a lazy value (a cookie header up to a quote) must not swallow the next line."""
    for j in range(first, len(run)):
        if starts[j] >= span.end:
            return
        lo, hi = max(span.start, starts[j]) - starts[j], min(span.end - starts[j], len(run[j]))
        blank = hi if j == first else next((k for k in range(lo, hi) if run[j][k].isspace()), hi)
        if lo < blank:
            marks[j].append((lo, blank, span.kind))
        if blank < hi:
            return


def _key_tails(run: list[str], marks: _Marks) -> Counter[str]:
    """Body lines before an END line whose BEGIN is not in the run (the read began inside the key)."""
    counts: Counter[str] = Counter()
    begun = False
    for i, message in enumerate(run):
        if _KEY_BEGIN in message:
            begun = True
        end = _KEY_END.search(message)
        if end is None:
            continue
        if not begun:
            j = i - 1
            while j >= 0 and _KEY_LINE.fullmatch(run[j]):
                marks[j].append((0, len(run[j]), "private_key"))
                j -= 1
            marks[i].append((0, end.end(), "private_key"))
            counts["private_key"] += 1
        begun = False
    return counts + _key_bodies(run, marks)


def _key_bodies(run: list[str], marks: _Marks) -> Counter[str]:
    """A run of full-width PEM body lines with neither BEGIN nor END among the events (a read that began
    and ended inside a key). A certificate's body looks the same; one whose BEGIN line is there is kept."""
    counts: Counter[str] = Counter()
    inside = False  # after a BEGIN line (of a certificate: a key's body is marked already), until its END
    i = 0
    while i < len(run):
        if _KEY_BEGIN in run[i]:
            inside = True
        elif "-----END" in run[i]:
            inside = False
        j = i
        while j < len(run) and not marks[j] and _PEM_BODY_LINE.fullmatch(run[j]):
            j += 1
        if j - i >= _MIN_BODY_LINES and not inside:
            for k in range(i, j):
                marks[k].append((0, len(run[k]), "private_key"))
            counts["private_key"] += 1
        i = max(j, i + 1)
    return counts


def _apply(message: str, found: list[tuple[int, int, str]]) -> str:
    """Replace the marked ranges (merged where they overlap) by ``[REDACTED:<kind>]``."""
    out: list[str] = []
    pos = 0
    for start, end, kind in sorted(found):
        if end <= pos:
            continue
        start = max(start, pos)
        if out and start == pos and out[-1].startswith("[REDACTED:"):
            pos = end  # overlapping or touching pieces become one marker
            continue
        out.append(message[pos:start])
        out.append(f"[REDACTED:{kind}]")
        pos = end
    out.append(message[pos:])
    return "".join(out)
