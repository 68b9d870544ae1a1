"""Make untrusted text inert before anything else looks at it.

Log lines, command text and model output may carry terminal escapes, NULs, zero-width
characters or bidi overrides. Those can hide text from the reader (a "Trojan Source"
style override makes a command look different from what it is), break JSON or Slack
payloads, or smuggle instructions past a human reviewer. ``clean_text`` removes them;
``clamp_line`` keeps one pathological line from eating a whole message budget.

Order matters: redact secrets *before* clamping, or a secret cut in half may no longer
match a rule and its first half would leak.
"""

from __future__ import annotations

import re

__all__ = ["ELLIPSIS", "clamp_line", "clean_text"]

ELLIPSIS = "…"

# Whole ANSI escape sequences (CSI colours/cursor moves, terminated OSC titles/hyperlinks,
# two-byte ESC codes) go as a unit: removing only the ESC would leave "[31m" litter.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-~])")
# C0 controls except \t (09) and \n (0A); DEL; C1 controls; zero-width and bidi controls
# (ZWSP/ZWNJ/ZWJ/LRM/RLM, LRE..RLO, word joiner and invisible operators, LRI..PDI, BOM)
# and U+061C ARABIC LETTER MARK, the one bidi mark outside those ranges.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def clean_text(s: str, *, max_chars: int | None = None) -> str:
    """Strip control, zero-width and bidi characters and ANSI escapes; normalise newlines; optionally cut.

    A lone CR becomes a newline rather than vanishing: in a terminal it would let a
    later part of the line overwrite an earlier one, and dropping it would glue words.
    When cut, the result is exactly ``max_chars`` long and ends in "…".
    """
    if max_chars is not None and max_chars < 0:
        raise ValueError("max_chars must be >= 0")
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in s:
        s = _ANSI.sub("", s)
    s = _INVISIBLE.sub("", s)
    if max_chars is not None and len(s) > max_chars:
        return s[: max_chars - 1] + ELLIPSIS if max_chars else ""
    return s


def _marker(dropped: int) -> str:
    return f"{ELLIPSIS} [+{dropped} chars]"


def clamp_line(s: str, max_chars: int) -> str:
    """Cut a long line to at most ``max_chars``, saying how much was dropped ("… [+N chars]").

    When even the marker does not fit, the line is cut hard and ends in "…".
    """
    if max_chars < 0:
        raise ValueError("max_chars must be >= 0")
    total = len(s)
    if total <= max_chars:
        return s
    keep = max_chars - len(_marker(total))  # the longest marker this line can need
    if keep < 1:
        return s[: max_chars - 1] + ELLIPSIS if max_chars else ""
    while keep + 1 + len(_marker(total - keep - 1)) <= max_chars:
        keep += 1
    return s[:keep] + _marker(total - keep)
