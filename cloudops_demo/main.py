"""`cloudops-bot demo`: the real bot on this machine with nothing external.

AWS is a moto server seeded with a small incident, Slack is the local emulator that the real Bolt
Socket Mode client connects to, and the model is the real one when OPENAI_API_KEY is set (otherwise
answers are evidence-only, and say so). What the terminal shows is rendered from exactly what the
bot posted to the Slack Web API.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from bot import charts
from bot.config import Settings, load_settings
from bot.config_actions import parse_action_rules
from bot.errors import ConfigError
from bot.logsetup import configure_logging
from bot.runtime import Bot
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident, seed_incident
from cloudops_demo.slack import SlackEmulator, render_thread
from cloudops_demo.story import PEER_VARIABLES, seed_story
from cloudops_demo.trail_peer import TrailPeer

CHANNEL = "C0INCIDENT"
USER = "U0ONCALL"
LEAD = "U0LEAD"  # the second person who approves the demo's proposal (`!approve`)
ALIASES = {"api": "/ecs/api-prod", "worker": "/ecs/worker-prod", "checkout": "/aws/lambda/checkout"}
_FAKE_AWS = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_SESSION_TOKEN": "demo",  # nosec B105
             "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
_MODEL_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CLOUDOPS_LLM_MODEL", "CLOUDOPS_LLM_TIMEOUT_S")
QUIET_S = 0.6  # an answer is complete when no new message arrived in its thread for this long

EXAMPLES = """Try:
  /cloudops alarms
  /cloudops status
  /cloudops changes 1h
  /cloudops service api-prod
  /cloudops logs api 502 30m
  /cloudops metrics api-1 cpu 1h
  @CloudOps why is checkout returning 502s?
  (Ctrl-D or 'exit' to quit)"""


def demo_settings(sidecar_addr: str, slack: SlackEmulator) -> Settings:
    """Model settings from the user's environment; everything else points at the local peers."""
    base = load_settings({k: v for k, v in os.environ.items() if k in _MODEL_VARS})
    return replace(
        base,
        slack_bot_token="xoxb-demo", slack_app_token="xapp-demo",  # emulator  # noqa: S106  # nosec B106
        slack_api_url=slack.api_url,
        sidecar_addr=sidecar_addr, log_aliases=dict(ALIASES), aws_region="us-east-1", drain_s=2.0,
        log_format="json", log_level="WARNING",
        # Approved actions: the on-call engineer proposes, the lead approves (`!approve` clicks as LEAD).
        actions_enabled=True, action_roles={"default": "arn:aws:iam::123456789012:role/cloudops-actions"},
        action_rules=parse_action_rules({a: {"*": {"request": [USER], "approve": [LEAD]}}
                                         for a in ("ec2-reboot", "ec2-stop", "ec2-start")}),
        action_verify_poll_s=0.5, action_verify_timeout_s=60,
        alarm_log_groups={"api-prod-": "/ecs/api-prod"},  # the 5xx alarm's service: its logs and changes
    )


def parse_line(line: str) -> tuple[str, str] | None:
    """'/cloudops x' → ('command', 'x'); '@CloudOps x' → ('mention', 'x'); bare text → command."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    lower = text.lower()
    if lower in ("!approve", "!reject"):
        return "click", f"proposal_{lower[1:]}"
    if lower.startswith("/cloudops"):
        return "command", text[len("/cloudops"):].strip()
    if lower.startswith("@cloudops"):
        return "mention", text[len("@cloudops"):].strip()
    return "command", text


class Session:
    """Sends one line through the emulator and prints the resulting thread."""

    def __init__(self, slack: SlackEmulator, out: TextIO, timeout: float) -> None:
        self.slack = slack
        self.out = out
        self.timeout = timeout

    def run(self, line: str) -> bool:
        parsed = parse_line(line)
        if parsed is None:
            return True
        kind, text = parsed
        print(f"\n$ {line.strip()}", file=self.out)
        if kind == "click":
            return self._click(text)
        if kind == "command":
            before = len(self.slack.channel_messages(CHANNEL))
            envelope = self.slack.send_slash_command(text, user=USER, channel=CHANNEL)
            if not self.slack.wait_for(lambda: len(self.slack.channel_messages(CHANNEL)) > before, self.timeout):
                print("  (no answer: the bot did not post within the timeout)", file=self.out)
                return False
            root = self.slack.channel_messages(CHANNEL)[before]["ts"]
            self.slack.wait_for(lambda: envelope in self.slack.acks(), 3.0)  # the ack frame may trail the post
            ack = self.slack.acks().get(envelope)
            if ack is not None and ack.payload:
                took = f"  [acked in {ack.latency_s * 1000:.0f} ms]" if ack.latency_s is not None else ""
                print(f"  (only visible to you) {_plain(ack.payload)}{took}", file=self.out)
        else:
            root = self.slack.send_mention(text, user=USER, channel=CHANNEL)
        ok = self._settle(root)
        print(render_thread(self.slack.thread(CHANNEL, root)), file=self.out)
        return ok

    def _click(self, action_id: str) -> bool:
        """Click the newest proposal card's button as the lead (a second person), then show its thread."""
        found = self._newest_button(action_id)
        if found is None:
            print("  (no proposal waiting for a click)", file=self.out)
            return False
        root, card_ts, value = found
        print(f"  ({LEAD} clicks {action_id.split('_')[1].capitalize()})", file=self.out)
        self.slack.send_block_action(channel=CHANNEL, message_ts=card_ts, action_id=action_id, value=value,
                                     user=LEAD, block_id="proposal")
        self.slack.wait_for(lambda: len(self.slack.thread(CHANNEL, root)) > 3, self.timeout)
        ok = self._settle(root)
        print(render_thread(self.slack.thread(CHANNEL, root)), file=self.out)
        return ok

    def _newest_button(self, action_id: str) -> tuple[str, str, str] | None:
        """(thread root, card ts, button value) of the newest message carrying ``action_id``."""
        for parent in reversed(self.slack.channel_messages(CHANNEL)):
            for message in reversed(self.slack.thread(CHANNEL, parent["ts"])):
                for block in message.get("blocks") or []:
                    for element in block.get("elements") or [] if block.get("type") == "actions" else []:
                        if element.get("action_id") == action_id:
                            return str(parent["ts"]), str(message["ts"]), str(element["value"])
        return None

    def _settle(self, root: str) -> bool:
        """Wait for the first reply, then until the thread has been quiet for QUIET_S."""
        try:
            self.slack.wait_thread_replies(CHANNEL, root, 1, self.timeout)
        except TimeoutError:
            print("  (no reply in the thread within the timeout)", file=self.out)
            return False
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < QUIET_S:
            count = len(self.slack.thread(CHANNEL, root))
            if count != seen:
                seen, quiet_since = count, time.monotonic()
            time.sleep(0.05)
        return True


