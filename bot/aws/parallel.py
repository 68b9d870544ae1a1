"""Run independent AWS calls at once: a 4-source investigation should cost its slowest call, not the sum."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class Parallel:
    """A shared, bounded pool for gathering; results keep their keys, exceptions are returned, not raised.

    Returning exceptions lets a handler show what it did gather when one source failed, and say which.
    """

    def __init__(self, max_workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="aws-gather")

    def run(self, jobs: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
        if len(jobs) <= 1:
            return {k: _safe(fn) for k, fn in jobs.items()}
        futures = {
            # copy_context so the per-request operation recorder follows the call into the pool
            key: self._pool.submit(contextvars.copy_context().run, _safe, fn)
            for key, fn in jobs.items()
        }
        return {key: fut.result() for key, fut in futures.items()}

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # returned to the caller, which decides how to report it
        return exc
