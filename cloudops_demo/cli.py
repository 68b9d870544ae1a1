"""Arguments of `cloudops-bot demo` (kept apart so the parser is cheap to build)."""

from __future__ import annotations

import argparse


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--script", metavar="FILE", help="run the commands in FILE (one per line) and exit")
    p.add_argument("--once", metavar="TEXT", help='run one command, e.g. --once "/cloudops alarms", and exit')
    p.add_argument("--sidecar", default="127.0.0.1:8080", metavar="HOST:PORT",
                   help="where the sidecar listens during the demo (port 0 = any free port)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each answer")
