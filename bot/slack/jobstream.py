"""Requests on a Redis stream, so the Socket Mode process only reads, admits and acks.

With worker threads in the same process, the ack path (socket reader → Bolt → ack frame) waits for the
GIL behind every thread signing and parsing AWS and model traffic: hundreds of milliseconds at 200 in
flight. Here the Socket Mode process adds each accepted request to a Redis stream and acks; `cloudops-bot
worker` processes read it through one consumer group. Redis Streams give what a home-made broker would
get wrong: each entry goes to one consumer, stays pending until that consumer acks it, and a pending entry
whose consumer stopped (crash, OOM kill, lost node) is taken over with XAUTOCLAIM.

- Admission (one Lua script, atomic across replicas): the line is the entries no worker has taken yet;
  a full line refuses, otherwise the entry is added and its place returned. Workers take entries only
  when a thread is free, so an entry waits in the stream exactly when every worker is busy.
- Running: each running entry is re-claimed by its own worker every third of ``job_claim_after_s``,
  which keeps its idle time low; an entry idle longer than that belongs to a dead worker and is taken
  over. Finished entries are acked and deleted, so the stream holds only queued and running work.
- Exactly one answer: the answer is claimed in the shared store under the entry id before it is
  posted (see ``SlackBot._deliver``), and a command's parent message is remembered there, so a re-run
  after a crash neither answers twice nor opens a second thread.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import structlog

log = structlog.get_logger("cloudops.jobs")

STREAM = "cloudops:jobs"
GROUP = "workers"
MAX_DELIVERIES = 3  # a request that took down this many workers is answered with an error instead

# KEYS[1] stream; ARGV: group, max waiting, kind, payload. Returns waiting entries ahead (-1 = full).
_ADMIT_LUA = """
local n = redis.call('XLEN', KEYS[1])
local running = 0
local ok, info = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1])
if ok then running = tonumber(info[1]) end
local waiting = n - running
if waiting >= tonumber(ARGV[2]) then return -1 end
redis.call('XADD', KEYS[1], '*', 'kind', ARGV[3], 'payload', ARGV[4])
return waiting
"""


def connect(url: str, timeout_s: float) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    return client


class JobStream:
    """The Socket Mode side: admit a request into the stream (one round trip) before acking it."""

    def __init__(self, client: redis.Redis, max_queue: int) -> None:
        self._client = client
        self._max_queue = max_queue
        self._admit = client.register_script(_ADMIT_LUA)
        client.script_load(_ADMIT_LUA)  # the first request is not the one that pays for it

    def add(self, kind: str, payload: dict[str, Any]) -> int | None:
        """0 = a worker takes it now, N = N-th in line, None = the line is full. Raises on Redis errors."""
        waiting = int(self._admit(keys=[STREAM], args=[GROUP, self._max_queue, kind, json.dumps(payload)]))
        if waiting < 0:
            return None
        return waiting + 1 if waiting else 0


Runner = Callable[[str, dict[str, Any], str], None]  # (kind, payload, entry id)


class StreamWorker:
    """The worker side: take entries while a thread is free, keep running ones claimed, ack when done."""

    def __init__(self, client: redis.Redis, run: Runner, submit: Callable[[Callable[[], None]], None],
                 threads: int, claim_after_s: float, *, give_up: Runner | None = None,
                 consumer: str = "", block_s: float = 0.5) -> None:
        self._client = client
        self._run = run
        self._submit = submit  # runs a callable on the worker's thread pool
        self._threads = threads
        self._claim_ms = int(claim_after_s * 1000)
        self._beat_s = claim_after_s / 3
        self._give_up = give_up
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._block_ms = int(block_s * 1000)
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def serve(self, stop: threading.Event) -> None:
        """Until ``stop``: take over abandoned entries, read new ones, heartbeat. Redis errors back off."""
        last_beat = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - last_beat >= self._beat_s:
                    self._heartbeat()
                    self._take_over()
                    last_beat = time.monotonic()
                free = self._threads - self.running
                if free <= 0:
                    with self._lock:
                        self._done.wait(0.05)
                    continue
                reply: Any = self._client.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=free,
                                                     block=self._block_ms)
                for _stream, entries in reply or []:
                    for entry_id, fields in entries:
                        self._start(_text(entry_id), fields)
            except redis.RedisError as exc:
                log.warning("job_stream_unavailable", error=str(exc)[:200])
                stop.wait(1.0)

    def wait_idle(self, timeout_s: float) -> bool:
        """For SIGTERM: entries still running after this stay pending and are taken over elsewhere."""
        with self._lock:
            return self._done.wait_for(lambda: not self._running, timeout=timeout_s)

    def _heartbeat(self) -> None:
        with self._lock:
            ids: list[Any] = list(self._running)
        if ids:  # re-claiming our own entries resets their idle time: they are not abandoned
            self._client.xclaim(STREAM, GROUP, self.consumer, 0, ids, justid=True)

    def _take_over(self) -> None:
        free = self._threads - self.running
        if free <= 0:
            return
        _next, claimed, *_ = self._client.xautoclaim(STREAM, GROUP, self.consumer, self._claim_ms,
                                                      start_id="0-0", count=free)
        for entry_id, fields in claimed:
            if not fields:  # deleted while pending: nothing left to run
                self._client.xack(STREAM, GROUP, entry_id)
                continue
            log.warning("job_taken_over", entry=_text(entry_id))
            self._start(_text(entry_id), fields)

    def _start(self, entry_id: str, fields: dict[Any, Any]) -> None:
        kind = _text(fields.get(b"kind", fields.get("kind", "")))
        payload = json.loads(_text(fields.get(b"payload", fields.get("payload", "{}"))))
        with self._lock:
            self._running.add(entry_id)

        def job() -> None:
            try:
                tries = self._deliveries(entry_id)
                if tries > MAX_DELIVERIES and self._give_up is not None:
                    self._give_up(kind, payload, entry_id)
                else:
                    self._run(kind, payload, entry_id)
            except Exception:
                log.exception("job_failed", entry=entry_id, kind=kind)
            finally:
                self._finish(entry_id)

        self._submit(job)

    def _deliveries(self, entry_id: str) -> int:
        rows = self._client.xpending_range(STREAM, GROUP, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    def _finish(self, entry_id: str) -> None:
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.xack(STREAM, GROUP, entry_id)
            pipe.xdel(STREAM, entry_id)
            pipe.execute()
        except redis.RedisError as exc:  # stays pending: re-run later finds the answer already claimed
            log.warning("job_ack_failed", entry=entry_id, error=str(exc)[:200])
        with self._lock:
            self._running.discard(entry_id)
            self._done.notify_all()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
