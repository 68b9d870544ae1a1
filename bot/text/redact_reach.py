"""How far back a rule's match may begin before the first character it replaces (its reach).

A stream redactor sends text before the rest has arrived; to recognise a value that arrives later, the
text already sent must still hold the key in front of it. :data:`MAX_LOOKBACK` is that distance for the
whole rule table, computed from the parsed patterns, so it is proven rather than guessed: a rule whose
reach is unbounded (a ``*`` or ``+`` in front of its value) makes the import fail.
"""

from __future__ import annotations

import re._constants as _sre_constants
import re._parser as _sre_parser
from typing import Any

from bot.text.redact_rules import RULES, Rule

__all__ = ["MAX_LOOKBACK", "max_lookback"]

_UNBOUNDED = _sre_constants.MAXREPEAT


def _width(items: list[tuple[Any, Any]]) -> int:
    sub = _sre_parser.SubPattern(_sre_parser.State(), items)
    return int(sub.getwidth()[1])


def _prefix(items: list[tuple[Any, Any]], groups: set[int]) -> tuple[int, bool]:
    """The longest text a match can consume before entering one of ``groups`` (and whether it can enter one)."""
    reach = 0
    for op, av in items:
        if op is _sre_constants.SUBPATTERN:
            group, _, _, body = av
            if group in groups:
                return reach, True
            inner, found = _prefix(list(body), groups)
            if found:
                return reach + inner, True
        elif op is _sre_constants.BRANCH:
            found_in = [_prefix(list(branch), groups) for branch in av[1]]
            if any(found for _, found in found_in):
                return reach + max(w for w, found in found_in if found), True
        elif op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT, _sre_constants.POSSESSIVE_REPEAT):
            _, hi, body = av
            inner, found = _prefix(list(body), groups)
            if found:
                return (_UNBOUNDED if hi == _UNBOUNDED else reach + (hi - 1) * _width(list(body)) + inner), True
        reach += _width([(op, av)])
    return reach, False


def _lookbehinds(items: list[tuple[Any, Any]]) -> int:
    """The widest look-behind anywhere in the pattern: it reads text before the match start."""
    widest = 0
    for op, av in items:
        if op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT) and av[0] < 0:
            widest = max(widest, _width(list(av[1])))
        for part in av if isinstance(av, (list, tuple)) else ():
            if isinstance(part, _sre_parser.SubPattern):
                widest = max(widest, _lookbehinds(list(part)))
            elif isinstance(part, list):
                for branch in part:
                    if isinstance(branch, _sre_parser.SubPattern):
                        widest = max(widest, _lookbehinds(list(branch)))
    return widest


def max_lookback(rule: Rule) -> int:
    """How many characters before the first character it replaces a match of ``rule`` may start (or read).

    A stream redactor that keeps this much already-sent text as context recognises every secret whose
    value is still to come. Raises ``ValueError`` for a rule whose reach is unbounded (a ``+`` or ``*`` in
    front of the value): every rule must have a finite one.
    """
    parsed = _sre_parser.parse(rule.regex.pattern)
    groups = {rule.regex.groupindex[name] for name in rule.value_groups}
    reach = _prefix(list(parsed), groups)[0] if groups else 0
    reach += _lookbehinds(list(parsed))
    if rule.left is not None:
        reach += 96 + _lookbehinds(list(_sre_parser.parse(rule.left.pattern)))  # redact._LEFT_WINDOW
    if reach >= _UNBOUNDED:
        raise ValueError(f"rule {rule.kind} ({rule.regex.pattern[:60]}…) can reach back without bound")
    return reach


MAX_LOOKBACK: int = max(max_lookback(rule) for rule in RULES)
