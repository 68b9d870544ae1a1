"""Ack latency under load: N slash commands in flight through the Slack emulator while the model server
takes 2 s per answer. Baseline in the same run: a naive Bolt app that does the work before acking.
Configurations: `threads` (CLOUDOPS_JOB_QUEUE=threads: the work on the Socket Mode process's own threads),
`redis` (CLOUDOPS_JOB_QUEUE=redis: the work in `cloudops-bot worker` processes fed by a Redis stream),
`naive`. `--sweep 50,100,200,400` repeats every configuration at each load.

Prints p50/p99/max ack latency (envelope sent → ack frame received, measured by the emulator), how
many envelopes were never acked within Slack's 3 s, and the time to the first visible message
(the ephemeral ack for our bot; the reply for the naive app), plus time until every answer was posted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench.peers import bot_process, moto_process, redis_process
from bot.logsetup import configure_logging
from bot.slack.jobstream import GROUP, STREAM
from cloudops_demo.sandbox import seed_incident
from cloudops_demo.slack import SlackEmulator
from tests.peers.llm_server import FakeLLMServer


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def fire(slack: SlackEmulator, n: int, prefix: str, rate: float) -> list[str]:
    """Send n commands at ``rate`` per second (0 = one burst); with a 2 s model, 100/s keeps ~200 in flight."""
    out: list[str] = []
    start = time.monotonic()
    for i in range(n):
        if rate > 0:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        out.append(slack.send_slash_command("status web-1", user=f"U{i % 40}", channel=f"C-{prefix}-{i}"))
    return out


def collect(slack: SlackEmulator, envelopes: list[str], prefix: str, n: int, timeout: float) -> dict[str, Any]:
    def answered() -> int:
        return sum(1 for i in range(n) if any(len(slack.thread(f"C-{prefix}-{i}", m["ts"])) > 1
                                                for m in slack.channel_messages(f"C-{prefix}-{i}")))

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and answered() < n:
        time.sleep(0.2)
    acks = slack.acks()
    lat = [acks[e].latency_s for e in envelopes if e in acks and acks[e].latency_s is not None]
    on_time = [x for x in lat if x is not None and x <= 3.0]
    sent_at = slack._ws.sent_at  # the emulator's own send timestamps (monotonic)
    offset = time.time() - time.monotonic()
    first_visible: list[float] = []
    for i, env in enumerate(envelopes):
        ack = acks.get(env)
        if ack is not None and ack.latency_s is not None and ack.latency_s <= 3.0 and ack.payload:
            first_visible.append(ack.latency_s)  # the ephemeral "working on it" is what the user sees first
            continue
        posts = [c.time for c in slack.calls("chat.postMessage") if c.params.get("channel") == f"C-{prefix}-{i}"]
        if posts and env in sent_at:
            first_visible.append(min(posts) - offset - sent_at[env])
    return {"acked_in_3s": len(on_time), "unacked": n - len(on_time), "p50_ms": pct(lat, 50) * 1000,
            "p99_ms": pct(lat, 99) * 1000, "max_ms": max(lat) * 1000 if lat else float("nan"),
            "first_visible_p50_s": pct(first_visible, 50), "first_visible_p99_s": pct(first_visible, 99),
            "answered": answered()}


REACTIONS = ("assistant.threads.setStatus", "chat.postMessage", "chat.startStream")


def mention_reactions(slack: SlackEmulator, k: int) -> list[float]:
    """Light load: k mentions one at a time; seconds from the envelope leaving the emulator to the first
    call that shows something in the mention's thread (status line, busy note, streamed or posted text)."""
    out: list[float] = []
    offset = time.time() - time.monotonic()
    for i in range(k):
        channel = f"C-react-{i}"
        ts = slack.send_mention("why is web-1 slow?", user=f"U-r{i}", channel=channel)
        env = [e for e in slack.envelopes() if e.type == "events_api"][-1].envelope_id

        def first(channel: str = channel, ts: str = ts) -> float | None:
            times = [c.time for m in REACTIONS for c in slack.calls(m)
                     if c.params.get("channel", c.params.get("channel_id")) == channel
                     and c.params.get("thread_ts") == ts]
            return min(times) if times else None

        slack.wait_for(lambda: first() is not None, 10)
        shown, sent = first(), slack._ws.sent_at.get(env)
        if shown is not None and sent is not None:
            out.append(shown - offset - sent)
        time.sleep(0.3)
    return out


def bot_env(slack: SlackEmulator, llm: FakeLLMServer, moto: str, n: int) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_APP_TOKEN": "xapp-bench", "SLACK_API_URL": slack.api_url,
            "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.base_url, "CLOUDOPS_LLM_MODEL": "gpt-test",
            "CLOUDOPS_LLM_TIMEOUT_S": "30", "AWS_ENDPOINT_URL": moto, "CLOUDOPS_SIDECAR_ADDR": "127.0.0.1:0",
            "CLOUDOPS_WORKERS": "64", "CLOUDOPS_MAX_QUEUE": str(n + 10), "CLOUDOPS_RATE_USER_BURST": "1000000",
            "CLOUDOPS_RATE_CHANNEL_BURST": "1000000", "CLOUDOPS_LOG_LEVEL": "ERROR"}


