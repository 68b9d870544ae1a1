"""Compaction speed: N lines (default 200k) to a view of at most 3,000 tokens.

Input per loghub system: its 2,000 real lines cycled to N, every digit run replaced by
random digits so no line repeats verbatim (the shapes are the real ones). One more
input, "unique", gives every line a new shape (random words), the worst case for the
template cache. Each measurement runs in its own process, reading the file as the CLI
does, so peak memory (ru_maxrss) belongs to it alone; "RSS MB" is that peak and "+MB"
its growth once compaction started (the tokenizer, ~95 MB, is loaded before, and its
freed load buffers are reused, so small runs show +0). "heap MB" is the Python heap's
peak during compaction from tracemalloc, in a second, untimed run.
Wall and CPU seconds are both printed: the compaction is single-threaded, so on an
idle machine they agree, and on a busy one CPU seconds are the comparable figure.

Baselines in the same run:
  tail    read the file keeping the last lines that fit the budget (the I/O floor)
  drain3  drain3's TemplateMiner with its default config, every raw line (no selection)

    .venv/bin/python bench/compaction_speed.py [--data DIR] [--lines N] [--systems A,B]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SYSTEMS = ("Apache", "HDFS", "Linux", "OpenSSH", "Spark", "Zookeeper")
METHODS = ("tail", "drain3", "ours")
TARGET_SECONDS = 3.0


# Modern shapes from the scenario suite: one JSON object per line, and multi-line traces.
GENERATED = {"json": ("pino", "structlog", "lambda_json", "alb_json"), "traces": ("py_traceback", "java_lines")}


def make_generated(system: str, lines: int, path: Path) -> None:
    """`lines` physical lines from the scenario generators, interleaved by time (a trace stays whole)."""
    from tests.log_scenarios import build

    per = max(1, lines // len(GENERATED[system]))
    events = sorted((e for name in GENERATED[system] for e in build(name, per).events), key=lambda e: e.offset_ms)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < lines:
            for event in events:
                out.write(event.message + "\n")
                written += event.message.count("\n") + 1
                if written >= lines:
                    break


def make_input(data: Path, system: str, lines: int, path: Path) -> None:
    if system in GENERATED:
        make_generated(system, lines, path)
        return
    rnd = random.Random(system)
    with path.open("w", encoding="utf-8") as out:
        if system == "unique":
            letters = "abcdefghijklmnopqrstuvwxyz"
            for i in range(lines):
                words = ["".join(rnd.choices(letters, k=rnd.randint(4, 9))) for _ in range(3)]
                out.write(f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z INFO api - user {words[0]} "
                          f"asked for {words[1]} via {words[2]}\n")
            return
        source = (data / system / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
        digits = re.compile(r"\d+")

        def scramble(match: re.Match[str]) -> str:
            return str(rnd.randrange(10 ** len(match.group()))).zfill(len(match.group()))

        for i in range(lines):
            out.write(digits.sub(scramble, source[i % len(source)]) + "\n")


def _kind(system: str) -> str:
    if system == "unique":
        return "all-new-shapes stress input"
    return "slowest generated modern input" if system in GENERATED else "slowest loghub-shaped input"


def worker(method: str, path: str, budget: int, trace: bool) -> dict[str, float]:
    """Runs in a child process; prints nothing but its JSON result.

    With `trace`, tracemalloc records the Python heap's peak during the run (and
    slows it, so that run's times are not reported).
    """
    from bot.text.tokens import count_tokens

    count_tokens("warm up the tokenizer before measuring")
    if method == "drain3":
        from drain3 import TemplateMiner
        from drain3.template_miner_config import TemplateMinerConfig

        miner = TemplateMiner(config=TemplateMinerConfig())
    else:
        from bot.text.compaction import compact
    with contextlib.suppress(OSError):  # reset the peak-RSS mark the tokenizer's load left (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    start, cpu_start = time.perf_counter(), time.process_time()
    tokens = groups = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        if method == "tail":
            kept: list[str] = []
            for line in reversed(collections.deque(handle, maxlen=2000)):
                cost = count_tokens(line)
                if tokens + cost > budget:
                    break
                kept.append(line)
                tokens += cost
            groups = len(kept)
        elif method == "drain3":
            for line in handle:
                miner.add_log_message(line.rstrip("\n"))
            groups = len(miner.drain.clusters)
        else:
            view = compact(handle, budget_tokens=budget, max_groups=50, default_year=2024)
            tokens, groups = view.tokens, len(view.groups)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    heap_peak = tracemalloc.get_traced_memory()[1] if trace else 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "cpu": cpu, "peak_kb": peak, "delta_kb": peak - base, "tokens": tokens,
            "groups": groups, "heap_peak": heap_peak}


def measure(method: str, path: Path, budget: int) -> dict[str, float]:
    """Time one run, then take the heap peak from a second, traced run."""
    results: list[dict[str, float]] = []
    for trace in ([], ["--trace"]):
        cmd = [sys.executable, __file__, "--worker", method, "--budget-tokens", str(budget), *trace, str(path)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
        results.append(json.loads(done.stdout))
    return {**results[0], "heap_peak": results[1]["heap_peak"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "loghub",
                        help="loghub folder (default: ../shared/data/loghub from the repo root)")
    parser.add_argument("--lines", type=int, default=200_000, help="lines per input (default: 200000)")
    parser.add_argument("--budget-tokens", type=int, default=3000)
    parser.add_argument("--systems", default=",".join((*SYSTEMS, *GENERATED, "unique")),
                        help="comma-separated loghub systems, 'json' and 'traces' (generated modern shapes), "
                             "and 'unique' for the all-new-shapes input")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.file, args.budget_tokens, args.trace)))
        return 0

    systems = [s for s in args.systems.split(",") if s]
    if any(s in SYSTEMS for s in systems) and not args.data.is_dir():
        raise SystemExit(f"no loghub data at {args.data} (use --data, or --systems unique)")
    print(f"{args.lines:,} lines -> <= {args.budget_tokens} tokens; one process per measurement")
    print(f"{'input':<10} {'method':<7} {'wall s':>7} {'cpu s':>6} {'lines/cpu s':>11} {'RSS MB':>7} {'+MB':>5}"
          f" {'heap MB':>7} {'groups':>6} {'tokens':>6}")
    slowest: dict[str, tuple[float, float, str]] = {}  # kind of input -> (cpu s, wall s, input)
    with tempfile.TemporaryDirectory() as tmp:
        for system in systems:
            path = Path(tmp) / f"{system}.log"
            make_input(args.data, system, args.lines, path)
            for method in METHODS:
                r = measure(method, path, args.budget_tokens)
                kind = _kind(system)
                if method == "ours" and r["cpu"] > slowest.get(kind, (0.0, 0.0, ""))[0]:
                    slowest[kind] = (r["cpu"], r["seconds"], system)
                print(f"{system:<10} {method:<7} {r['seconds']:>7.2f} {r['cpu']:>6.2f}"
                      f" {args.lines / max(r['cpu'], 1e-9):>11,.0f} {r['peak_kb'] / 1024:>7.1f}"
                      f" {r['delta_kb'] / 1024:>5.1f} {r['heap_peak'] / 2**20:>7.2f} {r['groups']:>6.0f}"
                      f" {r['tokens']:>6.0f}")
            path.unlink()
    print()
    target = TARGET_SECONDS * args.lines / 200_000  # the target: 200k lines in 3 s
    for label, (cpu, wall, system) in slowest.items():
        verdict = "met" if cpu <= target else f"missed by {cpu - target:.2f} s"
        print(f"{label} ({system}): {cpu:.2f} CPU s, {wall:.2f} s wall for {args.lines:,} lines"
              f" (target <= {target:.2f} s: {verdict})")
    print("CPU seconds are what one core spends; on a busy machine wall time is larger by the load.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
