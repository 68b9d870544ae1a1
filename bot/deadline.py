"""One overall deadline per request (``CLOUDOPS_REQUEST_DEADLINE_S``), across every model step.

Per-call timeouts bound each wait, not the sum: a model that trickles a chunk every few seconds, or a
tool loop that keeps going, could hold a request for many minutes. The boundary that starts a request
(``handlers.dispatch.handle``) sets the deadline in a ContextVar; model clients check it before each
call and while a stream is read, and shorten each call's timeout to what is left. Tool threads inherit
it through ``contextvars.copy_context`` like the call log.
"""

from __future__ import annotations

import contextvars
import time

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("request_deadline", default=None)


def start(seconds: float) -> contextvars.Token[float | None]:
    return _deadline.set(time.monotonic() + seconds)


def stop(token: contextvars.Token[float | None]) -> None:
    _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left for this request (may be negative), or None outside a request."""
    at = _deadline.get()
    return None if at is None else at - time.monotonic()


def expired() -> bool:
    left = remaining()
    return left is not None and left <= 0
