"""Secrets never leave the process: every generated secret is redacted, ordinary log text is not."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.text.redact import KINDS, Redactor, redact, redact_with_counts, squeeze_blanks
from tests.secret_corpus import ALNUM, HEX, SecretCase, benign_lines, build_corpus, fake_uuid, hard_negatives, rand

CORPUS = build_corpus()
BENIGN = benign_lines(n=400)
WINDOW = 12  # no run of this many secret characters may survive


def _surviving_windows(case: SecretCase, output: str) -> list[str]:
    """Pieces of the secret still in the output that were not also elsewhere in the original line."""
    rest = case.line.replace(case.secret, "")
    size = min(WINDOW, len(case.secret))
    windows = {case.secret[i:i + size] for i in range(len(case.secret) - size + 1)}
    return sorted(w for w in windows if w in output and w not in rest)


def test_corpus_exercises_every_kind_and_at_least_45() -> None:
    kinds = {case.kind for case in CORPUS}
    assert len(kinds) >= 45
    assert kinds == set(KINDS), "every rule kind needs generated secrets, and no unknown kinds"


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c.kind}-{i}" for i, c in enumerate(CORPUS)])
def test_every_generated_secret_is_redacted_and_counted_by_kind(case: SecretCase) -> None:
    result = redact_with_counts(case.line)
    assert case.secret not in result.text
    assert _surviving_windows(case, result.text) == []
    assert set(result.counts) == {case.kind, *case.also}
    assert f"[REDACTED:{case.kind}]" in result.text


def test_a_whole_log_blob_loses_its_secrets_but_keeps_every_ordinary_line() -> None:
    rng = random.Random(3)
    lines = BENIGN[:150] + [c.line for c in CORPUS]
    rng.shuffle(lines)
    out = redact("\n".join(lines))
    assert all(case.secret not in out for case in CORPUS)
    kept = set(out.split("\n"))
    assert all(line in kept for line in BENIGN[:150] if "\n" not in line)


@pytest.mark.parametrize("line", BENIGN, ids=[f"benign-{i}" for i in range(len(BENIGN))])
def test_ordinary_log_lines_come_out_unchanged(line: str) -> None:
    result = redact_with_counts(line)
    assert result.text == line
    assert dict(result.counts) == {}


@pytest.mark.parametrize("line", hard_negatives())
def test_prose_ids_digests_and_emails_near_the_new_rules_are_not_secrets(line: str) -> None:
    assert redact(line) == line


@pytest.mark.parametrize("line", [
    "request_id=0f8fad5b-d9cb-469f-a165-70867728950e x-amz-request-id: 4442587FB7D0A2F9",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b digest sha256:" + "ab" * 32,
    "i-0abc1234def567890 ami-0c55b159cbfd1f0aa vol-049df61146c4d7901 sg-0123456789abcdef0",
    "arn:aws:iam::123456789012:role/checkout arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC123",
    "10.0.3.41 192.168.0.1:8080 [2001:db8::1]:443 2024-05-01T12:00:00.123456+02:00 took 1.5s p99=812ms",
    "/aws/lambda/token-rotator /ecs/api-prod 42 3.14159 -17 1e6 0xdeadbeef",
    "The quick brown fox; password reset requested; token expired; secret rotation done",
    "password=${DB_PASSWORD} token: null secret=\"****\" api_key=<your-key> PWD=/home/ubuntu",
    "GET /api/v1/orders/12345?limit=50&cursor=abc HTTP/1.1 200 0.012",
])
def test_ids_hashes_arns_ips_times_and_placeholders_are_not_secrets(line: str) -> None:
    assert redact(line) == line


def test_key_names_stay_readable_and_json_stays_valid() -> None:
    line = json.dumps({"user": "app", "db_password": "pa55-W0rd!", "api_key": rand(random.Random(1), ALNUM, 32)})
    out = json.loads(redact(line))
    assert out == {"user": "app", "db_password": "[REDACTED:password_assignment]",
                   "api_key": "[REDACTED:secret_assignment]"}


def test_specific_kind_wins_over_generic_key_value() -> None:
    token = "ghp_" + rand(random.Random(2), ALNUM, 36)
    result = redact_with_counts(f"GITHUB_TOKEN={token} Authorization: Bearer {token}")
    assert dict(result.counts) == {"github_token": 2}
    assert result.text == "GITHUB_TOKEN=[REDACTED:github_token] Authorization: Bearer [REDACTED:github_token]"


def test_secret_inside_a_rejected_value_is_still_found() -> None:
    key_id = "AKIA" + rand(random.Random(4), "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    out = redact(f"password=${{{key_id}}}")  # the password value is a placeholder, the key id is not
    assert key_id not in out
    assert "[REDACTED:aws_access_key_id]" in out


def test_positions_stay_right_after_characters_whose_lowercase_is_longer() -> None:
    assert redact("İİ user=İ password=Zq81-xx!") == "İİ user=İ password=[REDACTED:password_assignment]"


def test_truncated_private_key_body_is_redacted_and_next_line_kept() -> None:
    body = "\n".join(rand(random.Random(5), ALNUM + "+/", 64) for _ in range(4))
    out = redact(f"-----BEGIN RSA PRIVATE KEY-----\n{body}\nWARN log cut at 4096 bytes")
    assert all(chunk not in out for chunk in body.split("\n"))
    assert out.endswith("\nWARN log cut at 4096 bytes")


def test_hook_gets_one_call_per_kind_with_the_count() -> None:
    calls: list[tuple[str, int]] = []
    rng = random.Random(6)
    ids = ["AKIA" + rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16) for _ in range(2)]
    text = f"{ids[0]} and {ids[1]} with password=hunter2 id={fake_uuid(rng)} sha={rand(rng, HEX, 40)}"
    result = Redactor(on_redact=lambda kind, n: calls.append((kind, n))).redact(text)
    assert sorted(calls) == [("aws_access_key_id", 2), ("password_assignment", 1)]
    assert dict(result.counts) == dict(calls)


def test_failing_hook_does_not_lose_the_redaction() -> None:
    def boom(_kind: str, _n: int) -> None:
        raise RuntimeError("metrics down")

    assert Redactor(on_redact=boom).redact("password=hunter2").text == "password=[REDACTED:password_assignment]"


def test_kinds_are_a_fixed_small_set_of_snake_case_names() -> None:
    assert Redactor().kinds == KINDS
    assert 45 <= len(KINDS) <= 80
    assert all(k.replace("_", "").isalnum() and k == k.lower() for k in KINDS)


_FRAGMENTS = [c.line for c in CORPUS[::4]] + [
    "password=", "token: ", '"secret": "', "://u:", "@", "Bearer ", "Basic ", "AccountKey=", "&sig=",
    "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "[REDACTED:jwt]", "[REDACTED:", "AKIA", "sk-",
    "--password ", "-u a:", "\n", " ", "=", '"', "'", "\\n", "\\\"", ",", ";", "İ",
]
_MIXED = st.lists(st.one_of(st.text(max_size=16), st.sampled_from(_FRAGMENTS),
                            st.text(alphabet=ALNUM + "+/=_-.~", min_size=1, max_size=48)), max_size=10).map("".join)
_BENIGN_TEXT = st.lists(st.sampled_from(BENIGN), min_size=1, max_size=6).map("\n".join)
_PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(st.text())
def test_never_crashes_and_reports_only_known_kinds(text: str) -> None:
    result = redact_with_counts(text)
    assert set(result.counts) <= set(KINDS)
    if not result.counts:
        assert result.text == squeeze_blanks(text)  # nothing found: nothing changed but overlong blank runs


@_PROPERTY
@given(_MIXED)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@_PROPERTY
@given(_BENIGN_TEXT)
def test_non_secret_text_is_never_changed_or_lengthened(text: str) -> None:
    assert redact(text) == text


def test_every_rule_reaches_back_a_bounded_distance_and_an_unbounded_one_is_refused() -> None:
    import re

    from bot.text.redact_reach import MAX_LOOKBACK, max_lookback
    from bot.text.redact_rules import RULES, Rule

    assert 0 < MAX_LOOKBACK == max(max_lookback(rule) for rule in RULES) <= 1024  # the stream context default
    loose = Rule("password_assignment", re.compile(r"password[ \t]*[=:][ \t]*(?P<v>\S+)"), ("password",),
                 value_groups=("v",))
    with pytest.raises(ValueError, match="without bound"):
        max_lookback(loose)


def test_a_value_1100_blanks_after_its_key_is_still_found() -> None:
    out = redact("password:" + " " * 1100 + "Zq81-hunter2 ok\tsecret=\t\t" + "\t" * 60 + "Zq81xKp90aaBBccDD")
    assert "hunter2" not in out and "Zq81xKp9" not in out
