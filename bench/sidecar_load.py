"""Sidecar throughput on loopback: req/s and latency percentiles of /metrics (and /status, /healthz),
idle and while the bot answers POST /query commands against the seeded moto sandbox.

The load tool is wrk (Debian package `wrk`) when installed: a separate C process, so the figures are
the server's. Without it a Python client in this process is used; it shares the GIL with the server,
so its figures are a lower bound. The bot, the sidecar and moto all run in this process, as in the
demo; /query load comes from threads here too (it is the "bot is busy" background, not a figure).

    .venv/bin/python bench/sidecar_load.py [--seconds 5] [--connections 8] [--query-threads 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import structlog  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.sidecar.server import Sidecar  # noqa: E402
from bot.state import BotState  # noqa: E402
from cloudops_demo.aws import MotoSandbox  # noqa: E402
from cloudops_demo.sandbox import seed_incident  # noqa: E402
from handlers.services import Services  # noqa: E402

TOKEN = "bench-token"
QUERIES = ("status web-1", "logs api 502 30m", "alarms", "status")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Figure:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    return float(m.group(1)) * _UNIT_MS[m.group(2)] if m else float("nan")


def run_wrk(url: str, seconds: int, connections: int) -> Figure:
    threads = min(2, connections)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
                          url], capture_output=True, text=True, check=True).stdout
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|connect|read|write|timeout):? (\d+)", out))
    if "99" not in pct:
        print(f"(could not read wrk's percentiles)\n{out}", file=sys.stderr)
    return Figure(url.rsplit("/", 1)[-1], rps, _ms(pct.get("50", "")), _ms(pct.get("99", "")), errors, "wrk")


def run_python(url: str, seconds: int, connections: int) -> Figure:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                with _OPENER.open(url, timeout=10) as resp:
                    resp.read()
                ok = resp.status == 200
            except OSError:
                ok = False
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(latencies, n=100)
    return Figure(url.rsplit("/", 1)[-1], len(latencies) / seconds, q[49], q[98], errors[0], "python")


class QueryLoad:
    """Threads posting commands to /query back to back: the bot is busy answering while we measure."""

    def __init__(self, url: str, threads: int) -> None:
        self.url, self.n = url, threads
        self.done = self.failed = 0
        self.last_failure = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _loop(self, offset: int) -> None:
        i = offset
        while not self._stop.is_set():
            body = json.dumps({"text": QUERIES[i % len(QUERIES)]}).encode()
            req = urllib.request.Request(f"{self.url}/query", data=body,
                                         headers={"Authorization": f"Bearer {TOKEN}"})
            try:
                with _OPENER.open(req, timeout=30) as resp:
                    reply = json.loads(resp.read())
                ok = bool(reply.get("ok"))
                if not ok:
                    self.last_failure = f"{reply.get('outcome')}: {reply.get('summary')}"
            except OSError as exc:
                ok, self.last_failure = False, repr(exc)
            self.done += 1
            self.failed += 0 if ok else 1
            i += 1

    def __enter__(self) -> QueryLoad:
        self._threads = [threading.Thread(target=self._loop, args=(k,), daemon=True) for k in range(self.n)]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--query-threads", type=int, default=2)
    ap.add_argument("--python-client", action="store_true", help="use the Python client even if wrk exists")
    ns = ap.parse_args()
    measure = run_wrk if shutil.which("wrk") and not ns.python_client else run_python
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # no audit lines

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    with MotoSandbox() as sandbox:
        os.environ["AWS_ENDPOINT_URL"] = sandbox.endpoint_url
        seed_incident(sandbox.endpoint_url)
        settings = Settings.from_values(sidecar_addr="127.0.0.1:0", sidecar_token=TOKEN,
                                        log_aliases={"api": "/ecs/api-prod"},  # no rate limits: we want load
                                        rate_user_per_min=1e6, rate_user_burst=1e6,
                                        rate_channel_per_min=1e6, rate_channel_burst=1e6)
        metrics = Metrics("bench")
        state = BotState(version="bench")
        state.set_connected(True)
        services = Services.build(settings, metrics)
        sidecar = Sidecar(settings, services, state).start()
        try:
            url = sidecar.url
            with _OPENER.open(f"{url}/metrics") as resp:
                size = len(resp.read())
            figures: list[Figure] = []

            def run(path: str, connections: int, label: str) -> None:
                figures.append(measure(f"{url}{path}", ns.seconds, connections))
                figures[-1].label = f"{path} c{connections} {label}"

            run("/metrics", 1, "idle")  # one scraper, as Prometheus does
            run("/metrics", ns.connections, "idle")
            with QueryLoad(url, ns.query_threads) as load:
                run("/metrics", 1, "+ /query load")
                for path in ("/metrics", "/status", "/healthz"):
                    run(path, ns.connections, "+ /query load")
            queries = f"{load.done} /query answered ({load.failed} not ok) in {4 * ns.seconds} s"
            if load.failed:
                queries += f"; last failure: {load.last_failure[:200]}"
        finally:
            sidecar.stop()
            services.close()
    print(f"sidecar on loopback, {os.cpu_count()} cores, /metrics body {size:,} bytes, "
          f"{ns.seconds} s each (cN = N connections); background: {queries}")
    print(f"{'target':<30} {'tool':<7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for f in figures:
        print(f"{f.label:<30} {f.tool:<7} {f.rps:>9.0f} {f.p50_ms:>8.2f} {f.p99_ms:>8.2f} {f.errors:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
