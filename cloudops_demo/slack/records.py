"""Plain records the emulator keeps so tests and the demo can look back at what happened.

They are frozen or copied on the way out: observers run on other threads than the
server, and handing them live objects would let a test race the event loop.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class ApiCall:
    """One Web API request as the app sent it, with what the emulator answered.

    ``status``/``error`` are kept so a test can tell a retried 429 from the call
    that finally succeeded without parsing logs.
    """

    method: str
    params: dict[str, Any]
    token: str | None
    time: float
    status: int = 200
    error: str | None = None


@dataclass(frozen=True)
class AckRecord:
    """What the app acknowledged an envelope with, and how long that took.

    ``latency_s`` runs from the moment the envelope left the socket to the ack
    frame, which is the number Slack's 3-second rule is about.
    """

    payload: dict[str, Any] | None
    latency_s: float | None
    envelope_type: str = ""


@dataclass(frozen=True)
class UploadedFile:
    """A file sent through the files v2 trio, so tests can check the bytes a user would download."""

    file_id: str
    filename: str
    title: str | None
    content: bytes
    channel_id: str | None
    thread_ts: str | None
    initial_comment: str | None = None


@dataclass(frozen=True)
class Envelope:
    """A Socket Mode envelope; retries are new envelopes sharing the same payload and event_id."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int | None = None
    retry_reason: str | None = None

    def to_json(self) -> str:
        """Serialise as Slack does: retry fields only on events_api envelopes."""
        body: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.retry_attempt is not None:
            body["retry_attempt"] = self.retry_attempt
            body["retry_reason"] = self.retry_reason or ""
        return json.dumps(body)

    def retried(self, envelope_id: str) -> Envelope:
        """The next delivery attempt: a new id, same payload, one more attempt counted."""
        return replace(
            self,
            envelope_id=envelope_id,
            retry_attempt=(self.retry_attempt or 0) + 1,
            retry_reason="timeout",
        )

    @property
    def event_id(self) -> str | None:
        """The dedupe key apps must use, since retries change ``envelope_id``."""
        value = self.payload.get("event_id")
        return value if isinstance(value, str) else None


@dataclass
class ResponseUrl:
    """State behind one ``response_url``: where it answers and how many uses are left (Slack: 5 in 30 min)."""

    channel: str
    user: str
    message_ts: str | None = None
    uses_left: int = 5
    expires_at: float = field(default_factory=lambda: time.time() + 30 * 60)
    posts: list[dict[str, Any]] = field(default_factory=list)


def new_id(rng_bits: int) -> str:
    """A UUID4-shaped id from seeded random bits, so runs with the same seed see the same ids."""
    return str(uuid.UUID(int=rng_bits, version=4))
