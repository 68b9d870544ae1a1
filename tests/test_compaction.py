"""Log compaction, seen from the on-call engineer: what survives, what it costs, where it came from."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pytest

from bot.cli_compact import configure_parser, run
from bot.text.compaction import LogLine, compact, is_error_line
from bot.text.tokens import count_tokens

TRACE = [
    "Traceback (most recent call last):",
    '  File "/app/orders/handler.py", line 88, in process',
    "    resp = client.charge(order)",
    '  File "/app/payments/client.py", line 41, in charge',
    "    raise TimeoutError('payment gateway timed out')",
    "TimeoutError: payment gateway timed out after 30s",
]
RARE_DISK = "WARN  [monitor] host.disk - volume /dev/xvda1 at 91% of capacity"
RARE_LEADER = "INFO  [raft-7] cluster.raft - node i-0abc12 became leader for term 44"


def _ts(second: int) -> str:
    return f"2024-05-01T12:{second // 60 % 60:02d}:{second % 60:02d}.{second % 1000:03d}Z"


def _access(second: int, status: int, rnd: random.Random) -> str:
    path = rnd.choice(["/api/orders/", "/api/users/", "/api/cart/"]) + str(rnd.randrange(10_000))
    return (f"10.0.{rnd.randrange(8)}.{rnd.randrange(250)} - - [01/May/2024:12:{second // 60 % 60:02d}:"
            f'{second % 60:02d} +0000] "GET {path} HTTP/1.1" {status} {rnd.randrange(90, 9000)} "-" "curl/8.4"')


def incident_log(seed: int = 7) -> list[str]:
    """A 3,000-line service log: steady traffic, a 502 burst, one traceback, two rare events."""
    rnd = random.Random(seed)
    app = [
        "INFO  [http-{n}] api.orders - created order {id} for customer {c} in {ms}ms",
        "INFO  [http-{n}] api.cart - cart {id} updated, {c} items",
        "DEBUG [pool-{n}] db.pool - borrowed connection {id} after {ms}ms",
        "INFO  [sched-{n}] jobs.reports - report {id} queued for tenant {c}",
    ]
    lines: list[str] = []
    for second in range(3000):
        if second == 1500:
            lines.append(f"{_ts(second)} ERROR [http-3] api.orders - failed to charge order 4411")
            lines.extend(TRACE)
        elif second == 700:
            lines.append(f"{_ts(second)} {RARE_DISK}")
        elif second == 2600:
            lines.append(f"{_ts(second)} {RARE_LEADER}")
        elif 1000 <= second < 1200 and second % 2 == 0:
            lines.append(_access(second, 502, rnd))
        elif second % 3 == 0:
            lines.append(_access(second, 200, rnd))
        else:
            template = rnd.choice(app)
            lines.append(f"{_ts(second)} " + template.format(
                n=rnd.randrange(16), id=rnd.randrange(10**6), c=rnd.randrange(500), ms=rnd.randrange(900)))
    return lines


@pytest.fixture(scope="module")
def log() -> list[str]:
    return incident_log()


def test_errors_and_rare_events_survive_a_tight_view(log: list[str]) -> None:
    view = compact(log, budget_tokens=600, max_groups=8)
    text = view.render()
    assert '" 502 ' in text
    assert "TimeoutError: payment gateway timed out after 30s" in text
    assert "volume /dev/xvda1 at 91%" in text
    assert "became leader for term 44" in text
    burst = next(g for g in view.groups if '" 502 ' in g.example)
    assert burst.count == 100 and burst.is_error
    ok = [g for g in view.groups if '" 200 ' in g.example]
    assert len(ok) == 1 and not ok[0].is_error, "the 200s are the bulk of the log, apart from the 502s"
    assert ok[0].count == max(g.count for g in view.groups)


def test_a_tiny_budget_keeps_the_errors_shortened_rather_than_dropped(log: list[str]) -> None:
    view = compact(log, budget_tokens=150, max_groups=100)
    assert [g.is_error for g in view.groups] == [True, True]
    trace = view.groups[1]
    assert trace.example.startswith(log[trace.example_line - 1][:40])
    assert trace.example.endswith("TimeoutError: payment gateway timed out after 30s")
    assert count_tokens(view.render()) <= 150


def test_every_line_is_accounted_for(log: list[str]) -> None:
    for budget, groups in ((400, 3), (3000, 50)):
        view = compact(log, budget_tokens=budget, max_groups=groups)
        shown = sum(g.count for g in view.groups)
        assert view.total_lines == len(log)
        assert shown + view.omitted_lines + view.folded_lines == len(log)
        assert view.folded_lines == len(TRACE)
        assert len(view.groups) + view.omitted_groups >= view.total_groups


@pytest.mark.parametrize("budget", [150, 400, 1000, 3000])
def test_rendered_view_fits_the_token_budget(log: list[str], budget: int) -> None:
    view = compact(log, budget_tokens=budget, max_groups=100)
    rendered = view.render()
    assert count_tokens(rendered) <= budget
    assert view.tokens == count_tokens(rendered)
    assert f"{len(log)} log lines" in rendered.splitlines()[0]


def test_a_bigger_budget_shows_more(log: list[str]) -> None:
    small = compact(log, budget_tokens=300, max_groups=100)
    large = compact(log, budget_tokens=3000, max_groups=100)
    assert len(large.groups) > len(small.groups)
    assert small.omitted_groups > 0 and f"{small.omitted_groups} templates omitted" in small.render()


def test_examples_point_at_their_real_line(log: list[str]) -> None:
    view = compact(log, budget_tokens=3000, max_groups=50, max_line_chars=10_000)
    for group in view.groups:
        assert group.example.split("\n")[0] == log[group.example_line - 1]
    trace = next(g for g in view.groups if "TimeoutError" in g.example)
    assert log[trace.example_line - 1].endswith("failed to charge order 4411")
    assert trace.example.split("\n")[1:] == TRACE


def test_header_is_ignored_when_grouping() -> None:
    lines = [f"Jun {d:2d} 0{d % 10}:15:0{d % 10} host-{d % 3} sshd[{1000 + d}]: session opened for user deploy"
             for d in range(1, 29)]
    view = compact(lines, default_year=2024)
    assert [g.count for g in view.groups] == [28]
    assert view.groups[0].first_ms is not None and view.groups[0].last_ms is not None
    assert view.groups[0].last_ms > view.groups[0].first_ms


def test_same_input_gives_the_same_view(log: list[str]) -> None:
    first = compact(log, budget_tokens=800, max_groups=10)
    again = compact(iter(log), budget_tokens=800, max_groups=10)
    assert first == again


def test_long_lines_are_capped_keeping_both_ends() -> None:
    long_line = "2024-05-01T12:00:00Z ERROR api - payload " + "x" * 5000 + " END-OF-LINE"
    view = compact([long_line, "2024-05-01T12:00:01Z INFO api - ok"], max_line_chars=300)
    example = next(g.example for g in view.groups if g.is_error)
    assert len(example) <= 300
    assert example.startswith("2024-05-01T12:00:00Z ERROR api") and example.endswith("END-OF-LINE")
    assert all(len(line) < 400 for line in view.render().splitlines())


def test_log_lines_from_cloudwatch_keep_their_times_and_streams() -> None:
    events = [LogLine(f"GET /health 200 {i}ms", 1_714_564_800_000 + i * 1000, "web/1") for i in range(50)]
    events.append(LogLine("upstream connect error: connection refused", 1_714_564_900_000, "web/2"))
    view = compact(events)
    health = next(g for g in view.groups if "/health" in g.example)
    assert (health.count, health.first_ms, health.last_ms) == (50, 1_714_564_800_000, 1_714_564_849_000)
    refused = next(g for g in view.groups if g.is_error)
    assert refused.source == "web/2" and refused.example_line == 51
    assert "×50 [12:00:00–12:00:49] GET /health 200 0ms" in view.render()


def test_java_traces_fold_into_their_error_and_are_told_apart_by_root_cause() -> None:
    def trace(second: int, cause: str) -> list[str]:
        return [
            f"2024-05-01 12:00:{second:02d},000 ERROR [exec-{second}] c.a.OrderController - request failed",
            "java.lang.IllegalStateException: could not reserve stock",
            "\tat com.acme.Stock.reserve(Stock.java:42)",
            "\tat com.acme.OrderController.create(OrderController.java:88)",
            f"Caused by: {cause}",
            "\t... 12 more",
        ]

    lines = [f"2024-05-01 12:00:{s:02d},000 INFO  [exec-1] c.a.OrderController - created order {s}" for s in range(20)]
    lines += trace(21, "java.net.SocketTimeoutException: Read timed out")
    lines += trace(22, "java.net.SocketTimeoutException: Read timed out")
    lines += trace(23, "org.postgresql.util.PSQLException: FATAL: too many connections")
    view = compact(lines)
    assert view.folded_lines == 15 and view.total_lines == len(lines)
    failures = sorted((g for g in view.groups if g.is_error), key=lambda g: g.example_line)
    assert [(g.count, g.example_line) for g in failures] == [(2, 21), (1, 33)]
    assert "too many connections" in failures[1].example and "Read timed out" in failures[0].example


def test_an_indented_log_is_not_mistaken_for_one_long_stack_trace() -> None:
    lines = [f"  2024-05-01T12:00:{s:02d}Z INFO svc - tick {s}" for s in range(30)]
    view = compact(lines)
    assert view.folded_lines == 0 and [g.count for g in view.groups] == [30]


def test_a_multiline_cloudwatch_event_is_one_event() -> None:
    message = "2024-05-01T12:00:00Z ERROR worker - job failed\n" + "\n".join(TRACE)
    view = compact([LogLine(message, 1_714_564_800_000), LogLine("INFO worker - job ok", 1_714_564_801_000)])
    assert view.total_lines == 2 and sum(g.count for g in view.groups) == 2
    assert any("TimeoutError" in g.template for g in view.groups)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2024-05-01 12:00:00 ERROR db - query failed", True),
        ('1.2.3.4 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 503 12 "-" "x"', True),
        ('1.2.3.4 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "x"', False),
        ("dial tcp 10.0.0.5:5432: connect: connection refused", True),
        ("panic: runtime error: invalid memory address", True),
        ("java.lang.NullPointerException: order is null", True),
        ("request to billing timed out after 30s", True),
        ("client configured with timeout=30s", False),
        ("INFO request served in 12ms", False),
        ('{"level":"info","status":504,"path":"/pay"}', True),
    ],
)
def test_is_error_line(line: str, expected: bool) -> None:
    assert is_error_line(line) is expected


def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    return parser.parse_args(argv)


def test_cli_json_gives_one_object_per_group(
    log: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "service.log"
    path.write_text("\r\n".join(log) + "\r\n", encoding="utf-8")
    assert run(_cli(["--json", "--max-groups", "12", "--budget-tokens", "2000", str(path)])) == 0
    groups = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert 0 < len(groups) <= 12
    for group in groups:
        assert {"template", "count", "example", "example_line"} <= group.keys()
        assert group["example"].split("\n")[0] == log[group["example_line"] - 1]
    assert any(g["is_error"] and '" 502 ' in g["example"] for g in groups)


def test_cli_text_output_and_a_missing_file(
    log: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "service.log"
    path.write_text("\n".join(log), encoding="utf-8")
    assert run(_cli(["--budget-tokens", "500", str(path)])) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{len(log)} log lines") and count_tokens(out.rstrip("\n")) <= 500
    assert run(_cli([str(tmp_path / "missing.log")])) == 2
    assert "cannot read" in capsys.readouterr().err
