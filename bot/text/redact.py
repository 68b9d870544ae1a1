"""Secret redaction for every piece of text that leaves the process.

Log lines, command text and model output are data we do not control; before any of it
reaches the model, Slack, the HTTP ``/logs`` endpoint or our own logs, credentials in it
are replaced by ``[REDACTED:<kind>]``. The rules (see :mod:`bot.text.redact_rules`) are
adapted from gitleaks' published ``gitleaks.toml`` and Yelp detect-secrets' plugins.

Speed: each rule names literal keywords; one Aho-Corasick pass over the lowercased text
finds them all, and a rule's regex is only tried (with ``match``, at the hit) where one
of its keywords occurs. A typical log line with no keyword costs that one pass and no
regex at all. Redacted text gets a second pass to confirm nothing new appeared.

Overlaps: every gated rule scans the whole text independently (so a value rejected by
one rule cannot hide a secret from another), then findings are applied in rule order.
A finding that overlaps an earlier one only adds the parts not yet covered, so the most
specific rule names the kind (``token=ghp_…`` counts as ``github_token``) and nothing
of a longer value survives next to it. Our own ``[REDACTED:<kind>]`` markers are never
redacted again, so redacting twice gives the same text.

Limits (deliberate): an unquoted value ends at whitespace or ``, ; & < > ( ) [ ] { }``
(log delimiters), so a password containing one of those is redacted only up to it;
values are matched up to 4096 characters (8192 for AWS session tokens), so a longer
value keeps its tail. Both keep the cost per keyword hit bounded. Runs of more than 32
spaces or tabs are cut to 32 before matching (every rule's separator is bounded by that), so
the output differs from the input in those runs even when nothing was found; no rule reaches
further back than ``MAX_LOOKBACK`` characters before what it replaces (computed from the rules).
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import ahocorasick

from bot.text.redact_rules import KINDS, MAX_BLANKS, RULES, Rule

__all__ = ["KINDS", "RedactionResult", "Redactor", "Span", "redact", "redact_with_counts", "squeeze_blanks"]

_log = logging.getLogger(__name__)
_MAX_PASSES = 4  # a redaction can expose a new match (e.g. a value split by a finding); rerun until stable
_LEFT_WINDOW = 96  # how far back a rule's ``left`` part may reach
_ESCAPES = re.compile(r"\\[nrt]")
_MARKER = re.compile(r"\[REDACTED:[a-z0-9_]+\]")
_NO_COUNTS: Mapping[str, int] = MappingProxyType({})
_LONG_BLANKS = re.compile(rf"[ \t]{{{MAX_BLANKS + 1},}}")
_SPACES = " " * (MAX_BLANKS + 1)

OnRedact = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """The redacted text and how many findings of each kind were replaced (kinds with 0 are absent)."""

    text: str
    counts: Mapping[str, int] = field(default_factory=lambda: _NO_COUNTS)

    @property
    def redacted(self) -> bool:
        return bool(self.counts)


@dataclass(frozen=True, slots=True)
class _Finding:
    priority: int
    start: int
    end: int
    rule: Rule
    origin: int  # where the whole match (keyword, separator and value) begins and ends
    until: int


@dataclass(frozen=True, slots=True)
class Span:
    """One replaced piece ``[start, end)`` of kind ``kind``, found by a match over ``[origin, until)``."""

    start: int
    end: int
    kind: str
    origin: int
    until: int


def squeeze_blanks(text: str) -> str:
    """Runs of more than ``MAX_BLANKS`` spaces/tabs cut to that many: no rule crosses a longer run, so
    ``password:`` + 1,100 spaces + a value is still one finding (and a match's reach stays bounded)."""
    if "\t" not in text and _SPACES not in text:
        return text
    return _LONG_BLANKS.sub(lambda m: m.group()[:MAX_BLANKS], text)


def _lower_same_length(text: str) -> str:
    """Lowercase text whose indexes still line up with ``text`` (keyword hits become match positions).

    A few non-ASCII characters lowercase to two ('İ' → 'i̇'); those keep their case, which
    only costs a keyword hit on them, never a wrong position.
    """
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _add(findings: list[_Finding], priority: int, rule: Rule, match: re.Match[str], start: int,
         left: re.Match[str] | None) -> None:
    origin = start
    end = match.end()
    for name in rule.value_groups:
        if match.start(name) >= 0:
            start, end = match.span(name)
            break
    else:
        if left is not None and "v" in left.re.groupindex and left.start("v") >= 0:
            start, end = left.span("v")  # the value sits before the keyword ("user/password@host")
    if start < end:
        findings.append(_Finding(priority, start, end, rule, origin, match.end()))


def _accepted(rule: Rule, value: str) -> bool:
    """The rule's own value check, after dropping our markers (text redacted before, or a later pass)."""
    if "[REDACTED:" in value and not _meaningful(_MARKER.sub("", value)):
        return False
    return rule.accept(value)


def _meaningful(piece: str) -> bool:
    """A leftover next to an earlier finding is worth a marker only if it could hold part of a secret."""
    return sum(c.isalnum() for c in _ESCAPES.sub("", piece)) >= 2


class _Covered:
    """Disjoint, sorted spans already redacted: lookups and inserts stay logarithmic-ish even
    for a blob with a token on every line (a naive list re-scan was quadratic there)."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` not covered yet."""
        out: list[tuple[int, int]] = []
        pos = start
        i = bisect.bisect_right(self._ends, start)
        while i < len(self._starts) and self._starts[i] < end:
            if self._starts[i] > pos:
                out.append((pos, self._starts[i]))
            pos = max(pos, self._ends[i])
            i += 1
        if pos < end:
            out.append((pos, end))
        return out

    def add(self, start: int, end: int) -> None:
        lo = bisect.bisect_left(self._ends, start)
        hi = bisect.bisect_right(self._starts, end)
        if lo < hi:
            start, end = min(start, self._starts[lo]), max(end, self._ends[hi - 1])
        self._starts[lo:hi] = [start]
        self._ends[lo:hi] = [end]


class Redactor:
    """Replaces secrets with ``[REDACTED:<kind>]``; thread-safe (nothing is mutated after ``__init__``).

    ``on_redact(kind, n)`` is called once per kind found in a call (e.g. to bump a
    Prometheus counter labelled by kind; :data:`KINDS` is the complete label set).
    """

    def __init__(self, on_redact: OnRedact | None = None) -> None:
        self._on_redact = on_redact
        self._rules = RULES
        keyword_rules: dict[str, list[tuple[int, int]]] = {}
        # Rules with no keyword are searched over the whole text: their trigger ("=", "_") is so common
        # that a regex scan in C is cheaper than a Python step per keyword hit.
        self._scanned = tuple((index, rule) for index, rule in enumerate(RULES) if not rule.keywords)
        for index, rule in enumerate(RULES):
            for keyword in rule.keywords:
                keyword_rules.setdefault(keyword, []).append((index, len(keyword)))
        # Aho-Corasick finds every keyword in one pass over the line; a loop of `in` tests or one
        # regex alternation over ~150 keywords measured 5-8x slower and dominated the cost.
        self._gate = ahocorasick.Automaton()
        for keyword, entries in keyword_rules.items():
            self._gate.add_word(keyword, tuple(entries))
        self._gate.make_automaton()

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind this redactor can report: a fixed, small set, safe as metric label values."""
        return KINDS

    def redact(self, text: str) -> RedactionResult:
        """Redact ``text``; the result's text equals the input, blank runs squeezed, when nothing was found."""
        text = squeeze_blanks(text)
        current, counts = self._pass(text)
        if not counts:
            return RedactionResult(text, _NO_COUNTS)
        totals = counts
        for _ in range(_MAX_PASSES - 1):
            current, counts = self._pass(current)
            if not counts:
                break
            for kind, n in counts.items():
                totals[kind] = totals.get(kind, 0) + n
        self.report(totals)
        return RedactionResult(current, MappingProxyType(totals))

    def spans(self, text: str) -> list[Span]:
        """What one pass over ``text`` would replace, in position order, without replacing it.

        For callers that redact pieces of text they hold apart (log events): a match found over
        the pieces joined can be cut back onto each piece (see :mod:`bot.text.redact_events`).
        """
        return sorted(self._resolve(text, self._find(text))[0], key=lambda s: s.start)

    def report(self, counts: Mapping[str, int]) -> None:
        """Count findings made outside :meth:`redact` (same hook, same failure handling)."""
        if self._on_redact is None:
            return
        for kind, n in counts.items():
            try:
                self._on_redact(kind, n)
            except Exception:  # a metrics failure must not drop the (already redacted) text
                _log.exception("on_redact hook failed for kind %s", kind)

    def _pass(self, text: str) -> tuple[str, dict[str, int]]:
        findings = self._find(text)
        if not findings:
            return text, {}
        pieces, counts = self._resolve(text, findings)
        out: list[str] = []
        pos = 0
        for piece in sorted(pieces, key=lambda s: s.start):
            out.append(text[pos:piece.start])
            out.append(f"[REDACTED:{piece.kind}]")
            pos = piece.end
        out.append(text[pos:])
        return "".join(out), counts

    def _find(self, text: str) -> list[_Finding]:
        rules = self._rules
        tried: set[tuple[int, int]] = set()
        findings: list[_Finding] = []
        for end, entries in self._gate.iter(_lower_same_length(text)):
            for index, length in entries:
                rule = rules[index]
                pos = end - length + 1 - rule.offset
                if pos < 0 or (index, pos) in tried:
                    continue
                tried.add((index, pos))
                match = rule.regex.match(text, pos)
                if match is None:
                    continue
                start = pos
                left = None
                if rule.left is not None:
                    left = rule.left.search(text, max(0, pos - _LEFT_WINDOW), pos)
                    if left is None:
                        continue
                    start = left.start()
                _add(findings, index, rule, match, start, left)
        for index, rule in self._scanned:
            for match in rule.regex.finditer(text):
                left = None
                start = match.start()
                if rule.left is not None:
                    left = rule.left.search(text, max(0, start - _LEFT_WINDOW), start)
                    if left is None:
                        continue
                    start = left.start()
                _add(findings, index, rule, match, start, left)
        return findings

    @staticmethod
    def _resolve(text: str, findings: list[_Finding]) -> tuple[list[Span], dict[str, int]]:
        covered = _Covered()
        pieces: list[Span] = []
        counts: dict[str, int] = {}
        for f in sorted(findings, key=lambda f: (f.priority, f.start)):
            new = covered.gaps(f.start, f.end)
            if new != [(f.start, f.end)]:  # partly covered: mark only leftovers that could hold a secret
                new = [(s, e) for s, e in new if _meaningful(text[s:e])]
            # checked only now: a value an earlier rule already took costs no entropy/base64 check
            if not new or not _accepted(f.rule, text[f.start:f.end]):
                continue
            covered.add(f.start, f.end)
            kind = f.rule.kind
            counts[kind] = counts.get(kind, 0) + 1
            pieces.extend(Span(s, e, kind, f.origin, f.until) for s, e in new)
        return pieces, counts


_DEFAULT = Redactor()


def redact_with_counts(text: str) -> RedactionResult:
    """Redact with the default rules and no hook; the counts say what was found."""
    return _DEFAULT.redact(text)


def redact(text: str) -> str:
    """Redact with the default rules and no hook."""
    return _DEFAULT.redact(text).text
