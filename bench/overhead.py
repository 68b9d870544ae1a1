"""Where the time goes: the bot's own overhead, parallel gathering, memory and start-up.

1. Overhead: 50 concurrent `/cloudops alarms` (one AWS call + one model call) with injected upstream
   latency (AWS via a delaying proxy in front of moto, the model via the model server); overhead =
   end-to-end (envelope sent → answer posted) minus the injected latency on the critical path.
   Baseline in the same run: the same requests sent one at a time.
2. Parallel gathering: 4 independent sources (alarms, instances, logs, metrics) gathered through the
   bot's pool vs the same calls in sequence, each with the injected latency; ratio to the slowest call.
3. Memory and start-up of `cloudops-bot run`: idle RSS, peak RSS while 50 requests are in flight,
   and time from process start to a connected socket and /status 200.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peers import FAKE_AWS, bot_process, moto_process
from bot.aws import cloudwatch, ec2
from bot.aws import logs as cwlogs
from bot.config import Settings
from bot.logsetup import configure_logging
from bot.metrics import Metrics
from cloudops_demo.sandbox import seed_incident
from cloudops_demo.slack import SlackEmulator
from handlers.services import Services
from tests.peers.aws_faults import ThrottlingProxy
from tests.peers.llm_server import FakeLLMServer


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sidecar_port(pid: int) -> int | None:
    """The sidecar's listening port of the child (port 0 was requested), from /proc/net/tcp inodes."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "0A" and parts[9] in inodes:  # LISTEN
            return int(parts[1].split(":")[1], 16)
    return None


