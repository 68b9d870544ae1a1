"""Redact model output while it streams, without ever sending a piece of a secret.

A streamed answer arrives a few characters at a time, but a secret is recognised only
as a whole (``ghp_`` plus 36 characters, ``password=`` plus its value, a PEM block). A
chunk boundary can fall anywhere, so scrubbing each chunk on its own would send
``ghp_AbC`` in one Slack update and the rest in the next, neither of which matches a rule.

:class:`StreamScrubber` therefore keeps the unsent text, re-scrubs it on every chunk and
sends only a prefix that is *settled*: it ends at whitespace at least ``window``
characters before the newest text, and scrubbing it (with the text already sent as
context) gives exactly the start of scrubbing everything received so far.

Guarantee: ``"".join(outputs) == scrub(full_text)`` and, consequently, nothing the
full-text scrub would remove is ever sent, in one piece or spread over several, when

* a secret together with the words that identify it (``password: x``, ``Bearer x``, an
  access key id and its secret) spans fewer than ``window`` characters (default 256):
  text that arrives later cannot change how a settled prefix is scrubbed;
* the rules look back at most ``MAX_LOOKBACK`` characters (computed from the rules'
  patterns, every separator bounded; 335 today) before what they replace, and runs of blanks
  are squeezed to 32 first: sent text is kept, squeezed, that far as context (``context``,
  default 1024, never less than ``MAX_LOOKBACK``). So ``password:`` + 1,100 spaces, sent, still
  has its key in the context when the value arrives.

Held back on purpose, however long it gets (so the hold-back is bounded by ``window`` for
ordinary prose, not for these):

* a block from ``-----BEGIN`` until its ``-----END …-----`` line, or the end of the
  stream: a private key is one secret spread over many lines;
* a terminal escape until it ends (an OSC title may run over lines until its BEL):
  clean_text drops it whole, joining the text on either side;
* a Slack control sequence that is still open (``<`` with no ``>`` yet on its line): an
  ``<url|text>`` link cut in two could pass a per-piece safety check and join up in Slack;
* a run without whitespace (cuts are only made after a space, tab or newline).

A cut must also survive likely continuations: the text closed by ``"`` or ``'``, extended by
a random-looking filler, and with an open key block or escape closed. So ``password="a b c``
is not split even when the value grows past the window, as long as it is still open.

If the text received after a cut does change how the sent part scrubs (a rule match
longer than the window that no probe foresaw), :meth:`StreamScrubber.finish` resumes
where the two scrubs diverge: the user may see a few words twice, never the raw secret.
Cost: a few scrubs of ~1.5 KB per 16 characters received (about 0.1 ms per chunk).

The scrub function must be pure: it runs many times over the same text, so a redactor
with a metrics hook (``on_redact``) would count one secret many times. Count on the
final message instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from bot.text.redact import redact, squeeze_blanks
from bot.text.redact_reach import MAX_LOOKBACK
from bot.text.sanitize import clean_text

__all__ = ["DEFAULT_CONTEXT", "DEFAULT_WINDOW", "StreamScrubber", "default_scrub"]

DEFAULT_WINDOW = 256
# Sent text kept (cleaned, blanks squeezed) for rules that look back, at least MAX_LOOKBACK; more by
# default because a value redacted in between shortens a gap on the redactor's next pass.
DEFAULT_CONTEXT = 1024
_STEP = 16  # new characters before the next attempt: Slack updates are rate-limited anyway
_MAX_ATTEMPTS = 4  # candidate cuts tried per chunk before waiting for more text
_MIN_RETRY = 32  # after every candidate failed, wait for this much (or a quarter more) text
# Possible continuations of a value that may still be open, quoted or bare (with a random-looking
# filler, because a value may be redacted only once it is long or varied enough).
_FILLER = "Zq7xK9wP"
_PROBES = ('"', "'", _FILLER, _FILLER + '"', _FILLER + "'")
# Spans never cut: a key block (to its END line) and a terminal escape, which clean_text removes
# whole (an OSC title may hold spaces and newlines until its BEL). Unfinished ones run to the end.
_KEY_BLOCK = re.compile(r"-----BEGIN(?:(?:[^-]|-(?!----END))*-----END[ A-Z0-9_-]{0,100}?-----)?")
_ESCAPE = re.compile(r"\x1b(?:\][^\x07\x1b]*(?:\x07|\x1b\\)?|\[[0-?]*[ -/]*[@-~]?)?")
_KEY_CLOSER = "-----END PRIVATE KEY-----"
_ESCAPE_CLOSERS = {"]": "\x07", "": "\\"}  # OSC ends at BEL; a lone ESC takes one more byte; CSI at "m"
_CUT_CHARS = (" ", "\t", "\n")

Scrub = Callable[[str], str]


def default_scrub(text: str) -> str:
    """What every other outbound text gets: inert characters first, then secrets redacted."""
    return redact(clean_text(text))


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class StreamScrubber:
    """Turns a stream of raw chunks into a stream of scrubbed, safe-to-send pieces.

    Not thread-safe: one instance per streamed answer. After :meth:`finish` it is closed.
    """

    def __init__(self, scrub: Scrub = default_scrub, *, window: int = DEFAULT_WINDOW,
                 context: int = DEFAULT_CONTEXT) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self._scrub = scrub
        self._window = window
        self._context_chars = max(context, MAX_LOOKBACK)
        self._context = ""  # raw text already sent (its tail), for rules that look back
        self._context_scrubbed: str | None = None
        self._pending = ""  # raw text received but not sent
        self._retry_at = 0
        self._closed = False

    @property
    def held(self) -> int:
        """Raw characters received but not sent yet (for "still typing" hints)."""
        return len(self._pending)

    def feed(self, chunk: str) -> str:
        """Add ``chunk``; return the scrubbed text that is now safe to send (often "")."""
        if self._closed:
            raise RuntimeError("StreamScrubber.feed() after finish()")
        self._pending += chunk
        if len(self._pending) < self._retry_at:
            return ""
        blocks, closer = self._blocks()
        futures: list[str] | None = None
        for attempt, cut in enumerate(self._candidates(blocks)):
            if attempt == _MAX_ATTEMPTS:
                break
            if futures is None:  # scrubbed once per chunk, only when there is a cut to check
                futures = self._futures(closer)
            head = self._scrub(self._context + self._pending[:cut])
            sent = self._scrubbed_context()
            if head.startswith(sent) and all(future.startswith(head) for future in futures):
                self._advance(cut)
                self._retry_at = len(self._pending) + _STEP
                return head[len(sent):]
        if futures is not None:  # every candidate failed: retry after meaningfully more text
            self._retry_at = len(self._pending) + max(_MIN_RETRY, len(self._pending) // 4)
        return ""

    def finish(self) -> str:
        """Return the rest of the scrubbed text; the stream is over (held blocks go out scrubbed)."""
        if self._closed:
            return ""
        self._closed = True
        whole = self._scrub(self._context + self._pending)
        sent = self._scrubbed_context()
        self._pending = ""
        if whole.startswith(sent):
            return whole[len(sent):]
        return whole[_common_prefix(whole, sent):]  # see the module docstring: repeat rather than leak

    def _scrubbed_context(self) -> str:
        if self._context_scrubbed is None:
            self._context_scrubbed = self._scrub(self._context)
        return self._context_scrubbed

    def _advance(self, cut: int) -> None:
        # Kept cleaned, so the context is what the rules see: a long escape the cleaning drops
        # must not push the words before it (``--password``) out of reach.
        self._context = squeeze_blanks(clean_text(self._context + self._pending[:cut]))[-self._context_chars:]
        self._context_scrubbed = None
        self._pending = self._pending[cut:]

    def _futures(self, closer: str) -> list[str]:
        """Scrubs of the text so far and of likely continuations; a settled cut is a prefix of all."""
        text = self._context + self._pending
        endings = {"", *_PROBES, *(closer + probe for probe in ("", *_PROBES) if closer)}
        return [self._scrub(text + ending) for ending in endings]

    def _candidates(self, blocks: list[tuple[int, int]]) -> Iterator[int]:
        """Cut positions (just after whitespace), latest first, outside the window and any block."""
        text = self._pending
        limit = len(text) - self._window
        while limit > 0:
            space = max(text.rfind(c, 0, limit) for c in _CUT_CHARS)
            if space < 0:
                return
            cut = space + 1
            inside = [begin for begin, end in blocks if begin < cut < end]
            if inside:  # a key block or an escape: never split, even once complete
                limit = inside[0]
                continue
            lt = text.rfind("<", 0, cut)
            if lt >= 0 and text.find(">", lt, cut) < 0 and text.find("\n", lt, cut) < 0:
                limit = lt  # inside a possible Slack control sequence: cut before it
                continue
            yield cut
            limit = space

    def _blocks(self) -> tuple[list[tuple[int, int]], str]:
        """Spans never to cut, and what would close a key block or terminal escape still open.

        Closing matters: clean_text drops a whole escape, joining the text on either side of
        it, and a redacted key block can complete a value around it (``'{"private_key": …}'``),
        so a cut before an open one must also hold once it is closed.
        """
        text = self._pending
        if "-----BEGIN" not in text and "\x1b" not in text:
            return [], ""
        spans: list[tuple[int, int]] = []
        key_open = esc_open = len(text)
        for m in _KEY_BLOCK.finditer(text):
            closed = m.group().endswith("-----") and m.end() < len(text)
            spans.append((m.start(), m.end() if closed else len(text)))
            if not closed:
                key_open = min(key_open, m.start())
        esc_closer = ""
        for m in _ESCAPE.finditer(text):
            spans.append(m.span())
            if m.end() == len(text):
                esc_open, esc_closer = m.start(), _ESCAPE_CLOSERS.get(m.group()[1:2], "m")
        closer = esc_closer + (_KEY_CLOSER if key_open < esc_open else "")
        return spans, closer
