"""Per-request record of upstream calls: which AWS operations ran and how long AWS and the model took.

It feeds the audit event (operations, aws_ms, model_ms) so every request's own overhead can be read
from the logs. A ContextVar keeps concurrent requests apart; gather threads inherit it through
``contextvars.copy_context``.
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass, field


@dataclass
class CallLog:
    operations: list[str] = field(default_factory=list)
    aws_s: float = 0.0  # summed, so parallel calls can exceed wall time
    model_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def aws(self, operation: str, seconds: float) -> None:
        with self._lock:
            self.operations.append(operation)
            self.aws_s += seconds

    def model(self, seconds: float) -> None:
        with self._lock:
            self.model_s += seconds


_current: contextvars.ContextVar[CallLog | None] = contextvars.ContextVar("calllog", default=None)


def start() -> CallLog:
    log = CallLog()
    _current.set(log)
    return log


def current() -> CallLog | None:
    return _current.get()