def run(n: int, llm: FakeLLMServer, moto: str, label: str, module: list[str] | None, rate: float,
        extra: dict[str, str] | None = None, mentions: int = 0) -> dict[str, Any]:
    if extra and extra.get("CLOUDOPS_REDIS_URL"):  # event ids repeat per emulator: no dedupe keys carried over
        redis.Redis.from_url(extra["CLOUDOPS_REDIS_URL"]).flushall()
    with SlackEmulator(redeliver_after_s=0) as slack, bot_process({**bot_env(slack, llm, moto, n), **(extra or {})},
                                                                  module):
        slack.wait_connected(1, 30)
        wait_workers(extra or {})
        reactions = mention_reactions(slack, mentions) if mentions and module is None else []
        time.sleep(2.5)  # the mentions' answers are written before the load starts
        start = time.monotonic()
        envs = fire(slack, n, label, rate)
        out = collect(slack, envs, label, n, timeout=max(120, n * 2.5 / 5 + 30))
        out["all_answered_s"] = time.monotonic() - start
        out["reaction_p50_s"] = pct(reactions, 50)
        return out


def wait_workers(extra: dict[str, str]) -> None:
    """With the redis queue, the load starts once every worker process reads the stream."""
    want = int(extra.get("CLOUDOPS_WORKER_PROCESSES", "0")) if extra.get("CLOUDOPS_JOB_QUEUE") == "redis" else 0
    if not want:
        time.sleep(0.5)
        return
    client = redis.Redis.from_url(extra["CLOUDOPS_REDIS_URL"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:  # live workers read every 0.5 s; an earlier run's consumers have been idle for longer
            if sum(1 for c in client.xinfo_consumers(STREAM, GROUP) if c["idle"] < 1500) >= want:
                break
        except redis.ResponseError:  # the group does not exist yet
            pass
        time.sleep(0.2)
    time.sleep(1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=200, help="slash commands in flight (default 200)")
    ap.add_argument("--sweep", default="", help="comma-separated loads, e.g. 50,100,200,400 (overrides -n)")
    ap.add_argument("--model-latency", type=float, default=2.0, help="seconds the model takes per answer")
    ap.add_argument("--rate", type=float, default=-1.0,
                    help="arrivals per second (0 = all in one burst; default n / model latency, i.e. ~n in flight)")
    ap.add_argument("--configs", default="redis,threads,naive", help="which of redis, threads, naive to run")
    ap.add_argument("--worker-processes", type=int, default=2, help="worker processes for the redis configuration")
    ap.add_argument("--workers", type=int, default=32, help="worker threads per process (CLOUDOPS_WORKERS)")
    ap.add_argument("--mentions", type=int, default=10,
                    help="mentions sent one at a time before the load, timed to their first visible reaction")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--bot-env", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting for our bot in every configuration, e.g. CLOUDOPS_WORKERS=16")
    ns = ap.parse_args()
    logging.disable(logging.CRITICAL)
    configure_logging("ERROR", "console")
    loads = [int(x) for x in ns.sweep.split(",")] if ns.sweep else [ns.n]
    configs = [c for c in ns.configs.split(",") if not (ns.skip_naive and c == "naive")]
    naive_cmd = [sys.executable, str(Path(__file__).parent / "naive_bot.py")]
    with moto_process() as moto, redis_process() as redis_url, \
            FakeLLMServer(api_key="sk-test", latency_s=ns.model_latency) as llm:
        seed_incident(moto)
        for n in loads:
            rate = ns.rate if ns.rate >= 0 else n / ns.model_latency
            print(f"--- {n} commands at {rate:g}/s, model {ns.model_latency}s", flush=True)
            for config in configs:
                threads = {"CLOUDOPS_WORKERS": str(ns.workers * max(1, ns.worker_processes))}
                extra = {"redis": {"CLOUDOPS_JOB_QUEUE": "redis", "CLOUDOPS_REDIS_URL": redis_url,
                                   "CLOUDOPS_WORKER_PROCESSES": str(ns.worker_processes),
                                   "CLOUDOPS_WORKERS": str(ns.workers)},
                         "threads": threads, "naive": {},
                         }[config]
                if config != "naive":
                    extra.update(dict(kv.split("=", 1) for kv in ns.bot_env))
                result = run(n, llm, moto, f"{config}{n}", naive_cmd if config == "naive" else None, rate, extra,
                             ns.mentions)
                print(f"{config:<8} {fmt(result)}", flush=True)
    return 0


def fmt(r: dict[str, Any]) -> str:
    return (f"ack p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms; "
            f"acked within 3 s {r['acked_in_3s']}, un-acked {r['unacked']}; first visible p50 "
            f"{r['first_visible_p50_s']:.3f} s, p99 {r['first_visible_p99_s']:.3f} s; answered {r['answered']} "
            f"in {r['all_answered_s']:.1f} s; mention's first reaction at light load p50 {r['reaction_p50_s']:.3f} s")


if __name__ == "__main__":
    sys.exit(main())
