"""Untrusted text is inert: no hidden characters, no Slack pings or links, no escaping code fences."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.mrkdwn import (
    BACKTICK_LOOKALIKE,
    code_block,
    escape,
    inline_code,
    is_safe_mrkdwn,
    neutralize_mentions_plain,
)
from bot.text.sanitize import ELLIPSIS, clamp_line, clean_text

FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
NASTY = st.sampled_from(["\x00", "\x1b", "\x1b[31m", "\x07", "\r", "\r\n", "\x85", "\x9b", "\u200b", "\u200d",
                         "\u202e", "\u2066", "\ufeff", "\u2060", "\t", "\n", "`", "```", "<", ">", "&", "<!channel>",
                         "<@U024BE7LH>", "&lt;", "@here", "é", "İ", "😀"])
TEXT = st.lists(st.one_of(st.text(max_size=12), NASTY), max_size=20).map("".join)
PROPERTY = settings(max_examples=150, deadline=None)


def unescape(s: str) -> str:
    """What Slack shows for escaped mrkdwn text."""
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- clean_text / clamp_line -------------------------------------------------------------

@PROPERTY
@given(TEXT, st.one_of(st.none(), st.integers(min_value=0, max_value=60)))
def test_clean_text_leaves_no_control_or_invisible_chars_and_respects_max(s: str, max_chars: int | None) -> None:
    out = clean_text(s, max_chars=max_chars)
    assert FORBIDDEN.search(out) is None
    assert "\r" not in out
    if max_chars is not None:
        assert len(out) <= max_chars
        full = clean_text(s)
        if len(full) > max_chars and max_chars:
            assert out == full[: max_chars - 1] + ELLIPSIS


@PROPERTY
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs")), max_size=80))
def test_clean_text_does_not_touch_ordinary_text(s: str) -> None:
    assert clean_text(s) == s


@pytest.mark.parametrize(("raw", "clean"), [
    ("\x1b[31mERROR\x1b[0m disk full", "ERROR disk full"),
    ("line1\r\nline2\rline3", "line1\nline2\nline3"),
    ("rm -rf /tmp/x\u202e\u2066 # harmless", "rm -rf /tmp/x # harmless"),
    ("to\u200bken\ufeff=\x00ok\x85", "token=ok"),
    ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
])
def test_clean_text_examples(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_cut_is_visible() -> None:
    assert clean_text("abcdefghij", max_chars=5) == "abcd…"
    assert clean_text("abc", max_chars=5) == "abc"


@PROPERTY
@given(st.text(max_size=400), st.integers(min_value=0, max_value=120))
def test_clamp_line_fits_and_says_how_much_was_dropped(s: str, max_chars: int) -> None:
    out = clamp_line(s, max_chars)
    assert len(out) <= max_chars
    if len(s) <= max_chars:
        assert out == s
        return
    marker = re.search(r"… \[\+(\d+) chars\]$", out)
    if marker:
        kept = out[: marker.start()]
        assert s.startswith(kept)
        assert len(kept) + int(marker.group(1)) == len(s)
    else:  # too narrow for the marker: a hard cut that still shows it is cut
        assert max_chars < len(f"… [+{len(s)} chars]") + 1
        assert out == (s[: max_chars - 1] + ELLIPSIS if max_chars else "")


def test_clamp_line_example() -> None:
    assert clamp_line("x" * 100, 30) == "x" * 17 + "… [+83 chars]"  # exactly 30 wide


# --- mrkdwn ------------------------------------------------------------------------------

@PROPERTY
@given(TEXT)
def test_escape_leaves_no_angle_brackets_and_shows_the_original(s: str) -> None:
    out = escape(s)
    assert "<" not in out and ">" not in out
    assert is_safe_mrkdwn(out)
    assert unescape(out) == s


def test_broadcasts_and_mentions_in_a_log_line_are_shown_not_sent() -> None:
    line = "WARN notify=<!channel> owner=<@U024BE7LH> team=<!subteam^S0123|oncall> see <https://evil.example|docs>"
    assert escape(line) == ("WARN notify=&lt;!channel&gt; owner=&lt;@U024BE7LH&gt; team=&lt;!subteam^S0123|oncall&gt; "
                            "see &lt;https://evil.example|docs&gt;")


@PROPERTY
@given(TEXT)
def test_code_block_content_cannot_close_the_fence(s: str) -> None:
    out = code_block(s)
    assert out.startswith("```\n") and out.endswith("\n```")
    inner = out[4:-4]
    assert "```" not in inner
    assert is_safe_mrkdwn(inner)
    shown = unescape(inner.replace(BACKTICK_LOOKALIKE, "`"))
    assert shown == (s.replace(BACKTICK_LOOKALIKE, "`").rstrip("\n") or " ")


def test_code_block_survives_clean_text_afterwards() -> None:
    assert clean_text(code_block("a ``` b")).count("```") == 2


@PROPERTY
@given(TEXT)
def test_inline_code_is_one_line_without_backticks_inside(s: str) -> None:
    out = inline_code(s)
    assert out.startswith("`") and out.endswith("`") and len(out) >= 3
    inner = out[1:-1]
    assert "`" not in inner and "\n" not in inner and "\r" not in inner
    assert is_safe_mrkdwn(inner)


def test_neutralize_mentions_plain() -> None:
    out = neutralize_mentions_plain("@channel @Here @everyone deploy done")
    assert out == "＠channel ＠Here ＠everyone deploy done"
    assert neutralize_mentions_plain("mail ops@here.com or @herald") == "mail ops@here.com or @herald"
    assert clean_text(neutralize_mentions_plain("@here")) == "＠here"


@pytest.mark.parametrize("s", ["<!channel>", "<!here|here>", "<@U123>", "<#C123|general>", "<!subteam^S1>",
                               "see <https://evil.example|docs>", "x <mailto:a@b.c> y", "<!everyone"])
def test_slack_control_sequences_are_not_safe(s: str) -> None:
    assert not is_safe_mrkdwn(s)


@pytest.mark.parametrize("s", ["a < b", "x > y", "plain text", "&lt;!channel&gt;", "", "1 <= 2"])
def test_text_without_control_sequences_is_safe(s: str) -> None:
    assert is_safe_mrkdwn(s)


def test_untrusted_text_is_escaped_unlinked_and_cannot_ping() -> None:
    from bot.text.mrkdwn import defang_urls, untrusted

    out = untrusted("see https://a.evil.example/x?y=1 [m](ftp://h.io) <!here> @channel WWW.Evil.com ops@here.com")
    assert out == ("see https[:]//a[.]evil[.]example/x?y=1 [m]\u200b(ftp[:]//h[.]io) &lt;!here&gt; \uff20channel "
                   "WWW[.]Evil[.]com ops@here.com")
    assert is_safe_mrkdwn(out)
    assert defang_urls("no links: v1.2.3 file.log api-1.internal") == "no links: v1.2.3 file.log api-1.internal"
    assert untrusted(untrusted("https://x.io")) == untrusted("https://x.io")  # defanging twice changes nothing
