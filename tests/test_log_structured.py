"""Modern log shapes inside compaction and the reader: structured lines, severity per line, multi-line
events, rare notable lines, and reading a busy window newest-first."""

from __future__ import annotations

import json
import random
import time

import boto3
import pytest

from bot.aws.logs import fetch_events
from bot.aws.records import LogEvent
from bot.aws.session import AwsClients
from bot.config import Settings
from bot.text.compaction import LogLine, compact
from bot.text.log_event import EventReader, bound_event, join_continuations
from bot.text.log_lines import ERROR, NORMAL, WARNING
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident


def _view(lines: list[str], budget_tokens: int, max_groups: int) -> str:
    return compact(lines, budget_tokens=budget_tokens, max_groups=max_groups).render()


def test_json_lines_group_by_message_whatever_the_key_order_and_ids() -> None:
    rnd = random.Random(3)
    lines = []
    for i in range(600):
        obj = {"level": "info", "msg": rnd.choice(["order created", "cart updated", "user signed in"]),
               "order_id": f"o-{i}", "trace": f"{rnd.getrandbits(64):016x}", "ms": rnd.randrange(900)}
        items = list(obj.items())
        rnd.shuffle(items)
        lines.append(json.dumps(dict(items), separators=(",", ":")))
    view = compact(lines, max_groups=20)
    assert sorted(g.count for g in view.groups) == sorted(
        sum(1 for line in lines if f'"msg":"{m}"' in line) for m in ("order created", "cart updated", "user signed in"))
    for group in view.groups:  # rendered with the level and message first
        assert group.example.startswith("level=info msg=")


def test_error_lines_never_hide_in_an_info_group() -> None:
    lines = [json.dumps({"msg": "charge processed", "level": "info", "id": i}) for i in range(300)]
    lines[100] = json.dumps({"msg": "charge processed", "level": "error", "id": 100})
    lines[200] = json.dumps({"id": 200, "level": 50, "msg": "charge processed"})  # pino error
    lines[250] = json.dumps({"id": 250, "level": "info", "msg": "charge processed", "statusCode": 503})
    view = compact(lines)
    errors = [g for g in view.groups if g.is_error]
    assert sum(g.count for g in errors) == 3
    assert sum(g.count for g in view.groups if not g.is_error) == 297


@pytest.mark.parametrize(("line", "severity"), [
    ('{"level":60,"msg":"db down"}', ERROR),
    ('{"level":40,"msg":"slow query"}', WARNING),
    ('{"level":30,"msg":"ok"}', NORMAL),
    ('{"statusCode":503,"path":"/pay"}', ERROR),
    ('{"statusCode":404,"path":"/pay"}', NORMAL),
    ('ts=2026-01-01T00:00:00Z level=error msg="sync failed" err="context deadline exceeded"', ERROR),
    ('level=info msg="synced" duration=3ms', NORMAL),
    ("REPORT RequestId: 1f\tDuration: 6010.00 ms\tBilled Duration: 6000 ms\tStatus: timeout", ERROR),
    ("2026-01-01T00:00:06.010Z 1f2e Task timed out after 6.01 seconds", ERROR),
    ('{"type":"platform.report","record":{"status":"error","errorType":"Runtime.OutOfMemory"}}', ERROR),
    ('{"level":"info","msg":"retrying","err":"EAI_AGAIN"}', WARNING),
])
def test_severity_is_read_from_the_fields(line: str, severity: int) -> None:
    assert EventReader(400).read(line).severity == severity


def test_the_error_field_shows_even_when_the_line_is_long() -> None:
    line = json.dumps({"level": "warning", "event": "charge declined", **{f"h{i}": "v" * 40 for i in range(30)},
                       "upstream_error": "card processor rejected api key"})
    view = compact([line] * 3, max_line_chars=300)
    assert "upstream_error=\"card processor rejected api key\"" in view.render()