def _plain(message: dict[str, Any]) -> str:
    text = str(message.get("text", ""))
    return " ".join(text.split())[:200]


EMBEDDED_SCRIPT = Path(__file__).with_name("script.txt")


def lines_from(ns: argparse.Namespace, stdin: TextIO) -> tuple[Iterable[str], bool]:
    """Where commands come from: --once, --script, piped stdin, or an interactive prompt.

    With no terminal and nothing piped in (CI, ``make demo < /dev/null``), the embedded scripted
    session runs, so the demo always shows the bot answering rather than starting and stopping.
    """
    if ns.once:
        return [ns.once], False
    if ns.script:
        return Path(ns.script).read_text(encoding="utf-8").splitlines(), False
    if not stdin.isatty():
        return _piped_or_embedded(stdin), False
    return _prompt(), True


def _piped_or_embedded(stdin: TextIO) -> Iterator[str]:
    given = False
    for line in stdin:
        given = given or bool(line.strip())
        yield line
    if not given:
        print("(nothing piped in: running the embedded session, cloudops_demo/script.txt)")
        yield from EMBEDDED_SCRIPT.read_text(encoding="utf-8").splitlines()


def _prompt() -> Iterator[str]:
    with contextlib.suppress(ImportError):  # line editing and history for input(), where available
        import readline  # noqa: F401
    while True:
        try:
            line = input("\ncloudops> ")
        except EOFError:
            print()
            return
        if line.strip() in {"exit", "quit"}:
            return
        yield line


def run_demo(ns: argparse.Namespace, out: TextIO = sys.stdout, stdin: TextIO = sys.stdin) -> int:
    started = time.monotonic()
    print("Smart CloudOps AI — demo (moto AWS sandbox, local Slack, real bot code)", file=out)
    os.environ.update(_FAKE_AWS)  # the demo's own process: boto3 must only ever see the sandbox
    os.environ.pop("AWS_PROFILE", None)
    sandbox = MotoSandbox().start()
    os.environ["AWS_ENDPOINT_URL"] = sandbox.endpoint_url
    peer = TrailPeer().start()  # CloudTrail, ECS tasks and target health: what moto lacks
    os.environ.update({k: peer.endpoint_url for k in PEER_VARIABLES})
    slack = SlackEmulator().start()
    bot: Bot | None = None
    ok = True
    # matplotlib's import (~0.6 s) overlaps the seeding, so the first chart trails its answer by ~0.1 s, not
    # by more than the quiet time after which a thread counts as complete.
    warm = threading.Thread(target=charts.warm_up, name="charts-warm-up", daemon=True)
    warm.start()
    try:
        incident = seed_incident(sandbox.endpoint_url)
        seed_story(sandbox.endpoint_url, peer, now=incident.seeded_at)
        settings = demo_settings(ns.sidecar, slack)
        configure_logging(settings.log_level, "console")
        bot = Bot(settings).start()
        slack.wait_connected(1, timeout=15)
        warm.join(timeout=15)
        _banner(out, bot, incident, settings, time.monotonic() - started)
        lines, interactive = lines_from(ns, stdin)
        if interactive:
            print(EXAMPLES, file=out)
        session = Session(slack, out, ns.timeout)
        for line in lines:
            ok = session.run(line) and ok
    except KeyboardInterrupt:
        print("\ninterrupted", file=out)
    except ConfigError as exc:
        print("\n".join(f"config error: {p}" for p in exc.problems), file=sys.stderr)
        ok = False
    finally:
        print("\nstopping…", file=out)
        if bot is not None:
            bot.stop(drain_s=2)
        slack.stop()
        peer.stop()
        sandbox.stop()
    return 0 if ok else 1


def _banner(out: TextIO, bot: Bot, incident: SeededIncident, settings: Settings, took: float) -> None:
    model = f"model {settings.llm_model}" if settings.model_enabled else "no OPENAI_API_KEY: evidence-only answers"
    print(f"ready in {took:.1f}s · AWS sandbox {incident.region}: {len(incident.instances)} instances, "
          f"{len(incident.log_groups)} log groups, {len(incident.alarms_in_alarm)} alarms firing · {model}",
          file=out)
    if bot.sidecar is not None:
        print(f"sidecar: {bot.sidecar.url}/status  {bot.sidecar.url}/metrics", file=out)
    print(f"log aliases: {', '.join(f'{k}={v}' for k, v in ALIASES.items())}", file=out)
