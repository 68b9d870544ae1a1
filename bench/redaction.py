"""Redaction speed and false-positive cost, next to the same code at an earlier git revision.

Three inputs:
  loghub    the 12k real lines of the six loghub samples (none holds a secret): how many lines
            get a redaction (every one is a false positive) and lines per CPU second
  mix       100k generated lines, 1 % of them carrying a secret (tests/secret_corpus.py)
  events    the loghub lines scrubbed as one CloudWatch event stream (redact_events), which also
            looks for secrets split over consecutive events (current code only)

Baseline in the same run: the redactor at ``--rev`` (default ``HEAD``), its modules extracted
with ``git show`` into a temporary package, so the rules and code of both are measured on the same
machine under the same load.

    .venv/bin/python bench/redaction.py [--data DIR] [--rev REV] [--lines N]
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SYSTEMS = ("Apache", "HDFS", "Linux", "OpenSSH", "Spark", "Zookeeper")


def _load_revision(rev: str, into: Path) -> Callable[[str], str]:
    """The ``redact`` function of ``rev``, imported as package ``oldredact`` (its own rule table)."""
    pkg = into / "oldredact"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in ("redact.py", "redact_rules.py", "redact_checks.py"):
        shown = subprocess.run(["git", "show", f"{rev}:bot/text/{name}"], cwd=REPO, capture_output=True, text=True)
        if shown.returncode == 0:  # redact_checks.py exists only in later revisions
            (pkg / name).write_text(shown.stdout.replace("bot.text.redact_", "oldredact.redact_"))
    sys.path.insert(0, str(into))
    module = importlib.import_module("oldredact.redact")
    return module.redact  # type: ignore[no-any-return]


def _loghub(data: Path) -> list[str]:
    lines: list[str] = []
    for system in SYSTEMS:
        path = data / system / f"{system}_2k.log"
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def _per_line(redact: Callable[[str], str], lines: list[str]) -> tuple[float, list[str]]:
    best = float("inf")
    out: list[str] = []
    for _ in range(3):  # best of three: the machine is shared
        cpu, got = _timed(lambda: [redact(line) for line in lines])
        best, out = min(best, cpu), got  # type: ignore[assignment]
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent.parent / "shared" / "data" / "loghub")
    parser.add_argument("--rev", default="HEAD", help="git revision of the baseline redactor")
    parser.add_argument("--lines", type=int, default=100_000, help="size of the generated mix")
    parser.add_argument("--show", type=int, default=0, help="print up to N loghub lines the current code changes")
    args = parser.parse_args()

    from bot.text.redact import Redactor, redact
    from bot.text.redact_events import redact_events
    from tests.secret_corpus import synthetic_mix

    loghub = _loghub(args.data)
    mix = synthetic_mix(args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        old = _load_revision(args.rev, Path(tmp))
        print(f"{'input':<8} {'lines':>7}  {'redactor':<10} {'CPU s':>7} {'lines/CPU s':>12} {'lines changed':>14}")
        for name, lines in (("loghub", loghub), ("mix", mix)):
            for label, fn in ((f"@{args.rev}"[:10], old), ("current", redact)):
                cpu, out = _per_line(fn, lines)
                changed = sum(a != b for a, b in zip(lines, out, strict=True))
                print(f"{name:<8} {len(lines):>7}  {label:<10} {cpu:>7.3f} {len(lines) / cpu:>12,.0f} {changed:>14,}")
                if name == "loghub" and label == "current" and args.show:
                    for a, b in [(a, b) for a, b in zip(lines, out, strict=True) if a != b][: args.show]:
                        print(f"    {a!r}\n -> {b!r}")
        redactor = Redactor()
        cpu, out = _timed(lambda: redact_events(redactor, loghub))
        changed = sum(a != b for a, b in zip(loghub, out, strict=True))  # type: ignore[call-overload]
        print(f"{'events':<8} {len(loghub):>7}  {'current':<10} {cpu:>7.3f} {len(loghub) / cpu:>12,.0f} {changed:>14,}")


if __name__ == "__main__":
    main()
