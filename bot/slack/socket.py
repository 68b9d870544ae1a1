"""Socket Mode lifecycle: connect, watch the link for /status, close. Bolt's adapter does the protocol.

The transport is Bolt's websocket-client adapter, not slack_sdk's built-in socket: with a Bolt app that
acks at once, the built-in client took 21 ms p50 / 62 ms p99 from envelope to ack frame, websocket-client
0.7 / 2.6 ms (100 commands at 50/s through the emulator; bench/README.md, ack_latency). Neither client
notices a silent link by itself (websocket-client sends pings but, without a ping timeout, never gives
up on a missing pong), so the watcher here applies a bound of its own: no pong for ``STALE_PINGS`` ping
intervals (``CLOUDOPS_SLACK_PING_INTERVAL_S``) plus ``STALE_SLACK_S`` means the link is down; it is
reported as such at once, the stale session is closed and a new one opened.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import structlog
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler

from bot.slack.app import SlackBot

log = structlog.get_logger("cloudops.slack")
STALE_PINGS = 2.0  # a pong normally answers each ping within milliseconds; two missed ones is a dead link
STALE_SLACK_S = 1.0  # plus this, for a ping sent late by a busy process (not a dead link)…
STALE_MIN_S = 3.0  # …and never less than slack_sdk's own bound at sub-second intervals (its int() rounds down)
CLOSE_NUDGE_S = 0.05  # how often a closing client's sleeping threads are woken until they notice


class SocketRunner:
    def __init__(self, bot: SlackBot, app_token: str, poll_s: float = 0.5) -> None:
        self.bot = bot
        self.handler = SocketModeHandler(bot.app, app_token, ping_interval=bot.settings.slack_ping_interval_s,
                                         concurrency=bot.settings.slack_concurrency)
        self._stop = threading.Event()
        self._poll = poll_s
        self._stale_s = max(STALE_PINGS * bot.settings.slack_ping_interval_s + STALE_SLACK_S, STALE_MIN_S)
        self._session: Any = None  # the SDK's current Connection, and when we first saw it
        self._since = 0.0
        self._replaced: Any = None  # the stale session already being replaced
        self._replacer: threading.Thread | None = None
        self._closing = threading.Event()  # no new sockets once stop() has begun
        self._watch = threading.Thread(target=self._watch_link, name="slack-link-watch", daemon=True)

    def start(self) -> None:
        """Connect without blocking; slack_sdk reconnects on its own after drops and `disconnect`."""
        self.handler.connect()  # type: ignore[no-untyped-call]
        self._watch.start()

    def _alive(self) -> bool:
        client = self.handler.client
        if not client.is_connected():
            return False
        session = client.current_session
        now = time.time()
        if session is not self._session:
            self._session, self._since = session, now
        last_pong = getattr(session, "last_pong_tm", 0.0) or self._since
        if now - max(last_pong, self._since) <= self._stale_s:
            return True
        if session is not self._replaced and not self._closing.is_set():
            self._replaced = session
            log.warning("slack_link_stale", seconds_without_pong=round(now - max(last_pong, self._since), 1))
            self._replacer = threading.Thread(target=self._replace, args=(session,), name="slack-reconnect",
                                              daemon=True)
            self._replacer.start()
        return False

    def _replace(self, session: Any) -> None:
        try:
            session.close()
            if not self._closing.is_set():  # a connect racing close() would leave the SDK a session to wait on
                self.handler.client.connect_to_new_endpoint()  # a no-op if the SDK got there first
        except Exception as exc:  # the SDK's own monitor retries on its next tick
            log.warning("slack_reconnect_failed", error=repr(exc))

    def _watch_link(self) -> None:
        while not self._stop.is_set():
            up = self._alive()
            if up != self.bot.state.slack_connected:
                log.info("slack_link", connected=up)
            self.bot.state.set_connected(up)
            self.bot.metrics.slack_connected.set(1 if up else 0)
            self._stop.wait(self._poll)

    def stop(self, drain_s: float) -> int:
        self._closing.set()
        aborted = self.bot.drain(drain_s)
        self._stop.set()
        if self._replacer is not None:
            self._replacer.join(10)
        self._close_handler()
        self.bot.state.set_connected(False)
        return aborted

    def _close_handler(self) -> None:
        """slack_sdk joins its reader and monitor threads without a timeout; one stuck in a socket call
        would hold a SIGTERM drain (or a test's teardown) for ever, so the close gets a bound of its own.
        Its threads also sleep in blocking calls of their own (a recv with a 3-second timeout, a queue read
        with a 1-second one) before they notice the close; waking them makes a close take milliseconds."""
        closer = threading.Thread(target=self.handler.close, name="slack-close", daemon=True)
        closer.start()
        deadline = time.monotonic() + self.bot.settings.slack_close_s
        while closer.is_alive() and (left := deadline - time.monotonic()) > 0:
            self._wake_client()
            closer.join(min(CLOSE_NUDGE_S, left))
        if closer.is_alive():
            log.warning("slack_close_timed_out", seconds=self.bot.settings.slack_close_s)

    def _wake_client(self) -> None:
        client = self.handler.client
        ws = getattr(client.current_session, "sock", None)  # websocket-client's WebSocket; .sock is the socket
        sock = getattr(ws, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # already shut or closed by the SDK or the peer
                sock.shutdown(socket.SHUT_RDWR)
        queue = getattr(client, "message_queue", None)
        if queue is not None:
            queue.put(None)  # the SDK's message loop skips a None and then sees that it is closed
