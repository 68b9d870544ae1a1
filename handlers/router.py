"""Routing: command text → capability and its arguments. The verbs are the capability entries'."""

from __future__ import annotations

import difflib

from bot.errors import UserInputError
from bot.models import Request, Source
from handlers.capability import Capability
from handlers.parsing import tokens
from handlers.registry import BY_VERB

QUESTION_VERB = "ask"  # where mentions and plain questions go
EMPTY_VERB = "help"  # an empty slash command


def resolve(request: Request) -> tuple[Capability, list[str]]:
    """Find the capability for a request. Mentions default to `ask`; slash commands must name a verb,
    except that an obvious question ("why is …?") is treated as `ask`."""
    words = tokens(request.text)
    if not words:
        if request.source is Source.MENTION:
            raise UserInputError("you mentioned me without a question",
                                 "e.g. `@CloudOps what is alarming right now?`")
        return BY_VERB[EMPTY_VERB], []
    verb = words[0].lower()
    if verb in BY_VERB:
        cap = BY_VERB[verb]
        if cap.free_text:
            return cap, [request.text.split(None, 1)[1] if len(words) > 1 else ""]
        return cap, words[1:]
    close = difflib.get_close_matches(verb, list(BY_VERB), n=1, cutoff=0.6)
    if request.source in (Source.MENTION, Source.CLI) or (not close and _looks_like_question(words, request.text)):
        return BY_VERB[QUESTION_VERB], [request.text]
    suggestion = f"did you mean `/cloudops {close[0]}`? " if close else ""
    raise UserInputError(f"`{verb[:40]}` is not a command I know",
                         f"{suggestion}Commands: {', '.join(BY_VERB)}. `/cloudops help` shows usage.")


def _looks_like_question(words: list[str], text: str) -> bool:
    return len(words) >= 3 or text.rstrip().endswith("?")