def test_a_traceback_stored_as_one_event_keeps_its_exception_in_the_example() -> None:
    frames = "\n".join(f'  File "/app/step_{i}.py", line {i}, in run\n    step_{i + 1}()' for i in range(60))
    fatal = f"2026-01-01T00:00:00Z ERROR worker job failed\nTraceback (most recent call last):\n{frames}\n" \
            "psycopg2.OperationalError: could not connect to server"
    harmless = fatal.replace("psycopg2.OperationalError: could not connect to server", "KeyError: 'coupon'")
    events = [LogLine(harmless, 1_000 + i) for i in range(20)] + [LogLine(fatal, 5_000)]
    view = compact(events, max_line_chars=400)
    examples = [g.render_line() for g in view.groups]
    assert len(examples) == 2, "harmless and fatal traces are different groups"
    assert any("ERROR worker job failed" in e and "psycopg2.OperationalError: could not connect" in e
               for e in examples)
    assert all(len(g.example) <= 400 for g in view.groups)
    kept = bound_event(fatal, 1000)  # the cap applied before compaction keeps the head and the end too
    assert kept.startswith("2026-01-01T00:00:00Z ERROR worker job failed") and kept.endswith("connect to server")
    assert len(kept) <= 1000


def test_java_trace_in_a_json_field_shows_its_root_cause() -> None:
    stack = ("java.lang.IllegalStateException: no stock\n\tat a.B.c(B.java:1)\n"
             "Caused by: java.net.ConnectException: Connection refused\n\t... 9 more")
    line = json.dumps({"@timestamp": "x", "level": "ERROR", "logger_name": "c.a.Stock", "message": "reserve failed",
                       "stack_trace": stack})
    shown = EventReader(400).read(line).display
    assert shown.startswith('level=ERROR message="reserve failed"')
    assert "Caused by: java.net.ConnectException: Connection refused" in shown


def test_a_rare_deploy_line_is_kept_over_the_bulk_under_a_tight_budget() -> None:
    rnd = random.Random(5)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    lines = [f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z INFO api - {rnd.choice(words)} "
             f"{rnd.choice(words)} handled {i}" for i in range(3000)]
    for i, (a, b) in enumerate(zip(words, reversed(words), strict=True)):  # one-off routine lines, also rare
        lines[100 + i] = f"2026-01-01T00:01:{i:02d}Z INFO cache - warmed {a} shard for {b} tenants"
        lines[200 + i] = f"2026-01-01T00:03:{i:02d}Z INFO auth - {b} {a} session refreshed"
    lines[1500] = "2026-01-01T00:25:00Z INFO deployer - Deployment started: api v2.31.0 (image sha 9f8e7d)"
    text = _view(lines, budget_tokens=300, max_groups=6)
    assert "Deployment started: api v2.31.0" in text


def test_logfmt_lines_are_templated_by_message() -> None:
    lines = [f'ts=2026-01-01T00:00:{i % 60:02d}Z level=info caller=http.go:{90 + i % 9} msg="handled request" '
             f"status=200 duration={i % 80}ms req_id={i:012x}" for i in range(500)]
    lines.append('ts=2026-01-01T00:01:00Z level=error caller=store.go:120 msg="write failed" '
                 'err="context deadline exceeded"')
    view = compact(lines)
    assert [g.count for g in view.groups] == [500, 1]
    assert view.groups[1].is_error and 'err="context deadline exceeded"' in view.groups[1].example


def _events(endpoint: str, group: str, timestamps: list[int]) -> None:
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    for i in range(0, len(timestamps), 5000):
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
            {"timestamp": t, "message": f"event {n}"} for n, t in enumerate(timestamps[i:i + 5000], start=i)])


