"""The workspace the emulator pretends to be: channels, threads, ephemerals and what the app did.

Everything lives behind one re-entrant lock with a condition variable: the event loop
thread mutates it while test threads read it and block in ``wait_for``, and notifying
on every change lets waiters wake at once instead of polling.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from typing import Any

from .records import AckRecord, ApiCall, Envelope, ResponseUrl, UploadedFile, new_id

MAX_SOCKETS = 10


class Workspace:
    """Thread-safe store of messages and observations shared by the server and the public API."""

    def __init__(self, *, bot_user_id: str, bot_id: str, team_id: str, app_id: str, seed: int) -> None:
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.app_id = app_id
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self._rng = random.Random(seed)
        self._last_ts_us = 0
        self._counter = 0
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.calls: list[ApiCall] = []
        self.acks: dict[str, AckRecord] = {}
        self.envelopes: dict[str, Envelope] = {}
        self.sent_at: dict[str, float] = {}
        self.sent_on: dict[str, int] = {}  # envelope id -> serial of the socket it last went out on
        self.closed_sockets: set[int] = set()
        self.response_urls: dict[str, ResponseUrl] = {}
        self.files: dict[str, UploadedFile] = {}
        self.pending_uploads: dict[str, dict[str, Any]] = {}
        self.assistant: dict[tuple[str, str], dict[str, Any]] = {}
        self.open_streams: set[tuple[str, str]] = set()
        self.views: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channel_names: dict[str, str] = {}
        self.usergroups: dict[str, list[str]] = {}  # user group id (S…) -> member user ids
        self.connected = 0
        self.connections_opened = 0
        self.pongs_received = 0
        self.refusing = False
        self.last_envelope_time: float | None = None

    # ---- identifiers -------------------------------------------------------------------------

    def new_ts(self) -> str:
        """Wall-clock ts, forced strictly increasing so ordering and uniqueness never depend on timing."""
        with self.lock:
            now_us = int(time.time() * 1_000_000)
            self._last_ts_us = max(now_us, self._last_ts_us + 1)
            sec, usec = divmod(self._last_ts_us, 1_000_000)
            return f"{sec}.{usec:06d}"

    def new_uuid(self) -> str:
        """Seeded UUID so a given seed reproduces envelope and message ids."""
        with self.lock:
            return new_id(self._rng.getrandbits(128))

    def new_short_id(self, prefix: str) -> str:
        """Slack-style ids (``Ev…``, ``F…``, ``V…``) that are unique within this emulator."""
        with self.lock:
            self._counter += 1
            return f"{prefix}{self._counter:06d}{self._rng.getrandbits(24):06X}"

    def changed(self) -> None:
        """Wake every ``wait_for``; call after any mutation the outside world can observe."""
        with self.lock:
            self.cond.notify_all()

    # ---- people and places -------------------------------------------------------------------

    def user(self, user_id: str) -> dict[str, Any]:
        """A plausible user profile; unknown ids get a stub so users.info never fails in a demo."""
        with self.lock:
            if user_id not in self.users:
                is_bot = user_id == self.bot_user_id
                name = "cloudops" if is_bot else f"user{user_id.lower()}"
                self.users[user_id] = {
                    "id": user_id,
                    "team_id": self.team_id,
                    "name": name,
                    "real_name": "CloudOps AI" if is_bot else f"User {user_id}",
                    "is_bot": is_bot,
                    "deleted": False,
                    "tz": "UTC",
                    "profile": {"real_name": "CloudOps AI" if is_bot else f"User {user_id}", "display_name": name},
                }
            return copy.deepcopy(self.users[user_id])

    def channel_name(self, channel: str) -> str:
        with self.lock:
            return self.channel_names.get(channel, channel.lower())

    # ---- messages ----------------------------------------------------------------------------

    def find(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The live message (not a copy); callers must hold the lock while they use it."""
        for msg in self.messages.get(channel, []):
            if msg["ts"] == ts:
                return msg
        return None

    def thread_root(self, channel: str, ts: str) -> str | None:
        """Where a reply to ``ts`` lands: replying to a reply joins the parent's thread, as in Slack."""
        msg = self.find(channel, ts)
        if msg is None:
            return None
        root = msg.get("thread_ts", msg["ts"])
        return root if isinstance(root, str) else msg["ts"]

    def add_message(self, channel: str, msg: dict[str, Any], *, thread_ts: str | None = None) -> dict[str, Any]:
        """Store a message, threading it under ``thread_ts`` (must exist) and updating the parent's counters."""
        with self.lock:
            if thread_ts is not None:
                root = self.thread_root(channel, thread_ts)
                if root is None:
                    raise KeyError(f"thread {thread_ts} not found in {channel}")
                parent = self.find(channel, root)
                assert parent is not None
                msg["thread_ts"] = root
                parent["thread_ts"] = root
                parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                users = parent.setdefault("reply_users", [])
                author = msg.get("user")
                if author and author not in users:
                    users.append(author)
                parent["latest_reply"] = msg.setdefault("ts", self.new_ts())
                if parent.get("user"):
                    msg.setdefault("parent_user_id", parent["user"])
            msg.setdefault("type", "message")
            msg.setdefault("ts", self.new_ts())
            self.messages.setdefault(channel, []).append(msg)
            if thread_ts is not None:
                # A real reply clears the "is thinking…" status Slack shows in assistant threads.
                status = self.assistant.get((channel, str(msg["thread_ts"])))
                if status is not None and msg.get("bot_id"):
                    status["status"] = ""
            self.changed()
            return msg

    def bot_message(self, channel: str, fields: dict[str, Any], *, thread_ts: str | None = None) -> dict[str, Any]:
        """A message authored by the app's bot user, shaped like chat.postMessage's ``message``."""
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "bot_profile": {"id": self.bot_id, "app_id": self.app_id, "name": "CloudOps AI"},
        }
        msg.update({k: v for k, v in fields.items() if v is not None})
        return self.add_message(channel, msg, thread_ts=thread_ts)

    def delete(self, channel: str, ts: str) -> None:
        with self.lock:
            msgs = self.messages.get(channel, [])
            self.messages[channel] = [m for m in msgs if m["ts"] != ts]
            self.changed()

    def top_level(self, channel: str) -> list[dict[str, Any]]:
        """Channel view: parents and un-threaded messages (broadcast replies included), oldest first."""
        with self.lock:
            out = [
                m
                for m in self.messages.get(channel, [])
                if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
            ]
            return copy.deepcopy(out)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Parent then replies in ts order; empty when the parent does not exist."""
        with self.lock:
            parent = self.find(channel, ts)
            if parent is None:
                return []
            replies = [m for m in self.messages.get(channel, []) if m.get("thread_ts") == ts and m["ts"] != ts]
            return copy.deepcopy([parent, *replies])

    def add_ephemeral(self, channel: str, user: str | None, body: dict[str, Any], source: str) -> dict[str, Any]:
        """Record something only one user would see; ``source`` says which mechanism produced it."""
        with self.lock:
            record: dict[str, Any] = {
                "channel": channel,
                "user": user,
                "text": body.get("text", ""),
                "blocks": body.get("blocks"),
                "thread_ts": body.get("thread_ts"),
                "ts": self.new_ts(),
                "source": source,
            }
            self.ephemerals.append(record)
            self.changed()
            return record

    # ---- socket bookkeeping ------------------------------------------------------------------

    def record_ack(self, envelope_id: str, payload: dict[str, Any] | None, at: float) -> Envelope | None:
        """Keep the first ack per envelope; later duplicates would only blur the latency figure."""
        with self.lock:
            env = self.envelopes.get(envelope_id)
            if envelope_id not in self.acks:
                sent = self.sent_at.get(envelope_id)
                latency = None if sent is None else max(0.0, at - sent)
                self.acks[envelope_id] = AckRecord(payload, latency, env.type if env else "")
            self.changed()
            return env

    def note_pong(self) -> None:
        """Count pongs, so a test can see the client really answers server pings."""
        with self.lock:
            self.pongs_received += 1
            self.changed()

    def set_connected(self, n: int, *, opened: bool = False) -> None:
        with self.lock:
            self.connected = n
            if opened:
                self.connections_opened += 1
            self.changed()
