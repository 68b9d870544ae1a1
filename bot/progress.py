"""Live progress for the request being handled ("Checking alarms…", "Reading /ecs/api-prod…").

Handlers call ``report(text)``; the edge that runs the request decides what a report becomes (Slack:
the thread's status line). A ContextVar keeps handlers free of Slack types and keeps concurrent
requests apart; gather threads inherit it through ``contextvars.copy_context``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable

_sink: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar("progress", default=None)


def report(text: str) -> None:
    sink = _sink.get()
    if sink is not None:
        try:
            sink(text)
        except Exception:  # progress is cosmetic: it must never fail a request
            return


def bind(sink: Callable[[str], None] | None) -> contextvars.Token[Callable[[str], None] | None]:
    return _sink.set(sink)


def unbind(token: contextvars.Token[Callable[[str], None] | None]) -> None:
    _sink.reset(token)
