"""Put untrusted text into Slack mrkdwn without letting it format, link or ping.

Slack parses ``<…>`` as control sequences: ``<!channel>``, ``<!here>``, ``<!everyone>``,
``<@U…>``, ``<#C…>``, ``<!subteam^…>`` notify people and ``<url|text>`` disguises a
link. Slack's documented escaping (``&``, ``<``, ``>`` to entities) is all it takes to
show them as text, and it is what :func:`escape` does; ``*_~`` are left alone because
formatting cannot notify anyone or hide a link.

Code fences: Slack ends a code block at the next run of three backticks, wherever it
is. :func:`code_block` and :func:`inline_code` therefore replace backticks that could
close the fence with U+02CB MODIFIER LETTER GRAVE ACCENT ("ˋ"), a visible lookalike.
A zero-width joiner between backticks would also work but ``clean_text`` strips
zero-width characters, so running it afterwards would silently re-arm the fence; a
visible lookalike survives every later pass.
"""

from __future__ import annotations

import re

__all__ = ["BACKTICK_LOOKALIKE", "code_block", "defang_urls", "escape", "inline_code", "is_safe_mrkdwn",
           "neutralize_mentions_plain", "untrusted"]

BACKTICK_LOOKALIKE = "\u02cb"
_FENCE_RUN = re.compile(r"`{3,}")
_BROADCAST = re.compile(r"(?<![\w.@])@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)  # not user@here.com
# '<' followed by a sigil, or any '<…>' pair: what Slack may read as a mention or link.
_CONTROL = re.compile(r"<(?:[!@#]|[^<>]*>)")
_MD_LINK = re.compile(r"\](?=[(\[:])")  # "](url)", "][ref]", "]: url" (a definition) make a link in markdown
_NO_LINK = "]\u200b"  # a zero-width space after "]" leaves the text as written and no link
# A scheme URL or a www. host, up to whitespace or an escaped/raw angle bracket or quote
_URL = re.compile(r"(?i)\b(?:(?P<scheme>[a-z][a-z0-9+.-]{1,15})://|(?=www\.))(?P<host>[^\s/?#<>&\"'`|]*)")


def escape(s: str) -> str:
    """Slack's escaping for mrkdwn text: ``&``→``&amp;``, ``<``→``&lt;``, ``>``→``&gt;``; nothing else."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code_block(s: str) -> str:
    """A ``` fenced block whose content is escaped and cannot close the fence early.

    Runs of three or more backticks become lookalikes; shorter runs are shown as they are,
    and a trailing newline is dropped so the block does not end in an empty line.
    """
    body = _FENCE_RUN.sub(lambda m: BACKTICK_LOOKALIKE * len(m.group()), escape(s)).rstrip("\n")
    return f"```\n{body or ' '}\n```"


def inline_code(s: str) -> str:
    """Single-backtick code: escaped, every backtick a lookalike, newlines as spaces (inline code is one line)."""
    body = escape(s).replace("`", BACKTICK_LOOKALIKE).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return f"`{body or ' '}`"


def neutralize_mentions_plain(s: str) -> str:
    """For ``plain_text`` objects: make ``@channel``/``@here``/``@everyone`` unable to notify.

    Slack never pings from a ``plain_text`` object, so this is defence in depth for the
    same string being reused where Slack does link names (a message's top-level ``text``
    posted with ``link_names``). The ``@`` becomes U+FF20 FULLWIDTH COMMERCIAL AT, which
    reads the same and survives ``clean_text``. ``<!channel>``-style sequences are shown
    literally in plain_text; anything bound for mrkdwn must go through :func:`escape`.
    """
    return _BROADCAST.sub("\uff20", s)


def defang_urls(s: str) -> str:
    """``https://evil.example/x`` → ``https[:]//evil[.]example/x``: readable, and no Slack client links it.

    Slack turns a URL in message text into a link wherever it appears outside code; text from logs or
    the model must not hand the reader a clickable link the bot never checked. Only the scheme and the
    host change (the path stays as written); the brackets are visible characters, so no later pass
    (``clean_text`` drops zero-width ones) can re-arm the link.
    """

    def one(m: re.Match[str]) -> str:
        head = f"{m.group('scheme')}[:]//" if m.group("scheme") else ""
        return head + m.group("host").replace(".", "[.]")

    return _URL.sub(one, s) if ("://" in s or "www." in s.lower()) else s


def untrusted(s: str) -> str:
    """Text we did not write, for mrkdwn or markdown outside code: escaped, no pings, no links.

    The one neutraliser for every message path (streamed pieces and posted blocks alike): Slack's
    ``&<>`` escaping, ``@here``/``@channel``/``@everyone`` that cannot notify, markdown link syntax
    broken (``](``), and URLs defanged.
    """
    return defang_urls(_MD_LINK.sub(_NO_LINK, neutralize_mentions_plain(escape(s))))


def is_safe_mrkdwn(s: str) -> bool:
    """True when no ``<`` in ``s`` can start a Slack mention, broadcast or link.

    Deliberately strict: any ``<…>`` pair counts, so escaped text is always safe and a
    hand-built link (which the bot may add on purpose) is reported as not safe.
    """
    return _CONTROL.search(s) is None
