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

__all__ = ["BACKTICK_LOOKALIKE", "code_block", "escape", "inline_code", "is_safe_mrkdwn",
           "neutralize_mentions_plain"]

BACKTICK_LOOKALIKE = "\u02cb"
_FENCE_RUN = re.compile(r"`{3,}")
_BROADCAST = re.compile(r"(?<![\w.@])@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)  # not user@here.com
# '<' followed by a sigil, or any '<…>' pair: what Slack may read as a mention or link.
_CONTROL = re.compile(r"<(?:[!@#]|[^<>]*>)")


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


def is_safe_mrkdwn(s: str) -> bool:
    """True when no ``<`` in ``s`` can start a Slack mention, broadcast or link.

    Deliberately strict: any ``<…>`` pair counts, so escaped text is always safe and a
    hand-built link (which the bot may add on purpose) is reported as not safe.
    """
    return _CONTROL.search(s) is None
