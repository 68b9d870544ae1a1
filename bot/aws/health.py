"""AWS reachability for /status: a cached sts:GetCallerIdentity, so probes never hammer AWS."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from bot.aws.session import AwsClients
from bot.errors import CloudOpsError


@dataclass(frozen=True)
class AwsHealth:
    reachable: bool | None  # None = never checked
    account: str
    last_success: float | None
    last_failure: float | None
    last_error: str


class AwsHealthProbe:
    """Checks at most once per ``ttl_s``; concurrent /status calls share one probe."""

    def __init__(self, aws: AwsClients, ttl_s: float) -> None:
        self._aws = aws
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._checked = 0.0
        self._state = AwsHealth(None, "", None, None, "")

    def get(self) -> AwsHealth:
        with self._lock:
            if time.monotonic() - self._checked < self._ttl and self._state.reachable is not None:
                return self._state
            self._checked = time.monotonic()
            try:
                ident = self._aws.call("sts", "GetCallerIdentity")
                self._state = AwsHealth(True, str(ident.get("Account", "")), time.time(),
                                        self._state.last_failure, "")
            except CloudOpsError as exc:
                self._state = AwsHealth(False, self._state.account, self._state.last_success, time.time(),
                                        exc.message)
            return self._state
