"""Proposals in the shared store, so any replica can show, approve or reject one, and the claim that
makes a decision happen once.

A proposal is JSON under ``proposal:<id>``. Deciding it (approve or reject) first claims
``proposal-claim:<id>`` with the store's atomic first-time key (``SET NX`` on Redis): of two clicks,
two approvers or a redelivered interaction on any replicas, exactly one wins; only the winner writes
the proposal's new state and only an approval winner makes the AWS call.
"""

from __future__ import annotations

import contextvars
import json
import uuid
from dataclasses import asdict, dataclass, field, replace

from bot.store import Store

PENDING, APPROVED, REJECTED, EXECUTED, FAILED = "pending", "approved", "rejected", "executed", "failed"
VERIFIED, UNVERIFIED = "verified", "unverified"
KEEP_AFTER_S = 86400  # a decided proposal stays readable (card, audit questions) this long after expiry


@dataclass(frozen=True)
class Proposal:
    id: str
    action: str
    account: str
    region: str
    target: str
    label: str
    effect: str
    checks: tuple[str, ...]
    params: dict[str, str]
    requester: str
    channel: str
    thread_ts: str
    created: float
    expires: float
    status: str = PENDING
    decided_by: str = ""
    request_id: str = ""  # AWS's, for the write
    result: str = ""
    verification: str = ""
    done_params: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.account}/{self.region}"

    def with_(self, **changes: object) -> Proposal:
        return replace(self, **changes)  # type: ignore[arg-type]


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class Proposals:
    """Proposals over the shared ``Store``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def put(self, p: Proposal, now: float) -> None:
        keep = max(p.expires - now, 0) + KEEP_AFTER_S
        self._store.put_text(f"proposal:{p.id}", json.dumps(asdict(p)), keep)

    def get(self, pid: str) -> Proposal | None:
        raw = self._store.get_text(f"proposal:{pid}") if pid.isalnum() and len(pid) <= 32 else None
        if raw is None:
            return None
        d = json.loads(raw)
        d["checks"] = tuple(d["checks"])
        return Proposal(**d)

    def claim(self, pid: str) -> bool:
        """True for exactly one caller per proposal, across replicas."""
        return self._store.first_time(f"proposal-claim:{pid}", KEEP_AFTER_S * 2)

    @property
    def shared_and_healthy(self) -> bool:
        """False while a Redis-backed store is failing over to this replica's memory: a claim made then
        would hold on this replica only, so approvals wait (see ``bot.store_redis.ResilientStore``)."""
        return not bool(getattr(self._store, "degraded", False))


_made: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("proposals_made", default=None)


def collect() -> list[str]:
    """Start collecting the ids of proposals made by this request (its tools run in copies of the context)."""
    made: list[str] = []
    _made.set(made)
    return made


def note(pid: str) -> None:
    made = _made.get()
    if made is not None:
        made.append(pid)
