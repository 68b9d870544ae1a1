"""Root-cause lines that arrive, end to end, on the scenario suite at realistic sizes.

Every scenario of tests/log_scenarios.py (13 modern log shapes, each with known root-cause lines) is
written to moto at `--lines` routine lines (the busy one at `--busy-lines`); the real bot (Slack
emulator, local model server) answers `/cloudops logs <group> 1h` and an `ask` whose scripted model
calls `search_logs`. A root cause "arrives" when it is in the Slack thread, in the `logs` prompt and in
the tool result. Run it on an older checkout (same script, same scenario module) for a baseline:

    .venv/bin/python bench/logs_root_causes.py [--lines 5000] [--busy-lines 20000] [--max-events 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

try:  # the peers' home since the demo left the product; older checkouts (the baseline) kept them in bot/
    from cloudops_demo.slack import SlackEmulator
    from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall
except ImportError:
    from bot.emulators.llm_server import FakeLLMServer, Scripted, ToolCall  # type: ignore[no-redef]
    from bot.emulators.slack import SlackEmulator  # type: ignore[no-redef]
from tests.harness import aws_sandbox, running_bot, text_of  # noqa: E402
from tests.log_scenarios import SCENARIOS, build  # noqa: E402
from tests.test_scenario_logs_e2e import _read, _seed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--busy-lines", type=int, default=20000)
    parser.add_argument("--max-events", type=int, default=10000)
    args = parser.parse_args()
    start_s = int(time.time()) - 3660
    arrived = total = 0
    print(f"{'scenario':<18} {'events':>7}  {'slack':>5} {'prompt':>6} {'tool':>5}  {'all 3':>5}  missing")
    with aws_sandbox() as (sandbox, _), FakeLLMServer() as llm, SlackEmulator() as slack, \
            running_bot(slack, llm, logs_max_events=args.max_events) as bot:
        for name in SCENARIOS:
            scenario = build(name, args.busy_lines if name == "busy_newest" else args.lines, start_s)
            _seed(sandbox.endpoint_url, scenario, start_s * 1000)
            llm.reset()
            llm.script(Scripted(content="summary"))
            _, replies = bot.command(f"logs {scenario.group} 1h", channel=f"C-{name}", user=f"U-{name}", timeout=120)
            seen = {"slack": _read("\n".join(text_of(r) for r in replies)),
                    "prompt": llm.received()[-1]["messages"][-1]["content"]}
            llm.reset()
            llm.script(Scripted(tool_calls=(ToolCall("search_logs", {"group": scenario.group, "window": "1h"}),)),
                       Scripted(content="answer"))
            bot.command(f"ask what broke in {scenario.group}?", channel=f"C-{name}-a", user=f"U-{name}", timeout=120)
            seen["tool"] = "\n".join(m["content"] for m in llm.received()[1]["messages"] if m["role"] == "tool")
            hits = {where: sum(c in text for c in scenario.root_causes) for where, text in seen.items()}
            everywhere = sum(all(c in text for text in seen.values()) for c in scenario.root_causes)
            missing = [c[:40] for c in scenario.root_causes if not all(c in text for text in seen.values())]
            arrived += everywhere
            total += len(scenario.root_causes)
            n = len(scenario.root_causes)
            print(f"{name:<18} {len(scenario.events):>7}  {hits['slack']:>3}/{n} {hits['prompt']:>4}/{n}"
                  f" {hits['tool']:>3}/{n}  {everywhere:>3}/{n}  {'; '.join(missing)}")
    print(f"\nroot-cause lines reaching the Slack text, the logs prompt and the ask tool result: {arrived} of {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
