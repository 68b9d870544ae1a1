"""Compaction quality on loghub: how many distinct templates do the kept lines cover?

For each system sample (2,000 real lines with a ground-truth EventId per line) and
each setting (20/50/100 groups; 1,000/3,000 tokens), three methods keep some verbatim
lines, and we count the distinct EventIds among them:

  tail    the last lines (`tail -n N`, or as many as fit the token budget)
  drain3  drain3's TemplateMiner with its defaults on raw lines, first line of each
          of the most frequent clusters (the reference the issue measured, 0.62 at 50)
  ours    bot.text.compaction.compact

`ceiling` is min(1, N / templates) for the group settings. "err" is recall over
templates with an error-like line (loghub README regex, which includes WARN); a
system without any is left out of that mean. Baselines run in the same process.

    .venv/bin/python bench/compaction_quality.py [--data DIR] [--systems A,B]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from drain3 import TemplateMiner  # noqa: E402
from drain3.template_miner_config import TemplateMinerConfig  # noqa: E402

from bot.text.compaction import compact  # noqa: E402
from bot.text.tokens import count_tokens  # noqa: E402

SYSTEMS = ("Apache", "HDFS", "Linux", "OpenSSH", "Spark", "Zookeeper")
ERROR_RE = re.compile(r"\b(ERROR|WARN|WARNING|FATAL|SEVERE|CRITICAL)\b|Exception", re.IGNORECASE)
UNLIMITED = 10**9
SETTINGS: tuple[tuple[str, int, int], ...] = (
    ("20 groups", 20, UNLIMITED),
    ("50 groups", 50, UNLIMITED),
    ("100 groups", 100, UNLIMITED),
    ("1000 tokens", UNLIMITED, 1000),
    ("3000 tokens", UNLIMITED, 3000),
)
Picker = Callable[[list[str], int, int], list[int]]  # lines, max groups, budget -> 0-based indices


def load(data: Path, system: str) -> tuple[list[str], list[str]]:
    base = data / system / f"{system}_2k.log"
    lines = base.read_text(encoding="utf-8", errors="replace").splitlines()
    with open(f"{base}_structured.csv", encoding="utf-8", newline="") as handle:
        events = [row["EventId"] for row in csv.DictReader(handle)]
    if len(events) != len(lines):
        raise SystemExit(f"{system}: {len(lines)} lines but {len(events)} labels")
    return lines, events


def fit(candidates: list[int], lines: list[str], max_groups: int, budget: int) -> list[int]:
    """Take candidates in order while the joined lines fit the budget (tokens counted once each)."""
    kept: list[int] = []
    used = 0
    for index in candidates[:max_groups]:
        cost = count_tokens(lines[index] + "\n") if budget < UNLIMITED else 0
        if used + cost > budget:
            break
        kept.append(index)
        used += cost
    return kept


def pick_tail(lines: list[str], max_groups: int, budget: int) -> list[int]:
    return fit(list(range(len(lines) - 1, -1, -1)), lines, max_groups, budget)


def pick_drain3(lines: list[str], max_groups: int, budget: int) -> list[int]:
    miner = TemplateMiner(config=TemplateMinerConfig())
    first: dict[int, int] = {}
    count: dict[int, int] = {}
    for index, line in enumerate(lines):
        cluster_id = miner.add_log_message(line)["cluster_id"]
        first.setdefault(cluster_id, index)
        count[cluster_id] = count.get(cluster_id, 0) + 1
    ranked = sorted(first, key=lambda c: (-count[c], first[c]))
    return fit([first[c] for c in ranked], lines, max_groups, budget)


def pick_ours(lines: list[str], max_groups: int, budget: int) -> list[int]:
    view = compact(lines, max_groups=max_groups, budget_tokens=budget, default_year=2005)
    if budget < UNLIMITED:
        assert count_tokens(view.render()) <= budget, "budget exceeded"
    return [group.example_line - 1 for group in view.groups]


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


Results = dict[str, dict[str, list[tuple[float, float | None]]]]  # setting -> method -> (recall, err recall)


def measure(data: Path, systems: list[str]) -> tuple[Results, dict[str, list[float]], dict[str, dict[str, float]]]:
    methods: dict[str, Picker] = {"tail": pick_tail, "drain3": pick_drain3, "ours": pick_ours}
    results: Results = {}
    ceilings: dict[str, list[float]] = {}
    at_50: dict[str, dict[str, float]] = {}
    for system in systems:
        lines, events = load(data, system)
        templates = set(events)
        errors = {e for line, e in zip(lines, events, strict=True) if ERROR_RE.search(line)}
        at_50[system] = {"templates": len(templates)}
        for name, max_groups, budget in SETTINGS:
            if max_groups < UNLIMITED:
                ceilings.setdefault(name, []).append(min(1.0, max_groups / len(templates)))
            for method, pick in methods.items():
                kept = {events[i] for i in pick(lines, max_groups, budget)}
                recall = len(kept) / len(templates)
                err = len(kept & errors) / len(errors) if errors else None
                results.setdefault(name, {}).setdefault(method, []).append((recall, err))
                if name == "50 groups":
                    at_50[system][method] = recall
                    at_50[system][f"{method} missed err"] = len(errors - kept)
    return results, ceilings, at_50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "loghub",
                        help="loghub folder (default: ../shared/data/loghub from the repo root)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated system names")
    args = parser.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    if not args.data.is_dir():
        raise SystemExit(f"no loghub data at {args.data} (use --data)")
    results, ceilings, at_50 = measure(args.data, systems)
    methods = list(next(iter(results.values())))

    print(f"template recall, mean over {len(systems)} loghub systems (err: error-bearing templates only)")
    print(f"{'setting':<12} {'ceiling':>7}" + "".join(f" {m:>7} {m + ' err':>10}" for m in methods) + "  ours/ceiling")
    for name, _, _ in SETTINGS:
        ceiling = mean(ceilings.get(name, []))
        line = f"{name:<12} {ceiling:>7.3f}" if name in ceilings else f"{name:<12} {'-':>7}"
        for method in methods:
            pairs = results[name][method]
            line += f" {mean([r for r, _ in pairs]):>7.3f} {mean([e for _, e in pairs if e is not None]):>10.3f}"
        if name in ceilings:
            line += f"  {mean([r for r, _ in results[name]['ours']]) / ceiling:>12.3f}"
        print(line)

    print("\nper system at 50 groups")
    print(f"{'system':<10} {'templates':>9} {'ceiling':>7} {'tail':>5} {'drain3':>6} {'ours':>5}"
          f" {'ours missed err':>15}")
    for system, row in at_50.items():
        print(f"{system:<10} {row['templates']:>9.0f} {min(1.0, 50 / row['templates']):>7.2f} {row['tail']:>5.2f}"
              f" {row['drain3']:>6.2f} {row['ours']:>5.2f} {row['ours missed err']:>15.0f}")

    ratio = mean([r for r, _ in results["50 groups"]["ours"]]) / mean(ceilings["50 groups"])
    missed = sum(row["ours missed err"] for row in at_50.values())
    print(f"\ntarget >= 0.95 of the ceiling at 50 groups: {ratio:.3f} ({'met' if ratio >= 0.95 else 'missed'})")
    print(f"target every error-bearing template kept at 50 groups: {missed:.0f} missed "
          f"({'met' if missed == 0 else 'missed'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
