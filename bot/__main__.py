"""`cloudops-bot`: run | demo | ask | mcp | check-config | compact | iam-policy."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from bot.config import SPECS, Settings, load_settings
from bot.errors import ConfigError


def _settings(*, require_slack: bool = False) -> Settings | None:
    """The validated settings, or None after printing one line per problem (the caller exits 2)."""
    try:
        return load_settings(require_slack=require_slack)
    except ConfigError as exc:
        print("\n".join(f"config error: {p}" for p in exc.problems), file=sys.stderr)
        return None


def _check_config(ns: argparse.Namespace) -> int:
    from handlers.registry import action_rule_problems

    try:
        settings = load_settings(require_slack=ns.for_run)
        if action_rule_problems(settings.action_rules):
            raise ConfigError(action_rule_problems(settings.action_rules))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    masked = settings.masked()
    width = max(len(SPECS[n].env) for n in masked)
    for name, value in masked.items():
        print(f"{SPECS[name].env:<{width}}  {value}  ({settings.source.get(name, 'default')})")
    if not settings.model_enabled:
        print("note: OPENAI_API_KEY is not set: answers will be evidence-only", file=sys.stderr)
    return 0


def _run(ns: argparse.Namespace) -> int:
    from bot.logsetup import configure_logging
    from bot.runtime import Bot

    settings = _settings(require_slack=True)
    if settings is None:
        print("hint: run `cloudops-bot check-config` to see every setting", file=sys.stderr)
        return 2
    bot = Bot(settings)
    configure_logging(settings.log_level, settings.log_format, bot.services.scrub)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        bot.start()
    except Exception as exc:  # start-up failures (Slack auth, port in use) get one line, not a traceback
        print(f"cloudops-bot: cannot start: {type(exc).__name__}: {bot.services.scrub(str(exc))[:300]}",
              file=sys.stderr)
        bot.stop(0)
        return 1
    stop.wait()
    aborted = bot.stop()
    print(f"cloudops-bot: stopped ({aborted} request(s) aborted)", file=sys.stderr)
    return 0


def _worker(ns: argparse.Namespace) -> int:
    """Answer requests from the job stream (CLOUDOPS_JOB_QUEUE=redis) until SIGTERM, then drain."""
    from bot.logsetup import configure_logging
    from bot.runtime import Bot

    settings = _settings(require_slack=True)
    if settings is None:
        return 2
    if settings.job_queue != "redis":
        print("config error: `cloudops-bot worker` needs CLOUDOPS_JOB_QUEUE=redis (and CLOUDOPS_REDIS_URL)",
              file=sys.stderr)
        return 2
    os.nice(settings.worker_nice)  # the work yields the CPU to acks sharing the machine
    bot = Bot(settings)
    configure_logging(settings.log_level, settings.log_format, bot.services.scrub)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        bot.start_worker(stop)
    except Exception as exc:
        print(f"cloudops-bot worker: cannot start: {type(exc).__name__}: {bot.services.scrub(str(exc))[:300]}",
              file=sys.stderr)
        bot.stop(0)
        return 1
    stop.wait()
    bot.stop()
    return 0


def _ask(ns: argparse.Namespace) -> int:
    from bot.logsetup import configure_logging
    from bot.models import Request, Source
    from bot.runtime import Bot
    from handlers import dispatch

    settings = _settings()
    if settings is None:
        return 2
    bot = Bot(settings)
    configure_logging("WARNING", "console", bot.services.scrub)
    try:
        reply, _, _ = dispatch.handle(Request(text=" ".join(ns.text), source=Source.CLI), bot.services)
        print(reply.plain_text())
        return 0 if reply.ok else 1
    finally:
        bot.stop(0)


# The demo (package cloudops_demo) and its peers (moto, flask, aiohttp) are an extra, not in the image.
DEMO_MISSING = ("cloudops-bot demo needs the demo extra: pip install 'smart-cloudops-ai[demo]' "
                "(in a clone: make demo)")
_DEMO_MODULES = frozenset({"cloudops_demo", "moto", "flask", "flask_cors", "werkzeug", "aiohttp"})


def _mcp(ns: argparse.Namespace) -> int:
    """Serve the read-only tools to MCP clients: stdio (default) or streamable HTTP behind the sidecar token."""
    settings = _settings()
    if settings is None:
        return 2
    if ns.http and not settings.sidecar_token:
        print("config error: CLOUDOPS_SIDECAR_TOKEN is required for `mcp --http` (clients send it as a bearer "
              "token)", file=sys.stderr)
        return 2
    try:
        from bot.mcp.http import McpHttpServer
        from bot.mcp.server import serve_stdio
    except ImportError as exc:
        print(f"cloudops-bot: the MCP front end needs the mcp extra ({exc.name} is missing): "
              "pip install 'smart-cloudops-ai[mcp]'", file=sys.stderr)
        return 2
    from bot.logsetup import configure_logging
    from bot.runtime import Bot, bot_version

    bot = Bot(settings)
    # over stdio, stdout carries the protocol, so our own log lines (the audit among them) go to stderr
    configure_logging(settings.log_level, settings.log_format, bot.services.scrub,
                      stream=sys.stdout if ns.http else sys.stderr)
    try:
        if not ns.http:
            serve_stdio(bot.services, version=bot_version())
            return 0
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        try:
            server = McpHttpServer(bot.services, version=bot_version()).start()
        except OSError as exc:
            print(f"cloudops-bot: cannot start: {exc}", file=sys.stderr)
            return 1
        print(f"cloudops-bot: MCP over streamable HTTP at {server.url}", file=sys.stderr, flush=True)
        stop.wait()
        server.stop()
        return 0
    finally:
        bot.stop(0)



def _demo(ns: argparse.Namespace) -> int:
    try:
        from cloudops_demo.main import run_demo
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in _DEMO_MODULES:
            raise
        print(DEMO_MISSING, file=sys.stderr)
        return 2
    return run_demo(ns)


def _demo_missing(_ns: argparse.Namespace) -> int:
    print(DEMO_MISSING, file=sys.stderr)
    return 2


def _compact(ns: argparse.Namespace) -> int:
    from bot.cli_compact import run

    return run(ns)


def _iam_policy(ns: argparse.Namespace) -> int:
    """The read-only policy with log-event reads limited to CLOUDOPS_LOG_GROUP_ALLOW (see deploy/)."""
    import json
    from pathlib import Path

    from bot.aws.loggroups import scoped_policy

    try:
        settings = load_settings()
        base = json.loads(Path(ns.base).read_text(encoding="utf-8"))
    except ConfigError as exc:
        print("\n".join(f"config error: {p}" for p in exc.problems), file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"cannot read {ns.base}: {exc}", file=sys.stderr)
        return 2
    if not settings.log_group_allow:
        print("note: CLOUDOPS_LOG_GROUP_ALLOW is empty: log events stay readable in every group", file=sys.stderr)
    print(json.dumps(scoped_policy(base, settings.log_group_allow), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudops-bot", description="Slack ChatOps agent for on-call on AWS.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run", help="connect to Slack (Socket Mode) and serve").set_defaults(fn=_run)
    sub.add_parser("worker", help="answer requests from the Redis job stream (CLOUDOPS_JOB_QUEUE=redis)"
                   ).set_defaults(fn=_worker)
    p = sub.add_parser("check-config", help="print the effective configuration (secrets masked)")
    p.add_argument("--for-run", action="store_true", help="also require the Slack tokens")
    p.set_defaults(fn=_check_config)
    p = sub.add_parser("ask", help="run one command or question from the terminal, e.g. `ask status web-1`")
    p.add_argument("text", nargs="+")
    p.set_defaults(fn=_ask)
    p = sub.add_parser("mcp", help="serve the read-only tools to MCP clients (stdio, or --http with the token)")
    p.add_argument("--http", action="store_true",
                   help="streamable HTTP at CLOUDOPS_MCP_ADDR/mcp instead of stdio (needs CLOUDOPS_SIDECAR_TOKEN)")
    p.set_defaults(fn=_mcp)
    p = sub.add_parser("demo", help="the whole bot on this machine: moto AWS, a local Slack, the sidecar")
    try:
        from cloudops_demo.cli import configure_parser as demo_parser
    except ImportError:  # no demo installed: whatever its arguments, say how to get it (see main)
        p.set_defaults(fn=_demo_missing)
    else:
        demo_parser(p)
        p.set_defaults(fn=_demo)
    p = sub.add_parser("compact", help="compact log lines into a prompt-sized view")
    from bot.cli_compact import configure_parser

    configure_parser(p)
    p.set_defaults(fn=_compact)
    p = sub.add_parser("iam-policy", help="print the IAM policy scoped to CLOUDOPS_LOG_GROUP_ALLOW")
    p.add_argument("--base", default="deploy/iam-policy.json", help="the unscoped policy (default: %(default)s)")
    p.set_defaults(fn=_iam_policy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns, unknown = parser.parse_known_args(argv)
    if unknown and ns.fn is not _demo_missing:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return int(ns.fn(ns))


if __name__ == "__main__":
    sys.exit(main())
