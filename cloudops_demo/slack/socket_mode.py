"""Socket Mode as Slack runs it: hello, envelopes to any open socket, acks, retries, disconnects.

Lives entirely on the emulator's event loop. The behaviours a resilient app must cope
with are reproduced on purpose: envelopes queue while no socket is open, un-acked
events_api envelopes come back with a new envelope_id and the same event_id, and
clients may hold overlapping sockets or vanish without a close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .records import Envelope
from .state import MAX_SOCKETS, Workspace

HOST = "applink-emulator-127-0-0-1"
MAX_RETRY_ATTEMPT = 3
# A socket that has said nothing (not even a pong) for this long is treated as half-open and cut.
# Generous on purpose: slack_sdk's builtin client does not read a new socket until its reconnect
# has finished, which takes ~3 s, and Slack itself is patient.
MIN_SILENCE_S = 60.0


@dataclass(eq=False)
class _Conn:
    sock: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    serial: int
    ready: bool = False
    last_heard: float = field(default_factory=time.monotonic)


class SocketHub:
    """Owns the open WebSockets and the delivery/redelivery of envelopes over them."""

    def __init__(self, ws: Workspace, *, seed: int, redeliver_after_s: float, ping_interval_s: float) -> None:
        self._ws = ws
        self._rng = random.Random(seed)
        self._redeliver_after_s = redeliver_after_s
        self._ping_interval_s = ping_interval_s
        self._conns: list[_Conn] = []
        self._queue: deque[Envelope] = deque()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._serials = itertools.count(1)

    # ---- connection lifecycle ----------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The ``/link`` endpoint: upgrade, hello, flush the backlog, then read acks until the socket dies."""
        if self._ws.refusing:
            return web.Response(status=503, text="socket mode unavailable")
        transport = request.transport
        # Pings are hand-written instead of aiohttp's ``heartbeat``: aiohttp pings with an empty
        # payload, a 2-byte frame that slack_sdk's builtin client cannot parse (its reader blocks
        # waiting for a third byte, then drops the frame), so it never answered and got cut off.
        sock = web.WebSocketResponse(autoping=False, compress=False)
        await sock.prepare(request)
        if len(self._conns) >= MAX_SOCKETS:
            await self._send_quietly(sock, self._disconnect_msg("too_many_websockets", len(self._conns)))
            await sock.close()
            return sock
        conn = _Conn(sock, transport, next(self._serials))
        self._conns.append(conn)  # reserve the slot before awaiting, so concurrent upgrades respect the cap
        pinger = asyncio.get_running_loop().create_task(self._ping_forever(conn))
        try:
            await sock.send_str(json.dumps(self._hello(len(self._conns))))
            conn.ready = True
            self._ws.set_connected(self._open_count(), opened=True)
            await self._flush_queue()
            async for msg in sock:
                conn.last_heard = time.monotonic()
                if msg.type == WSMsgType.TEXT:
                    self._on_text(str(msg.data))
                elif msg.type == WSMsgType.PING:
                    await sock.pong(msg.data)  # echo the payload: the client matches it to its ping
                elif msg.type == WSMsgType.PONG:
                    self._ws.note_pong()
        except (ConnectionError, RuntimeError):
            pass  # abrupt TCP closes are normal for the builtin client; the finally block tidies up
        finally:
            pinger.cancel()
            self._discard(conn)
        return sock

    async def _ping_forever(self, conn: _Conn) -> None:
        """Ping with a non-empty payload every interval, and cut sockets silent for too long."""
        silence_limit = max(MIN_SILENCE_S, 4 * self._ping_interval_s)
        n = 0
        while not conn.sock.closed:
            await asyncio.sleep(self._ping_interval_s)
            if time.monotonic() - conn.last_heard > silence_limit:
                if conn.transport is not None:
                    conn.transport.abort()  # type: ignore[attr-defined]
                return
            n += 1
            try:
                await conn.sock.ping(f"emulator-ping-{n}".encode())
            except (ConnectionError, RuntimeError):
                return

    def _hello(self, n: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": n,
            "debug_info": {"host": HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self._ws.app_id},
        }

    @staticmethod
    def _disconnect_msg(reason: str, n: int | None = None) -> dict[str, Any]:
        msg: dict[str, Any] = {"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}
        if n is not None:
            msg["num_connections"] = n
        return msg

    def _open_count(self) -> int:
        return sum(1 for c in self._conns if c.ready and not c.sock.closed)

    def _discard(self, conn: _Conn) -> None:
        with self._ws.lock:
            self._ws.closed_sockets.add(conn.serial)
        if conn in self._conns:
            self._conns.remove(conn)
            self._ws.set_connected(self._open_count())

    @staticmethod
    async def _send_quietly(sock: web.WebSocketResponse, msg: dict[str, Any]) -> bool:
        try:
            await sock.send_str(json.dumps(msg))
            return True
        except (ConnectionError, RuntimeError):
            return False

    # ---- delivery ----------------------------------------------------------------------------

    async def deliver(self, env: Envelope) -> None:
        """Send to one random open socket (Slack promises no distribution), or queue until one opens."""
        with self._ws.lock:
            self._ws.envelopes[env.envelope_id] = env
        data = env.to_json()
        while True:
            ready = [c for c in self._conns if c.ready and not c.sock.closed]
            if not ready:
                self._queue.append(env)
                return
            conn = self._rng.choice(ready)
            with self._ws.lock:
                self._ws.sent_at[env.envelope_id] = time.monotonic()
                self._ws.sent_on[env.envelope_id] = conn.serial
                self._ws.last_envelope_time = time.time()
            try:
                await conn.sock.send_str(data)
            except (ConnectionError, RuntimeError):
                self._discard(conn)
                continue
            self._ws.changed()
            self._schedule_redelivery(env)
            return

    async def _flush_queue(self) -> None:
        while self._queue and self._open_count():
            await self.deliver(self._queue.popleft())

    def _schedule_redelivery(self, env: Envelope) -> None:
        """Only events_api is retried, up to attempt 3, as Slack's Events API does."""
        if env.type != "events_api" or self._redeliver_after_s <= 0:
            return
        if (env.retry_attempt or 0) >= MAX_RETRY_ATTEMPT:
            return
        loop = asyncio.get_running_loop()
        self._timers[env.envelope_id] = loop.call_later(self._redeliver_after_s, self._on_timeout, env)

    def _on_timeout(self, env: Envelope) -> None:
        self._timers.pop(env.envelope_id, None)
        with self._ws.lock:
            if env.envelope_id in self._ws.acks:
                return
        self.spawn(self.deliver(env.retried(self._ws.new_uuid())))

    def spawn(self, coro: Any) -> None:
        """Run a coroutine in the background while keeping a reference, so it is not garbage-collected."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def redeliver(self, envelope_id: str) -> str:
        """Deliver an envelope again on demand, as a retry would look (duplicate-delivery tests)."""
        with self._ws.lock:
            env = self._ws.envelopes[envelope_id]
        new_id = self._ws.new_uuid()
        again = (
            env.retried(new_id)
            if env.type == "events_api"
            else Envelope(new_id, env.type, env.payload, env.accepts_response_payload)
        )
        await self.deliver(again)
        return new_id

    # ---- acks --------------------------------------------------------------------------------

    def _on_text(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            return
        envelope_id = data.get("envelope_id") if isinstance(data, dict) else None
        if not isinstance(envelope_id, str):
            return
        payload = data.get("payload") if isinstance(data.get("payload"), dict) else None
        env = self._ws.record_ack(envelope_id, payload, time.monotonic())
        timer = self._timers.pop(envelope_id, None)
        if timer is not None:
            timer.cancel()
        if env is not None and payload:
            self._apply_ack_payload(env, payload)

    def _apply_ack_payload(self, env: Envelope, payload: dict[str, Any]) -> None:
        """A slash command acked with text is a response the user sees: ephemeral unless in_channel."""
        if env.type != "slash_commands" or not (payload.get("text") or payload.get("blocks")):
            return
        channel, user = str(env.payload.get("channel_id")), str(env.payload.get("user_id"))
        with self._ws.lock:
            if payload.get("response_type") == "in_channel":
                self._ws.bot_message(channel, {"text": payload.get("text", ""), "blocks": payload.get("blocks")})
            else:
                self._ws.add_ephemeral(channel, user, payload, "ack")

    # ---- faults and shutdown -----------------------------------------------------------------

    async def broadcast_disconnect(self, reason: str, close_after_s: float | None) -> None:
        """Tell every socket to reconnect; Slack closes them itself only later, so by default we do not."""
        targets = list(self._conns)
        for conn in targets:
            await self._send_quietly(conn.sock, self._disconnect_msg(reason))
        if close_after_s is not None:
            self.spawn(self._close_later(targets, reason, close_after_s))

    @staticmethod
    async def _close_later(targets: list[_Conn], reason: str, delay: float) -> None:
        await asyncio.sleep(delay)
        for conn in targets:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.sock.close(code=1001, message=reason.encode())

    async def drop_all(self) -> None:
        """Cut every TCP connection without a close frame, as a network failure would.

        The sockets are forgotten at once, so an envelope sent right after this call is
        queued for the next connection instead of racing into a dead socket.
        """
        for conn in list(self._conns):
            if conn.transport is not None:
                conn.transport.abort()  # type: ignore[attr-defined]
            self._discard(conn)

    async def close_all(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for conn in list(self._conns):
            with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
                await asyncio.wait_for(conn.sock.close(code=1001, message=b"emulator stopping"), 1.0)
            if conn.transport is not None:
                conn.transport.abort()  # type: ignore[attr-defined]
        for task in list(self._tasks):
            task.cancel()
