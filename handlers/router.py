"""The one routing table: verb → handler, usage and access class. Help and dispatch read it."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import UserInputError
from bot.models import Reply, Request, Source
from handlers.alarms import handle_alarms
from handlers.ask import handle_ask
from handlers.help import handle_help
from handlers.logs import handle_logs
from handlers.metrics import handle_metrics
from handlers.parsing import tokens
from handlers.services import Services
from handlers.status import handle_status

Handler = Callable[[Request, list[str], Services], Reply]


@dataclass(frozen=True)
class Route:
    verb: str
    handler: Handler
    usage: str
    summary: str
    access: str = "read"  # "read" or "sensitive" (the model path: it sends evidence to a third party)
    uses_model: bool = False


ROUTES: tuple[Route, ...] = (
    Route("help", handle_help, "help", "this list"),
    Route("status", handle_status, "status [instance | Name | tag:key=value]",
          "EC2 state and status checks; the fleet, unhealthy first"),
    Route("logs", handle_logs, "logs <group|alias> [terms…] [15m|2h|1d]",
          "CloudWatch Logs grouped by shape, newest errors, summary"),
    Route("alarms", handle_alarms, "alarms [alarm|ok|insufficient_data|all]",
          "CloudWatch alarms with metric, threshold and since when"),
    Route("metrics", handle_metrics, "metrics <instance> [cpu|network|disk|status] [window]",
          "metric min/avg/max, last value and trend"),
    Route("ask", handle_ask, "ask <question>", "ask anything; the model uses the read-only tools above",
          access="sensitive", uses_model=True),
)
BY_VERB = {r.verb: r for r in ROUTES}


def resolve(request: Request) -> tuple[Route, list[str]]:
    """Find the route for a request. Mentions default to `ask`; slash commands must name a verb,
    except that an obvious question ("why is …?") is treated as `ask`."""
    words = tokens(request.text)
    if not words:
        if request.source is Source.MENTION:
            raise UserInputError("you mentioned me without a question",
                                 "e.g. `@CloudOps what is alarming right now?`")
        return BY_VERB["help"], []
    verb = words[0].lower()
    if verb in BY_VERB:
        if verb == "ask":
            return BY_VERB["ask"], [request.text.split(None, 1)[1] if len(words) > 1 else ""]
        return BY_VERB[verb], words[1:]
    close = difflib.get_close_matches(verb, list(BY_VERB), n=1, cutoff=0.6)
    if request.source in (Source.MENTION, Source.CLI) or (not close and _looks_like_question(words, request.text)):
        return BY_VERB["ask"], [request.text]
    suggestion = f"did you mean `/cloudops {close[0]}`? " if close else ""
    raise UserInputError(f"`{verb[:40]}` is not a command I know",
                         f"{suggestion}Commands: {', '.join(BY_VERB)}. `/cloudops help` shows usage.")


def _looks_like_question(words: list[str], text: str) -> bool:
    return len(words) >= 3 or text.rstrip().endswith("?")
