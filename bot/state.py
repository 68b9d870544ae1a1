"""Live process state shared by the Slack edge (writer) and the sidecar's /status (reader)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class BotState:
    """Plain fields behind a lock; cheap enough to read on every /status probe."""

    version: str = "0"
    started: float = field(default_factory=time.time)
    slack_connected: bool = False
    slack_changed: float = field(default_factory=time.monotonic)  # when slack_connected last flipped
    last_envelope: float | None = None
    in_flight: int = 0
    draining: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_connected(self, connected: bool) -> None:
        with self._lock:
            if connected != self.slack_connected:
                self.slack_connected = connected
                self.slack_changed = time.monotonic()

    def envelope_seen(self) -> None:
        with self._lock:
            self.last_envelope = time.time()

    def add_in_flight(self, delta: int) -> int:
        with self._lock:
            self.in_flight += delta
            return self.in_flight

    def down_for(self) -> float:
        """Seconds the Slack link has been down (0 while up)."""
        with self._lock:
            return 0.0 if self.slack_connected else time.monotonic() - self.slack_changed
