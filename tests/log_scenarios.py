"""Modern CloudWatch log shapes with known root causes, generated deterministically.

Each scenario is what one log group holds over the last hour: a few thousand routine lines in the
shape a real workload writes (JSON objects, Lambda runtime lines, tracebacks stored as one event,
Java traces one line per event, nginx, kernel, ECS agent, logfmt) and one to three rare lines that
explain the incident (`root_causes`: a distinctive part of each, as a reader would quote it). Some
root causes are not marked ERROR. The same code builds the test data and the benchmark's large inputs
(`lines=` scales the routine traffic; the root causes stay the same).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["SCENARIOS", "Event", "Scenario", "build"]


@dataclass(frozen=True)
class Event:
    offset_ms: int  # from the start of the scenario's hour
    stream: str
    message: str


@dataclass
class Scenario:
    name: str
    summary: str
    root_causes: tuple[str, ...]
    events: list[Event] = field(default_factory=list)

    @property
    def group(self) -> str:
        return f"/scenario/{self.name}"


HOUR_MS = 3_600_000
Builder = Callable[[random.Random, int], Scenario]


_START = {"s": 1_767_225_600}  # the scenario's hour starts here (epoch s); build() sets it


def _at(offset_ms: int) -> datetime:
    return datetime.fromtimestamp(_START["s"] + offset_ms / 1000, tz=UTC)


def _iso(offset_ms: int) -> str:
    return _at(offset_ms).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _hex(rnd: random.Random, digits: int) -> str:
    return f"{rnd.getrandbits(4 * digits):0{digits}x}"


def _uuid(rnd: random.Random) -> str:
    h = _hex(rnd, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _spread(rnd: random.Random, n: int, start: int = 60_000, end: int = HOUR_MS - 120_000) -> list[int]:
    return sorted(rnd.randrange(start, end) for _ in range(n))


def _pino(rnd: random.Random, lines: int) -> Scenario:
    """Node service logging pino JSON: numeric levels, nested err, key order varying by code path."""
    s = Scenario("pino-orders", "node JSON (pino): fatal pool exhaustion among info/debug",
                 ("remaining connection slots are reserved", "pool exhausted: 0 of 20 connections free"))
    paths = ["/orders", "/orders/{id}", "/cart", "/checkout", "/health"]
    for t in _spread(rnd, lines):
        path = rnd.choice(paths).replace("{id}", str(rnd.randrange(10**6)))
        if rnd.random() < 0.5:
            obj = {"level": 30, "time": _START["s"] * 1000 + t, "pid": 7, "hostname": "ip-10-0-1-7",
                   "reqId": _uuid(rnd), "req": {"method": "GET", "url": path}, "res": {"statusCode": 200},
                   "responseTime": rnd.randrange(3, 90), "msg": "request completed"}
        else:
            obj = {"msg": "cache lookup", "level": 20, "key": f"cart:{rnd.randrange(10**5)}", "hit": rnd.random() < .8,
                   "time": _START["s"] * 1000 + t, "pid": 7, "hostname": "ip-10-0-1-7"}
        s.events.append(Event(t, "orders/web/1a2b", json.dumps(obj, separators=(",", ":"))))
    at = HOUR_MS - 600_000
    s.events.append(Event(at, "orders/web/1a2b", json.dumps({
        "level": 60, "time": _START["s"] * 1000 + at, "pid": 7, "hostname": "ip-10-0-1-7", "reqId": _uuid(rnd),
        "err": {"type": "Error", "message": "pool exhausted: 0 of 20 connections free",
                "stack": "Error: pool exhausted: 0 of 20 connections free\n    at Pool.acquire (pool.js:118:11)"},
        "msg": "cannot serve checkout"}, separators=(",", ":"))))
    for i in range(3):
        t = at + 1000 + i * 7000
        s.events.append(Event(t, "orders/web/1a2b", json.dumps({
            "level": 50, "time": _START["s"] * 1000 + t, "pid": 7, "hostname": "ip-10-0-1-7", "reqId": _uuid(rnd),
            "msg": "query failed", "err": {"type": "error", "code": "53300",
                                           "message": "remaining connection slots are reserved for superuser"}},
            separators=(",", ":"))))
    return s


def _structlog(rnd: random.Random, lines: int) -> Scenario:
    """Python JSON logs with a long context before the error field, at level warning (not error)."""
    s = Scenario("py-json-payments", "python JSON: the cause is a field past the first 400 chars",
                 ("card processor rejected api key (401 Unauthorized)",))
    for t in _spread(rnd, lines):
        ctx = {"request_id": _uuid(rnd), "tenant": f"t-{rnd.randrange(900)}", "user_agent": "Mozilla/5.0 (X11)",
               "route": "/v1/charges", "trace_id": _hex(rnd, 32)}
        event = rnd.choice(["charge created", "charge captured", "refund issued", "webhook delivered"])
        s.events.append(Event(t, "payments/api", json.dumps(
            {"timestamp": _iso(t), "level": "info", "logger": "payments.api", "event": event,
             "amount_cents": rnd.randrange(100, 90000), **ctx})))
    at = HOUR_MS - 900_000
    for i in range(2):
        padding = {"request_id": _uuid(rnd), "headers": {f"x-h{j}": "v" * 20 for j in range(12)},
                   "route": "/v1/charges"}
        s.events.append(Event(at + i * 5000, "payments/api", json.dumps(
            {"timestamp": _iso(at), "level": "warning", "logger": "payments.gateway", "event": "charge declined",
             **padding, "upstream_error": "card processor rejected api key (401 Unauthorized)"})))
    return s


def _lambda_text(rnd: random.Random, lines: int) -> Scenario:
    """Lambda (Python runtime, text format): START/END/REPORT per invocation; some time out."""
    s = Scenario("lambda-text-resizer", "lambda text: timeouts, REPORT Status: timeout",
                 ("Task timed out after 6.01 seconds", "ReadTimeoutError"))
    invocations = max(1, lines // 5)
    for t in _spread(rnd, invocations):
        rid = _uuid(rnd)
        stream = f"2026/01/01/[$LATEST]{rnd.choice(['a1b2', 'c3d4'])}"
        s.events += [Event(t, stream, f"START RequestId: {rid} Version: $LATEST"),
                     Event(t + 5, stream, f"[INFO]\t{_iso(t + 5)}\t{rid}\tresizing s3://img/{rnd.randrange(10**6)}.jpg"),
                     Event(t + 90, stream,
                           f"[INFO]\t{_iso(t + 90)}\t{rid}\twrote thumbnail in {rnd.randrange(30, 90)} ms"),
                     Event(t + 95, stream, f"END RequestId: {rid}"),
                     Event(t + 96, stream, f"REPORT RequestId: {rid}\tDuration: {rnd.uniform(50, 99):.2f} ms\t"
                                           f"Billed Duration: 100 ms\tMemory Size: 512 MB\tMax Memory Used: 88 MB")]
    at = HOUR_MS - 400_000
    for i in range(2):
        rid, t, stream = _uuid(rnd), at + i * 30_000, "2026/01/01/[$LATEST]c3d4"
        s.events += [
            Event(t, stream, f"START RequestId: {rid} Version: $LATEST"),
            Event(t + 5000, stream, f"[WARNING]\t{_iso(t + 5000)}\t{rid}\tretrying s3 GetObject: ReadTimeoutError "
                                    "on endpoint URL https://s3.amazonaws.com/img"),
            Event(t + 6010, stream, f"{_iso(t + 6010)} {rid} Task timed out after 6.01 seconds"),
            Event(t + 6011, stream, f"END RequestId: {rid}"),
            Event(t + 6012, stream, f"REPORT RequestId: {rid}\tDuration: 6010.00 ms\tBilled Duration: 6000 ms\t"
                                    "Memory Size: 512 MB\tMax Memory Used: 140 MB\tStatus: timeout"),
        ]
    return s


def _lambda_json(rnd: random.Random, lines: int) -> Scenario:
    """Lambda with the JSON log format: app lines and platform events; the runtime runs out of memory."""
    s = Scenario("lambda-json-export", "lambda JSON: platform.report status error, Runtime.OutOfMemory",
                 ("Runtime.OutOfMemory",))
    for t in _spread(rnd, lines):
        rid = _uuid(rnd)
        obj: dict[str, Any]
        if rnd.random() < 0.7:
            obj = {"timestamp": _iso(t), "level": "INFO", "message": f"exported {rnd.randrange(900)} rows",
                   "logger": "root", "requestId": rid}
        else:
            obj = {"time": _iso(t), "type": "platform.report", "record": {
                "requestId": rid, "metrics": {"durationMs": rnd.uniform(100, 900), "billedDurationMs": 900,
                                              "memorySizeMB": 256, "maxMemoryUsedMB": rnd.randrange(90, 200)},
                "status": "success"}}
        s.events.append(Event(t, "2026/01/01/[$LATEST]9f9f", json.dumps(obj)))
    at = HOUR_MS - 300_000
    s.events.append(Event(at, "2026/01/01/[$LATEST]9f9f", json.dumps({
        "time": _iso(at), "type": "platform.report", "record": {
            "requestId": _uuid(rnd), "metrics": {"durationMs": 2210.5, "billedDurationMs": 2211, "memorySizeMB": 256,
                                                 "maxMemoryUsedMB": 256},
            "status": "error", "errorType": "Runtime.OutOfMemory"}})))
    return s


def _py_traceback(rnd: random.Random, lines: int) -> Scenario:
    """Python worker whose tracebacks arrive as one multi-line event each (the awslogs multiline setting)."""
    s = Scenario("py-traceback-worker", "python tracebacks as one event: harmless vs fatal, exception last",
                 ("psycopg2.OperationalError: could not connect to server: Connection refused",))

    def trace(head: str, exc: str, depth: int) -> str:
        frames = []
        for i in range(depth):
            frames += [f'  File "/app/worker/step_{i}.py", line {10 + i}, in run_{i}', f"    return step_{i + 1}(job)"]
        return "\n".join([head, "Traceback (most recent call last):", *frames, exc])

    for t in _spread(rnd, lines):
        if rnd.random() < 0.03:
            msg = trace(f"{_iso(t)} ERROR worker.jobs job {rnd.randrange(10**6)} failed, will retry",
                        "KeyError: 'coupon'", rnd.randrange(8, 20))
        else:
            msg = f"{_iso(t)} INFO worker.jobs job {rnd.randrange(10**6)} done in {rnd.randrange(5, 900)}ms"
        s.events.append(Event(t, "worker/7f", msg))
    at = HOUR_MS - 500_000
    s.events.append(Event(at, "worker/7f", trace(
        f"{_iso(at)} ERROR worker.jobs job 881 failed, will retry",
        "psycopg2.OperationalError: could not connect to server: Connection refused", 40)))
    return s


def _java_lines(rnd: random.Random, lines: int) -> Scenario:
    """Spring service whose traces reach CloudWatch one line per event."""
    s = Scenario("java-lines-inventory", "java traces one line per event; the Caused by is the cause",
                 ("Caused by: java.net.ConnectException: Connection refused (Connection refused)",))
    t_stream = "inventory/ecs/3c"

    def trace(t: int, cause: str) -> None:
        rows = [f"{_iso(t)}  ERROR 1 --- [nio-8080-exec-{rnd.randrange(9)}] c.a.i.StockController : Request failed",
                "org.springframework.dao.DataAccessResourceFailureException: unable to acquire JDBC Connection"]
        rows += [f"\tat com.acme.inventory.Stock{i}.call(Stock{i}.java:{40 + i})" for i in range(25)]
        rows += [f"Caused by: {cause}", "\tat java.base/sun.nio.ch.Net.connect0(Native Method)", "\t... 58 more"]
        s.events.extend(Event(t + i, t_stream, row) for i, row in enumerate(rows))
        # the other task of the service logs in the same milliseconds: the streams interleave
        s.events.extend(Event(t + i, "inventory/ecs/9d", f"{_iso(t + i)}  INFO 1 --- [nio-8080-exec-2] "
                              f"c.a.i.StockController : reserved 1 of sku-{rnd.randrange(10**5)}")
                        for i in range(0, 30, 3))

    for t in _spread(rnd, lines):
        s.events.append(Event(t, t_stream, f"{_iso(t)}  INFO 1 --- [nio-8080-exec-{rnd.randrange(9)}] "
                                           f"c.a.i.StockController : reserved {rnd.randrange(9)} of "
                                           f"sku-{rnd.randrange(10**5)}"))
        if rnd.random() < 0.01:
            trace(t + 1, "java.util.concurrent.TimeoutException: client closed the stream")
    trace(HOUR_MS - 700_000, "java.net.ConnectException: Connection refused (Connection refused)")
    return s


def _nginx(rnd: random.Random, lines: int) -> Scenario:
    """nginx access and error logs in one group: a 502 burst whose cause is in the error log."""
    s = Scenario("nginx-edge", "nginx access + error: 502s, upstream refused",
                 ("connect() failed (111: Connection refused) while connecting to upstream",))
    for t in _spread(rnd, lines):
        ip = f"10.0.{rnd.randrange(8)}.{rnd.randrange(250)}"
        stamp = _at(t).strftime("%d/%b/%Y:%H:%M:%S +0000")
        status = 502 if t > HOUR_MS - 800_000 and rnd.random() < 0.3 else 200
        s.events.append(Event(t, "nginx/access", f'{ip} - - [{stamp}] "GET /api/items/{rnd.randrange(10**5)} HTTP/1.1"'
                                                 f' {status} {rnd.randrange(100, 9000)} "-" "Mozilla/5.0"'))
        if rnd.random() < 0.01:
            day = _at(t).strftime("%Y/%m/%d %H:%M:%S")
            s.events.append(Event(t, "nginx/error", f"{day} [warn] 31#31: *{rnd.randrange(10**6)} an upstream response "
                                                    "is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00"))
    at = HOUR_MS - 800_000
    day = _at(at).strftime("%Y/%m/%d %H:%M:%S")
    s.events.append(Event(at, "nginx/error", f"{day} [error] 31#31: *9911 connect() failed (111: Connection refused) "
                                             "while connecting to upstream, client: 10.0.3.4, server: edge, request: "
                                             '"GET /api/items/1 HTTP/1.1", upstream: "http://10.0.9.9:8080/api/items/1"'))
    return s


def _kernel_oom(rnd: random.Random, lines: int) -> Scenario:
    """Host syslog shipped by the CloudWatch agent: the OOM killer, not marked ERROR."""
    s = Scenario("kernel-oom-host", "syslog: kernel OOM killer picks the JVM",
                 ("Out of memory: Killed process 4242 (java)",))
    units = ["systemd[1]: Started Session {n} of user ec2-user.", "chronyd[612]: Selected source 169.254.169.123",
             "dhclient[800]: XMT: Solicit on eth0, interval {n}ms.", "amazon-ssm-agent[900]: INFO [HealthCheck] ok {n}"]
    for t in _spread(rnd, lines):
        stamp = _at(t).strftime("%b %d %H:%M:%S")
        s.events.append(Event(t, "i-0abc/messages", f"{stamp} ip-10-0-4-2 " + rnd.choice(units).format(
            n=rnd.randrange(10**4))))
    at = HOUR_MS - 650_000
    stamp = _at(at).strftime("%b %d %H:%M:%S")
    for text in ("kernel: java invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0",
                 "kernel: oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),task=java,pid=4242,uid=1000",
                 "kernel: Out of memory: Killed process 4242 (java) total-vm:8123456kB, anon-rss:3900000kB, "
                 "file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:8000kB oom_score_adj:0"):
        s.events.append(Event(at, "i-0abc/messages", f"{stamp} ip-10-0-4-2 {text}"))
        at += 3
    return s


def _ecs_agent(rnd: random.Random, lines: int) -> Scenario:
    """ECS container agent (logfmt): the image pull fails; the task keeps being restarted."""
    s = Scenario("ecs-agent", "ECS agent logfmt: CannotPullContainerError among routine task events",
                 ("CannotPullContainerError: pull image manifest has been retried 5 time(s)",))
    msgs = ['msg="Task engine: managed task state change" task="{t}" status=RUNNING module=task_manager.go',
            'msg="Sending state change to ECS" taskArn="arn:aws:ecs:us-east-1:1:task/c/{t}" module=client.go',
            'msg="Image pulled" image="api:{n}" duration={n}ms module=docker_client.go']
    for t in _spread(rnd, lines):
        s.events.append(Event(t, "ecs-agent/i-0abc", f"level=info time={_iso(t)} "
                              + rnd.choice(msgs).format(t=_hex(rnd, 16), n=rnd.randrange(900))))
    at = HOUR_MS - 450_000
    s.events.append(Event(at, "ecs-agent/i-0abc", f'level=error time={_iso(at)} msg="Error transitioning container" '
                          'task="9f0c3a" container="api" err="CannotPullContainerError: pull image manifest has been '
                          'retried 5 time(s): manifest for 123.dkr.ecr.us-east-1.amazonaws.com/api:v99 not found" '
                          "module=docker_task_engine.go"))
    return s


def _logfmt_deploy(rnd: random.Random, lines: int) -> Scenario:
    """Go service in logfmt: a config reload (not an error) just before the deadline errors start."""
    s = Scenario("go-logfmt-deploy", "go logfmt: config reload precedes context deadline errors",
                 ('msg="configuration reloaded"', "context deadline exceeded"))
    for t in _spread(rnd, lines):
        s.events.append(Event(t, "ledger/5d", f"ts={_iso(t)} level=info caller=http.go:{rnd.randrange(90, 99)} "
                              f'msg="handled request" method=POST path=/v1/entries status=200 '
                              f"duration={rnd.randrange(2, 80)}ms req_id={_hex(rnd, 12)}"))
    at = HOUR_MS - 1_000_000
    s.events.append(Event(at, "ledger/5d", f'ts={_iso(at)} level=info caller=config.go:44 msg="configuration reloaded" '
                          'change="feature flag \\"ledger.v2\\" enabled" by=deploy-bot'))
    for i in range(4):
        t = at + 60_000 + i * 9000
        s.events.append(Event(t, "ledger/5d", f"ts={_iso(t)} level=error caller=store.go:120 msg=\"write failed\" "
                              f'err="context deadline exceeded" table=entries req_id={_hex(rnd, 12)}'))
    return s


def _alb_json(rnd: random.Random, lines: int) -> Scenario:
    """JSON access log with no level at all: the 503s and a certificate warning are the story."""
    s = Scenario("json-access-gateway", "JSON access log without levels: statusCode 503, expiring certificate",
                 ("certificate for api.example.com expires in 2 days", "no healthy upstream"))
    for t in _spread(rnd, lines):
        code = 200 if rnd.random() < 0.995 else 404
        obj = {"statusCode": code, "method": rnd.choice(["GET", "POST"]), "path": f"/v2/users/{rnd.randrange(10**6)}",
               "latencyMs": rnd.randrange(3, 300), "ip": f"10.1.{rnd.randrange(9)}.{rnd.randrange(250)}",
               "ts": _iso(t)}
        items = list(obj.items())
        rnd.shuffle(items)  # key order varies: it must not matter
        s.events.append(Event(t, "gateway/a", json.dumps(dict(items))))
    at = HOUR_MS - 1_500_000
    s.events.append(Event(at, "gateway/a", json.dumps({"ts": _iso(at), "component": "tls",
                                                       "msg": "certificate for api.example.com expires in 2 days"})))
    for i in range(3):
        t = HOUR_MS - 240_000 + i * 1000
        s.events.append(Event(t, "gateway/a", json.dumps({
            "statusCode": 503, "method": "GET", "path": "/v2/users/1", "latencyMs": 1, "ts": _iso(t),
            "detail": "no healthy upstream"})))
    return s


def _busy_newest(rnd: random.Random, lines: int) -> Scenario:
    """A busy hour (more events than the bot reads) whose incident is in the last minutes."""
    s = Scenario("busy-checkout", "busy window: the errors are the newest events, the deploy long before them",
                 ("stripe.error.APIConnectionError", "Deployment started: checkout v4.2.0"))
    for t in _spread(rnd, lines, end=HOUR_MS - 60_000):
        s.events.append(Event(t, "checkout/1", f"{_iso(t)} INFO checkout.api POST /cart/{rnd.randrange(10**6)} 200 "
                              f"{rnd.randrange(4, 90)}ms"))
    at = 600_000  # ten minutes into the hour: older than the newest events the bot reads in full
    s.events.append(Event(at, "checkout/1", f"{_iso(at)} INFO deployer Deployment started: checkout v4.2.0 "
                          "(task definition checkout:87)"))
    for i in range(3):
        t = HOUR_MS - 50_000 + i * 5000
        s.events.append(Event(t, "checkout/1", f"{_iso(t)} ERROR checkout.api charge failed: "
                              "stripe.error.APIConnectionError: Could not connect to Stripe"))
    return s


def _disk_then_crash(rnd: random.Random, lines: int) -> Scenario:
    """Plain text service log: a disk-usage warning, then write errors; the warning explains them."""
    s = Scenario("text-disk-db", "text log: disk usage warning before the write errors",
                 ("disk usage on /var/lib/postgresql at 97%", "No space left on device"))
    for t in _spread(rnd, lines):
        s.events.append(Event(t, "db/primary", f"{_iso(t)} LOG:  checkpoint complete: wrote {rnd.randrange(900)} "
                              f"buffers ({rnd.uniform(0, 5):.1f}%); 0 WAL file(s) added"
                              if rnd.random() < 0.3 else
                              f"{_iso(t)} LOG:  duration: {rnd.uniform(0.1, 90):.3f} ms  statement: SELECT * FROM "
                              f"orders WHERE id = {rnd.randrange(10**6)}"))
    at = HOUR_MS - 1_200_000
    s.events.append(Event(at, "db/primary", f"{_iso(at)} WARNING:  disk usage on /var/lib/postgresql at 97%"))
    for i in range(2):
        t = at + 300_000 + i * 4000
        s.events.append(Event(t, "db/primary", f"{_iso(t)} PANIC:  could not write to file \"pg_wal/xlogtemp.1\": "
                              "No space left on device"))
    return s


SCENARIOS: dict[str, Builder] = {b.__name__.strip("_"): b for b in (
    _pino, _structlog, _lambda_text, _lambda_json, _py_traceback, _java_lines, _nginx, _kernel_oom, _ecs_agent,
    _logfmt_deploy, _alb_json, _busy_newest, _disk_then_crash)}


def build(name: str, lines: int = 2000, start_s: int = 1_767_225_600) -> Scenario:
    """The scenario's hour from ``start_s``, its events in time order; the same arguments always give
    the same events."""
    _START["s"] = start_s
    scenario = SCENARIOS[name](random.Random(name), lines)
    scenario.events.sort(key=lambda e: e.offset_ms)
    return scenario
