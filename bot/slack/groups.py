"""Which configured Slack user groups a user belongs to, for access control. Cached, because
usergroups.users.list is Tier 2 and membership rarely changes during an incident."""

from __future__ import annotations

import threading
import time

import structlog

from bot.slack.poster import Poster, PostError

log = structlog.get_logger("cloudops.slack")


class GroupCache:
    def __init__(self, poster: Poster, groups: tuple[str, ...], ttl_s: float = 300.0) -> None:
        self._poster = poster
        self._groups = groups
        self._ttl = ttl_s
        self._members: dict[str, frozenset[str]] = {}
        self._fetched = 0.0
        self._lock = threading.Lock()

    def groups_of(self, user: str) -> frozenset[str]:
        if not self._groups:
            return frozenset()
        with self._lock:
            if time.monotonic() - self._fetched > self._ttl:
                self._refresh()
            return frozenset(g for g, members in self._members.items() if user in members)

    def _refresh(self) -> None:
        for group in self._groups:
            try:
                data = self._poster.call("usergroups.users.list", form=True, usergroup=group)
                self._members[group] = frozenset(data.get("users", []))
            except PostError as exc:  # keep the last known members rather than lock everyone out
                log.warning("usergroup_lookup_failed", usergroup=group, error=str(exc))
        self._fetched = time.monotonic()
