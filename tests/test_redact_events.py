"""Redaction over a run of log events: secrets spread over events are found, one message per event stays."""

from __future__ import annotations

import random

from bot.text.redact import Redactor
from bot.text.redact_events import redact_events
from tests.secret_corpus import ALNUM, benign_lines, pem, rand

KEY = pem(random.Random(21), "EC PRIVATE KEY").split("\n")
TOKEN = "ghp_" + rand(random.Random(22), ALNUM, 36)


def test_a_key_one_line_per_event_is_redacted_in_every_event_and_counted_once() -> None:
    counted: list[tuple[str, int]] = []
    redactor = Redactor(on_redact=lambda kind, n: counted.append((kind, n)))
    events = ["INFO starting", *KEY, "INFO listening on :8443"]
    out = redact_events(redactor, events)
    assert len(out) == len(events) and out[0] == events[0] and out[-1] == events[-1]
    assert all(o == "[REDACTED:private_key]" for o in out[1:-1])
    assert counted == [("private_key", 1)]


def test_a_read_that_starts_inside_a_key_still_hides_its_body() -> None:
    out = redact_events(Redactor(), ["INFO tail", *KEY[4:], "INFO after"])
    assert not [line for line in KEY[4:-1] if line in "\n".join(out)]
    assert out[0] == "INFO tail" and out[-1] == "INFO after"


def test_a_token_cut_between_two_events_is_redacted_on_both_sides() -> None:
    out = redact_events(Redactor(), [f"push failed with {TOKEN[:15]}", f"{TOKEN[15:]} (403)", "password=", "x9-Zq81"])
    assert out[:2] == ["push failed with [REDACTED:github_token]", "[REDACTED:github_token] (403)"]
    assert out[2:] == ["password=", "[REDACTED:password_assignment]"]


def test_events_of_different_streams_never_join() -> None:
    events = ["INFO tail", KEY[0], "INFO other container", *KEY[1:]]
    streams = ["a", "a", "b", *["a"] * (len(KEY) - 1)]
    out = redact_events(Redactor(), events, streams)
    assert out[2] == "INFO other container"
    assert not [line for line in KEY[1:-1] if line in "\n".join(out)]


def test_ordinary_events_come_out_unchanged() -> None:
    lines = [line for line in benign_lines(seed=3, n=300) if "\n" not in line]
    assert redact_events(Redactor(), lines) == lines


def test_a_token_cut_into_three_events_is_redacted_in_all_three() -> None:
    pieces = [f"token {TOKEN[:10]}", TOKEN[10:25], f"{TOKEN[25:]} done"]
    out = redact_events(Redactor(), pieces)
    assert not [p for p in (TOKEN[:10], TOKEN[10:25], TOKEN[25:]) if p in "".join(out)]
    assert out[0].startswith("token ") and out[2].endswith(" done")


def test_a_match_across_events_neither_hides_a_secret_in_the_next_event_nor_eats_a_new_record() -> None:
    events = ["Set-Cookie: sid=Zq81xKp90aaBB; Path=/; SameSite=Lax",
              "your temporary password is 'Jyxp**cr1TQ'",
              "user=app password=hunter2x",
              "2024-05-01T12:00:00Z INFO next request"]
    out = redact_events(Redactor(), events)
    assert "Jyxp**cr1TQ" not in out[1] and "password is" in out[1]
    assert "hunter2x" not in out[2] and out[3] == events[3]


def test_key_body_lines_alone_are_redacted_but_a_certificate_body_is_kept() -> None:
    cert = pem(random.Random(23), "CERTIFICATE").split("\n")
    events = ["INFO reading key", *KEY[2:-2], "INFO loaded cert:", *cert, "INFO done"]
    out = redact_events(Redactor(), events)
    assert not [line for line in KEY[2:-2] if line in "\n".join(out)]
    assert out[-len(cert) - 2:] == events[-len(cert) - 2:]
