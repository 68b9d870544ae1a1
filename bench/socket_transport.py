"""What the Socket Mode transport alone costs per ack: a Bolt app whose listener acks at once, behind
slack_sdk's built-in client and behind Bolt's websocket-client adapter, through the Slack emulator.

The bot uses the websocket-client adapter (bot/slack/socket.py); this measures why. The built-in client
is the baseline, in the same run. Latency is the emulator's: envelope sent → ack frame received.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_bolt import App
from slack_sdk import WebClient

from bench.ack_latency import pct
from cloudops_demo.slack import SlackEmulator


def handler_class(transport: str) -> Any:
    if transport == "builtin":
        from slack_bolt.adapter.socket_mode import SocketModeHandler
    else:
        from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
    return SocketModeHandler


def serve(transport: str, api_url: str) -> None:
    """The app under test, in its own process as the bot runs (the emulator stays in the bench's)."""
    app = App(client=WebClient(token="xoxb-bench", base_url=api_url), process_before_response=True,
              token_verification_enabled=False)

    @app.command("/cloudops")
    def command(ack: Any) -> None:
        ack(text="ok")

    handler_class(transport)(app, "xapp-bench").start()


def run(transport: str, n: int, rate: float, settle_s: float) -> list[float]:
    with SlackEmulator(redeliver_after_s=0) as slack:
        child = subprocess.Popen([sys.executable, __file__, "--serve", transport, slack.api_url],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            slack.wait_connected(1, 30)
            time.sleep(settle_s)
            envelopes = []
            for i in range(n):
                envelopes.append(slack.send_slash_command("status web-1", user="U1", channel=f"C{i}"))
                time.sleep(1 / rate)
            slack.wait_for(lambda: all(e in slack.acks() for e in envelopes), 10)
            acks = slack.acks()
            return [acks[e].latency_s * 1000 for e in envelopes if e in acks and acks[e].latency_s is not None]
        finally:
            child.kill()
            child.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=100, help="commands per run (default 100)")
    ap.add_argument("--rate", type=float, default=50.0, help="commands per second (default 50)")
    ap.add_argument("--runs", type=int, default=3, help="paired runs (default 3)")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds between the socket opening and the first command (default 0)")
    ap.add_argument("--serve", nargs=2, metavar=("TRANSPORT", "API_URL"), help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.serve:
        serve(*ns.serve)
        return 0
    for i in range(ns.runs):
        for transport in ("builtin", "websocket-client"):
            lat = run(transport, ns.n, ns.rate, ns.settle)
            print(f"run {i + 1} {transport:<17} settle {ns.settle:g} s  acked {len(lat)}/{ns.n}  "
                  f"p50 {pct(lat, 50):6.1f} ms  p99 {pct(lat, 99):6.1f} ms  max {max(lat):6.1f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
