"""Triage's pure parts: what a question names, which cited ids are invented, how causes are ranked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import Settings
from handlers.evidence import Finding, Moment
from handlers.triage.causes import likely_causes
from handlers.triage.citations import invented_ids
from handlers.triage.mentions import read_mentions

NOW = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def test_a_question_names_ids_aliases_groups_codes_and_a_time() -> None:
    s = Settings.from_values(log_aliases={"checkout": "/aws/lambda/checkout"})
    m = read_mentions("why is checkout returning 502s since 10:40 on i-0abc1234 and /ecs/api-prod?", s, NOW, 900)
    assert m.instance_ids == ("i-0abc1234",)
    assert m.groups == ("/ecs/api-prod", "/aws/lambda/checkout")
    assert m.http_codes == ("502",)
    assert m.since == NOW.replace(hour=10, minute=40) and m.window_s == 26 * 60  # 20 min + margin
    assert "checkout" in m.words and "why" not in m.words and "returning" not in m.words


def test_a_clock_time_still_ahead_today_means_yesterday() -> None:
    m = read_mentions("errors since 23:30", Settings.from_values(), NOW, 3600)
    assert m.since == NOW.replace(hour=23, minute=30) - timedelta(days=1)


def test_ids_the_evidence_never_showed_are_invented() -> None:
    answer = ("i-0abc1234def567890 and `orders-db-2` fail; see /aws/lambda/checkout and `api-prod-5xx-high`; "
              "run `/cloudops logs api` and check `ec2:DescribeInstances`.")
    seen = "api-prod-5xx-high [ALARM] … /aws/lambda/checkout …"
    assert invented_ids(answer, {"i-0aaaa1111bbbb2222"}, seen) == ["i-0abc1234def567890", "orders-db-2"]


def _logs(group: str, lines: tuple[str, ...], *moments: Moment) -> Finding:
    return Finding("logs", f"Logs {group}", lines, moments, (group,))


def test_a_change_just_before_the_first_error_outranks_a_later_breach() -> None:
    first = NOW - timedelta(minutes=20)
    findings = [
        _logs("/ecs/cart", ("ERROR KeyError: 'currency'",),
              Moment(first, "first_error", "/ecs/cart", "ERROR KeyError: 'currency'"),
              Moment(first - timedelta(minutes=3), "change", "/ecs/cart", "rollout started version=v2.4.0"),
              Moment(first - timedelta(hours=3), "change", "/ecs/cart", "rollout started version=v2.3.9")),
        Finding("metrics", "CPU", ("…",), (Moment(NOW - timedelta(minutes=2), "breach", "i-1", "CPU ≥ 90%"),)),
    ]
    causes = likely_causes(findings)
    assert causes[0].headline == "A change 3 min before the first error: rollout started version=v2.4.0"
    assert any("first error in /ecs/cart" in e for e in causes[0].evidence)  # the supporting lines come along
    assert not any("v2.3.9" in c.headline for c in causes)  # hours earlier: no suspect
    assert [c.headline for c in causes].index("Metric breach: CPU ≥ 90%") > 0


def test_a_recorded_write_with_its_author_outranks_a_log_line_that_looks_like_a_change() -> None:
    first = NOW - timedelta(minutes=10)
    deploy = "ecs UpdateService on api-prod by maria.k@example.com"
    findings = [
        _logs("/ecs/api-prod", ("ERROR 502 Bad Gateway",),
              Moment(first, "first_error", "/ecs/api-prod", "ERROR 502 Bad Gateway"),
              Moment(first - timedelta(minutes=1), "change", "/ecs/api-prod", "config reload done")),
        Finding("changes", "Changes before the firing alarms' breaches (1), nearest first", ("…",),
                (Moment(first - timedelta(minutes=4), "change", "api-prod", deploy),)),
    ]
    causes = likely_causes(findings)
    assert causes[0].headline == f"A change 4 min before the first error: {deploy}"
    assert causes[1].headline == "A change 1 min before the first error: config reload done"


def test_without_a_first_error_a_change_is_ranked_against_the_alarm_it_preceded() -> None:
    fired = NOW - timedelta(minutes=5)
    findings = [
        Finding("alarms", "Alarms firing now (1)", ("…",), (Moment(fired, "alarm", "payments-5xx", "fired"),)),
        Finding("changes", "Changes", ("…",),
                (Moment(fired - timedelta(minutes=4), "change", "payments", "ecs UpdateService by alice"),
                 Moment(fired - timedelta(hours=3), "change", "payments", "ecs UpdateService by bob"),
                 Moment(fired + timedelta(minutes=2), "change", "payments", "ecs UpdateService by carol"))),
    ]
    headlines = [c.headline for c in likely_causes(findings)]
    assert headlines == ["A change 4 min before payments-5xx breached: ecs UpdateService by alice"]


def test_an_error_signature_names_the_dependency_it_waits_for() -> None:
    line = 'ERROR could not connect to server: Connection timed out; host "orders-db.internal" port 5432'
    causes = likely_causes([_logs("/aws/lambda/checkout", (line,))])
    assert causes[0].headline == "A dependency is not answering: orders-db.internal (in /aws/lambda/checkout)"
    assert causes[0].evidence == (line,)


def test_a_url_path_in_a_question_is_not_read_as_a_log_group() -> None:
    from handlers.triage.resolve import Inventory, resolve

    class _Svc:  # resolve reads only the settings
        settings = Settings.from_values()

    m = read_mentions("why does POST /api/cart fail in /ecs/cart?", _Svc.settings, NOW, 3600)
    assert m.groups == ("/api/cart", "/ecs/cart")
    got = resolve(m, Inventory(groups=["/ecs/cart", "/ecs/web"]), _Svc())  # type: ignore[arg-type]
    assert got.groups == ("/ecs/cart",)