def test_a_busy_window_is_read_newest_first_and_says_what_it_covered(
        aws: tuple[MotoSandbox, SeededIncident]) -> None:
    now = int(time.time() * 1000)
    stamps = [now - 3_500_000 + i * 700 for i in range(5000)]  # one every 0.7 s over the last hour
    _events(aws[0].endpoint_url, "/test/busy-newest", stamps)
    clients = AwsClients(Settings.from_values(aws_max_attempts=2), region="us-east-1")
    got = fetch_events(clients, "/test/busy-newest", window_s=3600, max_events=1200, page_size=500, now_ms=now)
    assert [e.timestamp_ms for e in got.events] == stamps[-1200:], "exactly the newest events, in time order"
    assert got.capped and not got.complete
    assert got.window_end_ms == now and got.window_start_ms == now - 3_600_000
    assert got.read_from_ms <= stamps[-1200] and got.read_from_ms > stamps[-1201], "the span read is exact"
    assert 0 <= got.skipped_at_least <= 5000 - 1200
    assert got.pages <= 4 * 3 + 32

    scan = fetch_events(clients, "/test/busy-newest", window_s=3600, max_events=1200, page_size=500, now_ms=now,
                        scan_events=10_000, keep=lambda m: m.endswith("7"))
    older = [f"event {n}" for n in range(3800) if str(n).endswith("7")]
    assert [e.message for e in scan.events] == older + [f"event {n}" for n in range(3800, 5000)]
    assert (scan.scanned_events, scan.scanned_kept, scan.scanned_from_ms) == (3800, len(older), now - 3_600_000)
    assert scan.capped and scan.read_from_ms == got.read_from_ms and scan.skipped_at_least == 0
    short = fetch_events(clients, "/test/busy-newest", window_s=3600, max_events=1200, page_size=500, now_ms=now,
                         scan_events=1000, keep=lambda m: True)
    assert short.scanned_events == 1000 and short.scanned_from_ms > short.window_start_ms
    assert [e.message for e in short.events] == [f"event {n}" for n in range(2800, 5000)]

    whole = fetch_events(clients, "/test/busy-newest", window_s=3600, max_events=10_000, page_size=1000, now_ms=now)
    assert len(whole.events) == 5000 and whole.complete and whole.read_from_ms == whole.window_start_ms
    some = fetch_events(clients, "/test/busy-newest", terms=["event", "4999"], window_s=3600, max_events=100,
                        page_size=1000, now_ms=now)
    assert [e.message for e in some.events] == ["event 4999"]


def test_a_json_file_without_event_times_is_dated_by_its_time_fields() -> None:
    lines = [json.dumps({"time": 1_767_225_600_000 + i * 1000, "level": 30, "msg": "tick"}) for i in range(10)]
    lines.append(json.dumps({"timestamp": "2026-01-01T00:05:00.000Z", "level": "error", "msg": "stalled"}))
    view = compact(lines)
    assert [(g.first_ms, g.last_ms) for g in view.groups] == [
        (1_767_225_600_000, 1_767_225_609_000), (1_767_225_900_000, 1_767_225_900_000)]
    assert "×1 [00:05:00] level=error msg=stalled" in view.render()


def test_a_java_trace_interleaved_with_another_stream_stays_one_event() -> None:
    trace = ["2026-01-01T00:00:00Z ERROR 1 --- [main] c.a.Stock : Request failed",
             "org.springframework.dao.DataAccessResourceFailureException: unable to acquire JDBC Connection",
             *[f"\tat com.acme.S{i}.call(S{i}.java:{i})" for i in range(20)],
             "Caused by: java.net.ConnectException: Connection refused (Connection refused)", "\t... 58 more"]
    events = [LogEvent(1000 + i * 10 + 5, line, "task-a") for i, line in enumerate(trace)]
    events += [LogEvent(1000 + i * 10, f"2026-01-01T00:00:00Z INFO other - tick {i}", "task-b") for i in range(30)]
    events.sort(key=lambda e: e.timestamp_ms)
    joined = join_continuations(events, LogEvent)
    assert len(joined) == 31 and [e.message for e in joined if e.stream == "task-a"] == ["\n".join(trace)]
    view = compact([LogLine(e.message, e.timestamp_ms, e.stream) for e in joined])
    failed = next(g for g in view.groups if g.is_error)
    assert failed.example.startswith("2026-01-01T00:00:00Z ERROR 1 --- [main] c.a.Stock : Request failed")
    assert "Caused by: java.net.ConnectException: Connection refused" in failed.example
    assert all("tick" not in g.example or "\n" not in g.example for g in view.groups)
