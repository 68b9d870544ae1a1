"""`cloudops-bot compact [--budget-tokens N] [--max-groups N] [--json] [FILE|-]`.

The same compaction the bot applies to CloudWatch events, for a log file or a pipe,
so an engineer can see (and paste) exactly what the model would be given.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from bot.text.compaction import compact

__all__ = ["configure_parser", "run"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the `compact` options to an (sub)parser owned by the caller."""
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                   help="log file (plain or .gz); '-' or nothing reads standard input")
    p.add_argument("--budget-tokens", type=_positive, default=3000,
                   help="token budget of the whole view, header included (default: 3000)")
    p.add_argument("--max-groups", type=_positive, default=50, help="most groups to show (default: 50)")
    p.add_argument("--max-line-chars", type=_positive, default=400,
                   help="longest example kept, in characters: a long line keeps both ends, a stack trace its "
                        "first line and its exception lines (default: 400)")
    p.add_argument("--year", type=int, default=None,
                   help="year for timestamps that carry none, like syslog's (default: this year)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per group (template, count, example, example_line, ...)")


@contextmanager
def _open(path: str) -> Iterator[TextIO]:
    """Text lines, undecodable bytes replaced: a log with one bad byte is still a log."""
    if path == "-":
        yield io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline=None)
        return
    if path.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            yield handle
        return
    with open(path, encoding="utf-8", errors="replace") as handle:
        yield handle


def run(ns: argparse.Namespace) -> int:
    """Print the compacted view of ns.file; 2 when the file cannot be read."""
    try:
        with _open(ns.file) as lines:
            view = compact(lines, budget_tokens=ns.budget_tokens, max_groups=ns.max_groups,
                           max_line_chars=ns.max_line_chars, default_year=ns.year)
    except OSError as exc:
        print(f"cloudops-bot compact: cannot read {ns.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if not ns.json:
        print(view.render())
        return 0
    for group in view.groups:
        print(json.dumps({
            "template": group.template,
            "count": group.count,
            "example": group.example,
            "example_line": group.example_line,
            "first_ms": group.first_ms,
            "last_ms": group.last_ms,
            "is_error": group.is_error,
        }, ensure_ascii=False))
    return 0
