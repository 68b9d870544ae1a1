"""Streamed model output: no piece sent to Slack carries a secret, and the pieces add up to the scrubbed text."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.text.stream_redact import DEFAULT_WINDOW, StreamScrubber, default_scrub
from tests.secret_corpus import ALNUM, B64, SecretCase, benign_lines, build_corpus, jwt, password, pem, rand

CORPUS = build_corpus()
BENIGN = benign_lines(n=60)
PROSE = ("The instance i-0abc1234 is running out of memory because the worker pool keeps growing after "
         "each deploy. Restart the service, then check the CloudWatch alarm and the last hour of logs. ")


def stream(text: str, cuts: Sequence[int], window: int = DEFAULT_WINDOW) -> list[str]:
    """Feed ``text`` split at ``cuts``; every piece the scrubber hands out, then the final flush."""
    scrubber = StreamScrubber(window=window)
    bounds = [0, *sorted(set(cuts)), len(text)]
    pieces = [scrubber.feed(text[a:b]) for a, b in itertools.pairwise(bounds)]
    return [*pieces, scrubber.finish()]


def leaks(secret: str, pieces: Sequence[str], size: int = 12) -> list[str]:
    """Runs of ``size`` secret characters in any piece (a piece may carry part of a secret)."""
    windows = {secret[i:i + size] for i in range(max(1, len(secret) - size + 1))}
    return sorted(w for w in windows for piece in pieces if w in piece)


def _secret_lines() -> list[tuple[str, str, str]]:
    g = random.Random(42)
    aws = rand(g, ALNUM + "+/", 40)
    ghp = "ghp_" + rand(g, ALNUM, 36)
    token = jwt(g)
    key = pem(g, "RSA PRIVATE KEY")
    pw = password(g)
    return [
        ("aws_secret_access_key", aws, f"run: export AWS_SECRET_ACCESS_KEY={aws} and retry"),
        ("github_token", ghp, f"the runner used {ghp} to clone"),
        ("jwt", token, f"Authorization: Bearer {token}"),
        ("private_key", key.split("\n", 1)[1].rsplit("\n", 1)[0], f"the key in the env was:\n{key}\nrotate it"),
        ("password_assignment", pw, f"connect with password={pw} user=app"),
    ]


SECRET_LINES = _secret_lines()


@pytest.mark.parametrize(("kind", "secret", "line"), SECRET_LINES, ids=[k for k, _, _ in SECRET_LINES])
def test_a_secret_split_at_every_position_never_leaves_in_any_piece(kind: str, secret: str, line: str) -> None:
    text = PROSE + PROSE + line + " " + PROSE
    full = default_scrub(text)
    assert secret not in full and f"[REDACTED:{kind}]" in full
    start = text.index(line)
    for cut in range(start, start + len(line) + 1):
        pieces = stream(text, [cut])
        assert leaks(secret, pieces) == [], f"split at {cut - start}"
        assert "".join(pieces) == full


@pytest.mark.parametrize(("kind", "secret", "line"), SECRET_LINES, ids=[k for k, _, _ in SECRET_LINES])
def test_a_secret_streamed_one_character_at_a_time_never_leaves(kind: str, secret: str, line: str) -> None:
    text = PROSE + line + " " + PROSE + PROSE
    pieces = stream(text, range(1, len(text)))
    assert leaks(secret, pieces) == []
    assert "".join(pieces) == default_scrub(text)
    assert sum(len(p) for p in pieces[:-1]) > 0  # the prose before it was not held back


def test_ordinary_prose_is_sent_promptly() -> None:
    text = (PROSE * 6)[:1000]
    scrubber = StreamScrubber()
    sent = sum(len(scrubber.feed(text[i:i + 7])) for i in range(0, len(text), 7))
    assert sent >= 700
    assert scrubber.held <= 300
    assert sent + len(scrubber.finish()) == len(text)


def test_a_private_key_is_held_until_its_end_line_and_then_sent_redacted() -> None:
    key = pem(random.Random(5), "OPENSSH PRIVATE KEY")
    head, body = key.split("\n", 1)
    body_lines = body.splitlines()
    scrubber = StreamScrubber()
    before = scrubber.feed(PROSE + PROSE + head + "\n")
    during = "".join(scrubber.feed(line + "\n") for line in body_lines[:-1])  # everything but the END line
    assert "BEGIN" not in before + during  # the prose before it goes out; nothing of the block does
    assert leaks(body.replace("\n", ""), [before, during], size=16) == []
    assert scrubber.held > len(body) - 100
    after = scrubber.feed(body_lines[-1] + "\n" + PROSE + PROSE) + scrubber.finish()
    assert leaks(body.replace("\n", ""), [before, during, after], size=16) == []
    assert "[REDACTED:private_key]" in after


def test_a_slack_link_or_mention_is_never_split_between_pieces() -> None:
    text = " ".join(f"{PROSE} see <https://console.aws.amazon.com/ec2/home#Instances|the {i}th instance list> "
                    f"and ask <@U0{i}ABC> or <!subteam^S0{i}|oncall team>" for i in range(4))
    pieces = stream(text, range(1, len(text), 3))
    for piece in pieces:
        assert piece.count("<") == piece.count(">"), piece
    assert "".join(pieces) == default_scrub(text)


def test_any_scrub_function_can_be_plugged_in() -> None:
    text = PROSE * 4
    pieces = stream(text, range(5, len(text), 11), window=40)
    assert "".join(pieces) == text
    shout = StreamScrubber(str.upper, window=40)
    out = "".join(shout.feed(text[i:i + 9]) for i in range(0, len(text), 9)) + shout.finish()
    assert out == text.upper()


def test_feeding_after_finish_is_an_error() -> None:
    scrubber = StreamScrubber()
    scrubber.feed("hello")
    assert scrubber.finish() == "hello"
    assert scrubber.finish() == ""
    with pytest.raises(RuntimeError):
        scrubber.feed("more")


# --- property: random texts, random chunkings -----------------------------------------------

_SECRET_CASES = [c for c in CORPUS if len(c.line) < 600]
_PIECES = st.one_of(
    st.sampled_from(PROSE.split(" ")),
    st.sampled_from([" ", "  ", "\n", "\t", "\r\n", ". ", ", ", "\n\n"]),
    st.sampled_from(['"', "'", "<", ">", "`", "&", "=", ": ", "password=", "token: ", "Bearer ", "--password ",
                     "-----BEGIN", "-----END", "\x1b[31m", "\x1b]0;", "\x07", "@channel", "<!here>", "mysql -u root",
                     " -p", "AKIAABCDEFGHIJKLMNOP", rand(random.Random(3), B64, 40)]),
    st.sampled_from(BENIGN),
    st.sampled_from(_SECRET_CASES).map(lambda c: c.line),
)


@st.composite
def texts_and_cuts(draw: st.DrawFn) -> tuple[str, list[int]]:
    text = "".join(draw(st.lists(_PIECES, min_size=1, max_size=60)))
    cuts = draw(st.lists(st.integers(min_value=1, max_value=max(1, len(text) - 1)), max_size=40))
    return text, cuts


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts_and_cuts())
def test_pieces_always_add_up_to_the_scrubbed_text_and_carry_no_secret(case: tuple[str, list[int]]) -> None:
    text, cuts = case
    pieces = stream(text, cuts)
    full = default_scrub(text)
    assert "".join(pieces) == full
    hidden: list[SecretCase] = [c for c in _SECRET_CASES if c.secret in text and c.secret not in full]
    for secret_case in hidden:
        assert not any(secret_case.secret in piece for piece in pieces)


@pytest.mark.parametrize(("kind", "secret", "line"), SECRET_LINES, ids=[k for k, _, _ in SECRET_LINES])
def test_the_slack_stream_scrub_keeps_secrets_mentions_and_links_out_of_every_piece(kind: str, secret: str,
                                                                                     line: str) -> None:
    """What bot.slack.stream plugs in: redaction plus Slack escaping plus markdown-link neutralising."""
    from bot.slack.stream import scrub_for_slack

    text = (PROSE + "Ping <!channel> and @here, see [the runbook](https://evil.example/x) & retry. " + line
            + " " + PROSE)
    scrubber = StreamScrubber(scrub_for_slack)
    pieces = [scrubber.feed(text[i:i + 5]) for i in range(0, len(text), 5)]
    pieces.append(scrubber.finish())
    joined = "".join(pieces)
    assert joined == scrub_for_slack(text) and f"[REDACTED:{kind}]" in joined
    assert leaks(secret, pieces) == []
    assert "<" not in joined and "](" not in joined and "@here" not in joined
    assert "&lt;!channel&gt;" in joined and "[the runbook]" in joined and " &amp; retry" in joined
