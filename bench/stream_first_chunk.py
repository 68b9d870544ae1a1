"""Time to the first streamed text of a model answer, against the time to the whole answer.

The bot runs as `cloudops-bot run` in its own process, moto in another, the Slack emulator and the model
server in this one. The model writes its answer in ``--chunks`` pieces of ``--chunk-chars`` characters,
``--chunk-delay`` seconds apart (a streamed request); a non-streamed request gets the same answer after
the same total writing time, because a real model takes as long to finish either way.

Per mention, one at a time, measured at the emulator from the moment the mention envelope is sent:
- first text: the first chat.startStream (or, with startStream refused, the placeholder chat.postMessage)
  in the thread: what the user reads first;
- complete: the call that puts the finished answer in the thread (chat.stopStream, the final chat.update,
  or, with streaming off, the reply's chat.postMessage).

Runs: streaming (the default), the chat.update fallback (startStream refused), and the baseline with
CLOUDOPS_STREAM_ANSWERS=false. Prints p50/p95 of each figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peers import bot_process, moto_process
from cloudops_demo.slack import SlackEmulator
from tests.peers.llm_server import FakeLLMServer, Scripted

SENTENCE = ("the api target group lost its healthy targets after the deploy so checkout returns 502s while "
            "api-1 runs hot and the orders database refuses connections from the pool")
WORDS = SENTENCE.split(" ")


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def answer_text(chars: int) -> str:
    out: list[str] = []
    i = 0
    while sum(len(w) + 1 for w in out) < chars:
        out.append(WORDS[i % len(WORDS)])
        i += 1
    return " ".join(out)[:chars]


def responder(text: str, chunk_chars: int, delay: float) -> Any:
    pieces = -(-len(text) // chunk_chars)
    # Streamed: role chunk, the pieces, finish, usage, each after a pause. Plain: the same time, then all.
    total = delay * (pieces + 2)

    def answer(request: dict[str, Any]) -> Scripted:
        if request.get("stream"):
            return Scripted(content=text, chunk_chars=chunk_chars, chunk_delay_s=delay)
        return Scripted(content=text, delay_s=total)

    return answer


def bot_env(slack: SlackEmulator, llm: FakeLLMServer, moto: str, stream: bool, holdback: int) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_APP_TOKEN": "xapp-bench", "SLACK_API_URL": slack.api_url,
            "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.base_url, "CLOUDOPS_LLM_MODEL": "gpt-test",
            "CLOUDOPS_LLM_TIMEOUT_S": "60", "AWS_ENDPOINT_URL": moto, "CLOUDOPS_SIDECAR_ADDR": "127.0.0.1:0",
            "CLOUDOPS_RATE_USER_BURST": "1000000", "CLOUDOPS_RATE_CHANNEL_BURST": "1000000",
            "CLOUDOPS_LOG_LEVEL": "ERROR", "CLOUDOPS_STREAM_ANSWERS": "true" if stream else "false",
            "CLOUDOPS_STREAM_HOLDBACK_CHARS": str(holdback)}


def one(slack: SlackEmulator, channel: str, timeout: float) -> tuple[float, float, int]:
    """(first text s, complete s, characters in the first text) for one mention."""
    before = len(slack.envelopes())
    root = slack.send_mention("why is checkout returning 502s?", channel=channel)
    env = slack.envelopes()[before]

    def answered() -> bool:  # every finished answer carries the answer buttons, however it got there
        return any(b.get("block_id") == "answer" for m in slack.thread(channel, root)[1:]
                   for b in m.get("blocks") or [])

    if not slack.wait_for(answered, timeout):
        raise TimeoutError(f"no answer in {channel}")
    sent = slack._ws.sent_at[env.envelope_id] + (time.time() - time.monotonic())  # the emulator's clock
    mine = [c for c in slack.calls() if c.error is None and (c.params.get("channel") == channel)]
    first = next(c for c in mine if c.method in ("chat.startStream", "chat.postMessage")
                 and c.params.get("thread_ts") == root)
    done = [c for c in mine if c.method in ("chat.stopStream", "chat.update", "chat.postMessage")][-1]
    text = str(first.params.get("text") or "") + "".join(
        str(c.get("text", "")) for c in first.params.get("chunks") or [])
    return first.time - sent, done.time - sent, len(text)


def run(label: str, n: int, llm: FakeLLMServer, moto: str, *, stream: bool, refuse: bool,
        holdback: int, timeout: float) -> dict[str, Any]:
    with SlackEmulator(redeliver_after_s=0) as slack, bot_process(bot_env(slack, llm, moto, stream, holdback)):
        slack.wait_connected(1, 30)
        if refuse:
            slack.fail("chat.startStream", "unknown_method", times=10 ** 6)
        one(slack, f"C-{label}-warm", timeout)  # first request pays for lazy imports and connections
        rows = [one(slack, f"C-{label}-{i}", timeout) for i in range(n)]
    firsts, completes, sizes = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    return {"first_p50": pct(firsts, 50), "first_p95": pct(firsts, 95), "done_p50": pct(completes, 50),
            "done_p95": pct(completes, 95), "first_chars": pct(sizes, 50)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=15, help="mentions per run, one at a time (default 15)")
    ap.add_argument("--chunks", type=int, default=60, help="pieces the model writes (default 60)")
    ap.add_argument("--chunk-chars", type=int, default=16, help="characters per piece (default 16)")
    ap.add_argument("--chunk-delay", type=float, default=0.05, help="seconds between pieces (default 0.05)")
    ap.add_argument("--holdback", type=int, default=256, help="CLOUDOPS_STREAM_HOLDBACK_CHARS (default 256)")
    ns = ap.parse_args()
    text = answer_text(ns.chunks * ns.chunk_chars)
    writing = ns.chunk_delay * (ns.chunks + 2)
    print(f"model answer: {len(text)} chars in {ns.chunks} pieces of {ns.chunk_chars}, {ns.chunk_delay * 1000:.0f} ms "
          f"apart ({writing:.2f} s of writing); holdback {ns.holdback} chars; {ns.n} mentions per run")
    timeout = writing + 30
    results: dict[str, dict[str, Any]] = {}
    with moto_process() as moto, FakeLLMServer(api_key="sk-test") as llm:
        llm.set_responder(responder(text, ns.chunk_chars, ns.chunk_delay))
        results["streamed (chat.*Stream)"] = run("stream", ns.n, llm, moto, stream=True, refuse=False,
                                                 holdback=ns.holdback, timeout=timeout)
        results["fallback (chat.update)"] = run("update", ns.n, llm, moto, stream=True, refuse=True,
                                                holdback=ns.holdback, timeout=timeout)
        results["baseline: not streamed"] = run("plain", ns.n, llm, moto, stream=False, refuse=False,
                                                holdback=ns.holdback, timeout=timeout)
    print(f"{'run':<26}{'first text p50':>16}{'p95':>9}{'complete p50':>15}{'p95':>9}{'first chars':>13}")
    for label, r in results.items():
        print(f"{label:<26}{r['first_p50']:>15.3f}s{r['first_p95']:>8.3f}s{r['done_p50']:>14.3f}s"
              f"{r['done_p95']:>8.3f}s{r['first_chars']:>13.0f}")
    base = results["baseline: not streamed"]["done_p50"]
    ours = results["streamed (chat.*Stream)"]["first_p50"]
    print(f"first streamed text p50 {ours:.3f} s vs complete non-streamed answer p50 {base:.3f} s: "
          f"{base - ours:.3f} s sooner ({ours / base:.0%} of the wait)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
