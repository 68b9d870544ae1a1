"""Live progress for the request being handled ("Checking alarms…", "Reading /ecs/api-prod…") and the
model's answer while it is being written.

Handlers call ``report(text)``; the edge that runs the request decides what a report becomes (Slack:
the thread's status line). Model clients call ``answer_text(delta)`` the same way (Slack: a message
streamed into the thread). ContextVars keep handlers and model code free of Slack types and keep
concurrent requests apart; gather threads inherit them through ``contextvars.copy_context``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Protocol

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


# --- the model's answer, while it is written ---------------------------------------------------------
# The same pattern for answer text: the model client feeds content deltas to whatever the edge bound
# (Slack: a message streamed into the thread). Unbound, the client does not stream at all.


class AnswerSink(Protocol):
    def text(self, delta: str) -> None:
        """A piece of the answer the model is writing (raw: the sink scrubs before showing it)."""

    def discard(self) -> None:
        """The text since the last call was not the answer (the model went on to call a tool)."""


_answer: contextvars.ContextVar[AnswerSink | None] = contextvars.ContextVar("answer", default=None)


def answer_streaming() -> bool:
    """True when someone shows the answer as it is written, so the model client should stream."""
    return _answer.get() is not None


def answer_text(delta: str) -> None:
    sink = _answer.get()
    if sink is not None and delta:
        try:
            sink.text(delta)
        except Exception:  # showing the answer early is a nicety: the final reply still carries it
            return


def answer_discard() -> None:
    sink = _answer.get()
    if sink is not None:
        try:
            sink.discard()
        except Exception:
            return


def bind_answer(sink: AnswerSink | None) -> contextvars.Token[AnswerSink | None]:
    return _answer.set(sink)


def unbind_answer(token: contextvars.Token[AnswerSink | None]) -> None:
    _answer.reset(token)
