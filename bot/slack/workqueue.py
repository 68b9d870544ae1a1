"""A sized worker pool with an explicit waiting line, so users hear "busy, you are number N".

Bolt's own listener pool (5 threads) would serialise slow model calls; listeners only ack and hand the
job here. Capacity is ``workers`` running plus ``max_queue`` waiting; beyond that, requests are refused
at ack time with a clear message instead of piling up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


class WorkQueue:
    def __init__(self, workers: int, max_queue: int, on_waiting: Callable[[int], None] | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cloudops-worker")
        self._workers = workers
        self._capacity = workers + max_queue
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._on_waiting = on_waiting  # told how many wait for a worker, e.g. to set a gauge

    def reserve(self) -> int | None:
        """Take a place: 0 = starts now, N = N-th in line, None = full."""
        with self._lock:
            if self._pending >= self._capacity:
                return None
            self._pending += 1
            waiting = max(0, self._pending - self._workers)
        if self._on_waiting is not None:
            self._on_waiting(waiting)
        return waiting

    def submit(self, job: Callable[[], None]) -> None:
        """Run a job whose place was reserved; the place is released when it ends, however it ends."""
        def run() -> None:
            try:
                job()
            finally:
                with self._lock:
                    self._pending -= 1
                    waiting = max(0, self._pending - self._workers)
                    self._idle.notify_all()
                if self._on_waiting is not None:
                    self._on_waiting(waiting)

        self._pool.submit(run)

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=False)