def end_to_end(slack: SlackEmulator, n: int, concurrent: bool, tag: str) -> list[float]:
    sent: dict[str, float] = {}
    for i in range(n):
        ch = f"C-{tag}-{i}"
        sent[ch] = time.time()
        slack.send_slash_command("alarms", channel=ch)
        if not concurrent:
            slack.wait_for(lambda ch=ch: any(len(slack.thread(ch, m["ts"])) > 1 for m in slack.channel_messages(ch)),
                           60)
    slack.wait_for(lambda: all(any(len(slack.thread(ch, m["ts"])) > 1 for m in slack.channel_messages(ch))
                               for ch in sent), 120)
    out = []
    for ch, t0 in sent.items():
        parent = slack.channel_messages(ch)[0]
        answer = slack.thread(ch, parent["ts"])[1]
        posted = [c.time for c in slack.calls("chat.postMessage")
                  if c.params.get("channel") == ch and c.params.get("thread_ts") == parent["ts"]]
        out.append((min(posted) if posted else float(answer["ts"])) - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=50, help="concurrent requests (default 50)")
    ap.add_argument("--aws-delay", type=float, default=0.1, help="injected latency per AWS call (s)")
    ap.add_argument("--model-delay", type=float, default=1.0, help="injected model latency (s)")
    ns = ap.parse_args()
    logging.disable(logging.CRITICAL)
    configure_logging("ERROR", "console")
    injected = ns.aws_delay + ns.model_delay
    with moto_process() as moto, FakeLLMServer(api_key="sk-test", latency_s=ns.model_delay) as llm:
        seed_incident(moto)
        proxy = ThrottlingProxy(moto, 0.0, delay_s=ns.aws_delay).start()
        try:
            # --- 2. parallel gathering, in this process through the bot's own gatherers ------------
            os.environ.update(FAKE_AWS)
            os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint_url
            services = Services.build(Settings.from_values(), Metrics())
            jobs = {
                "alarms": lambda: cloudwatch.describe_alarms(services.aws, "ALARM"),
                "instances": lambda: ec2.describe_instances(services.aws),
                "logs": lambda: cwlogs.fetch_events(services.aws, "/ecs/api-prod", window_s=1800, max_events=2000,
                                                    page_size=1000),
                "metrics": lambda: cloudwatch.instance_metrics(
                    services.aws, ec2.describe_instances(services.aws, "api-1")[0].instance_id, "cpu", 3600),
            }
            for fn in jobs.values():
                fn()  # warm clients and moto
            single = {}
            for key, fn in jobs.items():
                t = time.perf_counter()
                fn()
                single[key] = time.perf_counter() - t
            t = time.perf_counter()
            for fn in jobs.values():
                fn()
            sequential = time.perf_counter() - t
            par = []
            for _ in range(5):
                t = time.perf_counter()
                services.parallel.run(jobs)
                par.append(time.perf_counter() - t)
            slowest = max(single.values())
            print(f"gathering 4 sources (AWS +{ns.aws_delay * 1000:.0f} ms/call): slowest single "
                  f"{slowest * 1000:.0f} ms ({max(single, key=single.__getitem__)}), sequential "
                  f"{sequential * 1000:.0f} ms, parallel median {pct(par, 50) * 1000:.0f} ms = "
                  f"{pct(par, 50) / slowest:.2f}x the slowest call (sequential {sequential / slowest:.2f}x)")
            services.close()

            # --- 1 and 3. the real process -----------------------------------------------------------
            with SlackEmulator(redeliver_after_s=0) as slack:
                env = {"SLACK_BOT_TOKEN": "xoxb-b", "SLACK_APP_TOKEN": "xapp-b", "SLACK_API_URL": slack.api_url,
                       "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.base_url, "CLOUDOPS_LLM_MODEL": "gpt-test",
                       "AWS_ENDPOINT_URL": proxy.endpoint_url, "CLOUDOPS_SIDECAR_ADDR": "127.0.0.1:0",
                       "CLOUDOPS_RATE_USER_BURST": "1000000", "CLOUDOPS_RATE_CHANNEL_BURST": "1000000",
                       "CLOUDOPS_WORKERS": str(max(16, ns.n)), "CLOUDOPS_LOG_LEVEL": "ERROR"}
                t0 = time.monotonic()
                audit = Path(tempfile.mkdtemp()) / "bot.jsonl"
                env["CLOUDOPS_LOG_LEVEL"] = "INFO"
                env["CLOUDOPS_LOG_FORMAT"] = "json"
                with bot_process(env, stdout=audit) as proc:
                    slack.wait_connected(1, 60)
                    connected = time.monotonic() - t0
                    port = None
                    while port is None and time.monotonic() - t0 < 60:
                        port = sidecar_port(proc.pid)
                        time.sleep(0.05)
                    status = json.loads(urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                        f"http://127.0.0.1:{port}/status", timeout=5).read())
                    ready = time.monotonic() - t0
                    time.sleep(1.0)
                    idle = rss_kb(proc.pid)
                    cpu0 = cpu_s(proc.pid)
                    serial = end_to_end(slack, 10, False, "serial")
                    cpu1 = cpu_s(proc.pid)
                    conc = end_to_end(slack, ns.n, True, "conc")
                    cpu2 = cpu_s(proc.pid)
                    peak = rss_kb(proc.pid, "VmHWM")
                print(f"start → socket connected {connected:.2f} s, → /status 200 ({status.get('status')}) "
                      f"{ready:.2f} s")
                print(f"RSS idle {idle / 1024:.0f} MB, peak with {ns.n} in flight {peak / 1024:.0f} MB")
                events = [json.loads(line) for line in audit.read_text().splitlines() if line.startswith("{")]
                inner = [e["duration_ms"] - e["aws_ms"] - e["model_ms"] for e in events
                         if e.get("event") == "request" and e.get("command") == "alarms"]
                print(f"bot-internal overhead per request (audit: duration - aws - model), {len(inner)} requests: "
                      f"p50 {pct(inner, 50):.1f} ms, p99 {pct(inner, 99):.1f} ms")
                for label, prefix in (("one at a time", "C-serial-"), (f"{ns.n} concurrent", "C-conc-")):
                    part = [e["duration_ms"] - e["aws_ms"] - e["model_ms"] for e in events
                            if e.get("event") == "request" and e.get("command") == "alarms"
                            and str(e.get("channel", "")).startswith(prefix)]
                    print(f"  of which {label}: p50 {pct(part, 50):.1f} ms, p99 {pct(part, 99):.1f} ms")
                print(f"bot process CPU per request (user + system, all threads, AWS and model SDK work included): "
                      f"one at a time {(cpu1 - cpu0) / 10 * 1000:.1f} ms, {ns.n} concurrent "
                      f"{(cpu2 - cpu1) / ns.n * 1000:.1f} ms; load average {os.getloadavg()[0]:.1f} on "
                      f"{os.cpu_count()} cores")
                for label, xs in (("one at a time (baseline)", serial), (f"{ns.n} concurrent", conc)):
                    over = [x - injected for x in xs]
                    print(f"overhead {label}: p50 {pct(over, 50) * 1000:.0f} ms, p99 {pct(over, 99) * 1000:.0f} ms "
                          f"(end-to-end p50 {pct(xs, 50) * 1000:.0f} ms, injected {injected * 1000:.0f} ms)")
        finally:
            proxy.stop()
    return 0


def _unused(_: Any) -> None:
    return None


if __name__ == "__main__":
    sys.exit(main())
