"""Fault-injection run at scale: N requests (default 1,000) through the real bot while AWS throttles 30 %
of calls, the model fails or times out on 20 %, Slack answers 10 % of posts with 429, a socket is
dropped and a refresh is requested mid-run, and 10 % of mentions are delivered twice.

Prints: requests sent, replies posted, lost, duplicated, un-acked (and the faults that happened).
Baseline in the same run: the same load with no faults injected.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.logsetup import configure_logging
from cloudops_demo.sandbox import seed_incident
from tests.faultrun import run_faults
from tests.harness import aws_sandbox


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000, help="requests to send (default 1000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-baseline", action="store_true", help="skip the fault-free baseline run")
    ns = ap.parse_args()
    logging.disable(logging.CRITICAL)
    configure_logging("ERROR", "console")
    with aws_sandbox() as (sandbox, _):
        if not ns.no_baseline:
            base = run_faults(sandbox.endpoint_url, ns.n, seed=ns.seed, aws_throttle=0, model_fail=0, slack_429=0,
                              duplicates=0, socket_faults=0, settle_s=600)
            print(f"baseline (no faults): {base.line()}")
        sandbox.reset()
        seed_incident(sandbox.endpoint_url)
        run = run_faults(sandbox.endpoint_url, ns.n, seed=ns.seed, settle_s=900)
        print(f"with faults:          {run.line()}")
    return 0 if run.lost == 0 and run.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
