"""The incidents: each a seed, the question an engineer would ask, the facts the evidence must hold, the
root-cause facts a correct answer names, and a scripted answer (citing the seeded ids) for the fake model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.scenarios.seed import AlarmSeed, Host, Lines, Seed, Series


@dataclass(frozen=True)
class Scenario:
    name: str
    region: str  # one per scenario: nothing else seeds it
    question: str  # may use {since}: a clock time 30 minutes before seeding (UTC, HH:MM)
    seed: Seed
    facts: tuple[str, ...]  # must reach the bundle
    causes: tuple[str, ...]  # a correct answer names each (case-insensitive; "a|b": either); so must the heuristics
    answer: str  # the fake model's answer; {host} placeholders are the seeded instance ids
    aliases: dict[str, str] = field(default_factory=dict)

    def ask(self, now: datetime) -> str:
        return self.question.format(since=f"{now - timedelta(minutes=30):%H:%M}")


def _ok(name: str) -> Lines:
    return Lines(f"/ecs/{name}", "INFO  [access] GET /healthz status=200 latency_ms=3 n={n}", 60, 0.5, 90)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "checkout-db-timeouts", "eu-central-1", "why is checkout returning 502s?",
        Seed(lines=(Lines("/aws/lambda/checkout", "INFO charged order ord_{n} cents=1299", 60, 20, 120),
                    Lines("/aws/lambda/checkout", 'ERROR psycopg2.OperationalError: could not connect to server: '
                          'Connection timed out; host "orders-db.internal" port 5432 request={n}', 18, 0.5, 40),
                    Lines("/ecs/edge", "ERROR [gateway] POST /checkout status=502 error=\"502 Bad Gateway\" rid={n}",
                          18, 0.5, 30)),
             alarms=(AlarmSeed("checkout-errors", "AWS/Lambda", "Errors", ("FunctionName", "checkout"), 5),)),
        facts=("checkout-errors", "/aws/lambda/checkout", "could not connect to server"),
        causes=("orders-db",),
        answer="checkout-errors is firing: /aws/lambda/checkout cannot reach orders-db.internal (timed out).",
        aliases={"checkout": "/aws/lambda/checkout"},
    ),
    Scenario(
        "cpu-saturated", "eu-west-2", "why is search-1 slow?",
        Seed(hosts=(Host("search-1", {"team": "search"}), Host("search-2", {"team": "search"})),
             series=(Series("AWS/EC2", "CPUUtilization", ("InstanceId", "@search-1"),
                            lambda age: 97.0 if age < 15 else 30.0),),
             alarms=(AlarmSeed("search-1-cpu-high", "AWS/EC2", "CPUUtilization", ("InstanceId", "@search-1"), 85),)),
        facts=("search-1-cpu-high", "CPUUtilization", "@search-1"),
        causes=("cpu",),
        answer="search-1 ({search-1}) is CPU-bound: search-1-cpu-high fired and CPUUtilization is at 97%.",
    ),
    Scenario(
        "stopped-consumer", "eu-west-3", "why is the ingest queue backing up?",
        Seed(hosts=(Host("ingest-worker-1", {"service": "ingest"}, stopped=True),),
             lines=(_ok("ingest"), Lines("/ecs/ingest", "ERROR [consumer] queue backing up queue=ingest-jobs "
                                         "visible={n}000 oldest_age_s={n}0", 15, 0.5, 60))),
        facts=("ingest-worker-1", "stopped", "queue backing up"),
        causes=("stopped|not running",),
        answer="ingest-worker-1 ({ingest-worker-1}) is stopped, so nothing drains ingest-jobs.",
    ),
    Scenario(
        "lambda-timeouts", "eu-north-1", "the payments-errors alarm fired: what is going on?",
        Seed(lines=(Lines("/aws/lambda/payments", "REPORT RequestId: r{n} Duration: 120.00 ms", 60, 25, 120),
                    Lines("/aws/lambda/payments", "2026-01-01T00:00:00Z r{n} Task timed out after 6.00 seconds",
                          22, 0.5, 45)),
             alarms=(AlarmSeed("payments-errors", "AWS/Lambda", "Errors", ("FunctionName", "payments"), 1),)),
        facts=("payments-errors", "Task timed out after 6.00 seconds"),
        causes=("timing out|timed out|timeout",),
        answer="payments-errors fired because /aws/lambda/payments is timing out after 6 seconds.",
    ),
    Scenario(
        "out-of-memory", "ap-south-1", "why does search-api keep restarting?",
        Seed(lines=(_ok("search-api"), Lines("/ecs/search-api", "ERROR java.lang.OutOfMemoryError: Java heap space "
                                             "task={n}", 25, 0.5, 120)),
             alarms=(AlarmSeed("search-api-memory", "AWS/ECS", "MemoryUtilization", ("ServiceName", "search-api"),
                               90),)),
        facts=("OutOfMemoryError", "search-api-memory"),
        causes=("out of memory|outofmemory|heap",),
        answer="search-api is running out of memory (OutOfMemoryError in /ecs/search-api); search-api-memory fired.",
    ),
    Scenario(
        "disk-full", "ap-northeast-1", "why have reports been failing since {since}?",
        Seed(lines=(_ok("reports"), Lines("/ecs/reports", "ERROR OSError: [Errno 28] No space left on device: "
                                          "'/tmp/report-{n}.csv'", 25, 0.5, 90))),
        facts=("No space left on device",),
        causes=("disk is full|no space left|disk full",),
        answer="reports fail because a disk is full: /ecs/reports logs No space left on device.",
    ),
    Scenario(
        "dns-failure", "ap-southeast-1", "why is the storefront returning 503?",
        Seed(lines=(_ok("storefront"),
                    Lines("/ecs/storefront", "ERROR fetch failed: getaddrinfo ENOTFOUND payments.internal status=503 "
                          "rid={n}", 12, 0.5, 30))),
        facts=("ENOTFOUND", "503"),
        causes=("payments.internal",),
        answer="storefront returns 503 because DNS lookups of payments.internal fail (ENOTFOUND) in /ecs/storefront.",
    ),
    Scenario(
        "throttled", "ap-southeast-2", "why is orders-sync failing?",
        Seed(lines=(Lines("/aws/lambda/orders-sync", "ERROR ThrottlingException: Rate exceeded (DynamoDB "
                          "PutItem orders) attempt={n}", 20, 0.5, 40),),
             alarms=(AlarmSeed("orders-sync-errors", "AWS/Lambda", "Errors", ("FunctionName", "orders-sync"), 1),)),
        facts=("ThrottlingException", "orders-sync-errors"),
        causes=("throttl",),
        answer="orders-sync is throttled by DynamoDB (ThrottlingException) and orders-sync-errors is firing.",
    ),
    Scenario(
        "bad-deploy", "ca-central-1", "why is cart throwing errors?",
        Seed(lines=(_ok("cart"), Lines("/ecs/cart", "INFO  [deploy] rollout started version=v2.4.0", 14, 13.5, 60),
                    Lines("/ecs/cart", "ERROR [cart] KeyError: 'currency' in price_cart rid={n}", 12, 0.5, 30))),
        facts=("version=v2.4.0", "KeyError"),
        causes=("v2.4.0",),
        answer="cart errors (KeyError: 'currency') began 2 minutes after the v2.4.0 rollout in /ecs/cart.",
    ),
    Scenario(
        "expired-certificate", "sa-east-1", "why do calls to the partner gateway fail?",
        Seed(lines=(Lines("/ecs/partner-gateway", "ERROR ssl.SSLCertVerificationError: certificate verify failed: "
                          "certificate has expired (partner-api.example.com) rid={n}", 30, 0.5, 60),)),
        facts=("certificate has expired",),
        causes=("certificate",),
        answer="The partner gateway fails TLS: partner-api.example.com's certificate expired (/ecs/partner-gateway).",
    ),
    Scenario(
        "all-quiet", "ap-northeast-2", "is anything broken right now?",
        Seed(hosts=(Host("web-9"),), lines=(_ok("web"),),
             alarms=(AlarmSeed("web-latency", "AWS/EC2", "CPUUtilization", ("InstanceId", "@web-9"), 90,
                               firing=False),)),
        facts=("Alarms firing now (0)",),
        causes=(),
        answer="Nothing is alarming and web-9 ({web-9}) is running.",
    ),
)
