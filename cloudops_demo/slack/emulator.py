"""``SlackEmulator``: a local Slack that the real slack_bolt/slack_sdk code connects to on 127.0.0.1.

Tests and the ``cloudops-bot demo`` use the same object: they drive it like users
(slash commands, mentions, button clicks), break it like production breaks (rate
limits, disconnects, dropped sockets, outages) and read back what a user would see.
Every public method is safe to call from any thread.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import TracebackType
from typing import Any

from . import payloads
from .faults import Faults
from .records import AckRecord, ApiCall, Envelope, ResponseUrl, UploadedFile
from .server import EmulatorServer
from .socket_mode import SocketHub
from .state import Workspace
from .text import render_thread


class SlackEmulator:
    """Web API + Socket Mode + response_url + file uploads on one ephemeral 127.0.0.1 port."""

    def __init__(
        self,
        *,
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_id: str = "T1",
        app_id: str = "A1",
        bot_token_prefix: str = "xoxb-",
        redeliver_after_s: float = 3.0,
        seed: int = 0,
        ping_interval_s: float = 15.0,
    ) -> None:
        self._ws = Workspace(bot_user_id=bot_user_id, bot_id=bot_id, team_id=team_id, app_id=app_id, seed=seed)
        self._faults = Faults(seed)
        self._hub = SocketHub(self._ws, seed=seed, redeliver_after_s=redeliver_after_s, ping_interval_s=ping_interval_s)
        self._server = EmulatorServer(self._ws, self._faults, self._hub, bot_token_prefix=bot_token_prefix)
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.app_id = app_id

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        """Close every socket and the port, and join the loop thread."""
        self._server.stop()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` — the root every endpoint hangs off."""
        return self._server.base_url

    @property
    def api_url(self) -> str:
        """What ``WebClient(base_url=…)`` / ``SLACK_API_URL`` should get."""
        return f"{self._server.base_url}/api/"

    @property
    def connected(self) -> int:
        """Sockets open right now."""
        return self._ws.connected

    @property
    def connections_opened(self) -> int:
        """Sockets opened since start (hello sent), to observe reconnects."""
        return self._ws.connections_opened

    @property
    def pongs_received(self) -> int:
        """Pongs answering the emulator's pings, across all sockets."""
        return self._ws.pongs_received

    @property
    def last_envelope_time(self) -> float | None:
        return self._ws.last_envelope_time

    # ---- setup -------------------------------------------------------------------------------

    def add_user(self, user_id: str, *, name: str, real_name: str | None = None) -> None:
        """Give a user a name, so slash-command payloads and users.info show it."""
        profile = self._ws.user(user_id)
        profile.update(name=name, real_name=real_name or name)
        profile["profile"].update(real_name=real_name or name, display_name=name)
        with self._ws.lock:
            self._ws.users[user_id] = profile

    def add_usergroup(self, group_id: str, members: list[str]) -> None:
        """A user group (S…) and its members, for usergroups.users.list."""
        with self._ws.lock:
            self._ws.usergroups[group_id] = list(members)

    def add_channel(self, channel_id: str, name: str) -> None:
        with self._ws.lock:
            self._ws.channel_names[channel_id] = name

    # ---- drive -------------------------------------------------------------------------------

    def send_envelope(
        self,
        type_: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
    ) -> str:
        """Push any envelope; events_api envelopes always carry retry fields, as Slack's do."""
        if type_ == "events_api" and retry_attempt is None:
            retry_attempt = 0
        reason = None if retry_attempt is None else ("timeout" if retry_attempt > 0 else "")
        env = Envelope(self._ws.new_uuid(), type_, payload, accepts_response_payload, retry_attempt, reason)
        self._server.run(self._hub.deliver(env))
        return env.envelope_id

    def _response_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        rid = self._ws.new_short_id("R")
        with self._ws.lock:
            self._ws.response_urls[rid] = ResponseUrl(channel, user, message_ts)
        return f"{self._server.base_url}/response/{rid}"

    def send_slash_command(
        self, text: str, *, user: str = "U1", channel: str = "C1", command: str = "/cloudops"
    ) -> str:
        """A user runs ``command text``; returns the envelope_id (acks are keyed by it)."""
        payload = payloads.slash_command(
            self._ws,
            text=text,
            user=user,
            channel=channel,
            command=command,
            response_url=self._response_url(channel, user),
            trigger_id=payloads.trigger_id(self._ws),
        )
        return self.send_envelope("slash_commands", payload, accepts_response_payload=True)

    def send_mention(self, text: str, *, user: str = "U1", channel: str = "C1", thread_ts: str | None = None) -> str:
        """A user writes ``@bot text``: stored in history, then delivered as app_mention. Returns its ts."""
        mention = f"<@{self.bot_user_id}>"
        full = text if text.startswith(mention) else f"{mention} {text}"
        msg = payloads.user_message(self._ws, channel, full, user, thread_ts)
        self.send_event(payloads.app_mention(copy.deepcopy(msg), channel))
        return str(msg["ts"])

    def post_user_message(self, channel: str, text: str, *, user: str = "U1", thread_ts: str | None = None) -> str:
        """A human message that exists in history but triggers no event; returns its ts."""
        return str(payloads.user_message(self._ws, channel, text, user, thread_ts)["ts"])

    def send_event(self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0) -> str:
        """Deliver any Events API event wrapped in event_callback; returns the envelope_id."""
        event = dict(event)
        event.setdefault("event_ts", event.get("ts") or self._ws.new_ts())
        body = payloads.event_callback(self._ws, event, event_id or self._ws.new_short_id("Ev"))
        return self.send_envelope("events_api", body, retry_attempt=retry_attempt)

    def send_block_action(
        self, *, channel: str, message_ts: str, action_id: str, value: str, user: str = "U1", block_id: str = "b"
    ) -> str:
        """A user clicks a button on an existing message; returns the envelope_id."""
        with self._ws.lock:
            message = copy.deepcopy(self._ws.find(channel, message_ts))
        if message is None:
            raise KeyError(f"no message {message_ts} in {channel} to click on")
        payload = payloads.block_action(
            self._ws,
            message=message,
            channel=channel,
            user=user,
            action_id=action_id,
            block_id=block_id,
            value=value,
            response_url=self._response_url(channel, user, message_ts),
            trigger_id=payloads.trigger_id(self._ws),
        )
        return self.send_envelope("interactive", payload)

    def redeliver(self, envelope_id: str) -> str:
        """Deliver an envelope again: same event_id, new envelope_id, retry_attempt+1, reason "timeout"."""
        return self._server.run(self._hub.redeliver(envelope_id))

    def disconnect_all(self, reason: str = "refresh_requested", *, close_after_s: float | None = None) -> None:
        """Send ``{"type":"disconnect"}`` to every socket; optionally close them ``close_after_s`` later."""
        self._server.run(self._hub.broadcast_disconnect(reason, close_after_s))

    def drop_sockets(self) -> None:
        """Abrupt TCP close of every socket, without a close frame."""
        self._server.run(self._hub.drop_all())

    def refuse_connections(self, refuse: bool) -> None:
        """While True, apps.connections.open fails and WebSocket upgrades get HTTP 503 (an outage)."""
        with self._ws.lock:
            self._ws.refusing = refuse

    # ---- faults ------------------------------------------------------------------------------

    def rate_limit(
        self, method: str, *, every: int = 0, probability: float = 0.0, retry_after: int = 1, times: int = 0
    ) -> None:
        """Answer HTTP 429 + integer Retry-After: every N-th call, with a probability, or the next ``times``."""
        self._faults.rate_limit(method, every=every, probability=probability, retry_after=retry_after, times=times)

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        self._faults.fail(method, error, times=times)

    def accept_then_fail(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take effect, then answer HTTP 500 (a lost answer)."""
        self._faults.accept_then_fail(method, times=times)

    def clear_faults(self, method: str | None = None) -> None:
        self._faults.clear(method)

    # ---- observe -----------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._ws.lock:
            return [c for c in self._ws.calls if method is None or c.method == method]

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        return self._ws.top_level(channel)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        return self._ws.thread(channel, ts)

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._ws.lock:
            return copy.deepcopy([e for e in self._ws.ephemerals if channel is None or e["channel"] == channel])

    def acks(self) -> dict[str, AckRecord]:
        with self._ws.lock:
            return dict(self._ws.acks)

    def cut_before_ack(self, envelope_id: str) -> bool:
        """True when the envelope went out on a socket that closed before its ack came back.

        Such an ack cannot arrive (Slack shows that user a timeout); an envelope unacked on a socket that is
        still open, or never sent, is the app's fault.
        """
        with self._ws.lock:
            serial = self._ws.sent_on.get(envelope_id)
            return envelope_id not in self._ws.acks and serial in self._ws.closed_sockets

    def envelope(self, envelope_id: str) -> Envelope:
        """The envelope as sent, e.g. to read the event_id of a redelivery."""
        with self._ws.lock:
            return self._ws.envelopes[envelope_id]

    def envelopes(self) -> list[Envelope]:
        with self._ws.lock:
            return list(self._ws.envelopes.values())

    def files(self) -> list[UploadedFile]:
        with self._ws.lock:
            return list(self._ws.files.values())

    def views(self) -> list[dict[str, Any]]:
        with self._ws.lock:
            return copy.deepcopy(self._ws.views)

    def streaming(self, channel: str, ts: str) -> bool:
        """True while the message at ``ts`` is an open stream (started, not stopped)."""
        with self._ws.lock:
            return (channel, ts) in self._ws.open_streams

    def assistant_thread(self, channel: str, thread_ts: str) -> dict[str, Any]:
        """Status/title/prompts last set for an assistant thread (status clears when the bot replies)."""
        with self._ws.lock:
            return copy.deepcopy(self._ws.assistant.get((channel, thread_ts), {}))

    def response_url_posts(self) -> list[dict[str, Any]]:
        with self._ws.lock:
            return copy.deepcopy([p for ru in self._ws.response_urls.values() for p in ru.posts])

    # ---- wait --------------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate()`` holds; re-checked on every change, no polling.

        The predicate runs with the emulator's state lock held, so it must only observe.
        """
        with self._ws.cond:
            return bool(self._ws.cond.wait_for(predicate, timeout))

    def wait_thread_replies(self, channel: str, ts: str, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Replies (parent excluded) once at least ``n`` exist and none is still streaming (a reader waits
        for the whole answer); TimeoutError with a readable dump otherwise."""

        def done() -> bool:
            replies = self._ws.thread(channel, ts)[1:]
            return len(replies) >= n and not any((channel, m["ts"]) in self._ws.open_streams for m in replies)

        if self.wait_for(done, timeout):
            return self._ws.thread(channel, ts)[1:]
        raise TimeoutError(self._dump(f"expected {n} replies in {channel}/{ts}", channel, ts))

    def wait_connected(self, n: int = 1, timeout: float = 10.0) -> None:
        if not self.wait_for(lambda: self._ws.connected >= n, timeout):
            raise TimeoutError(self._dump(f"expected {n} open sockets, have {self._ws.connected}"))

    def _dump(self, headline: str, channel: str | None = None, ts: str | None = None) -> str:
        lines = [headline]
        if channel is not None and ts is not None:
            lines += ["thread:", render_thread(self._ws.thread(channel, ts))]
        lines.append(f"sockets open={self._ws.connected} opened={self._ws.connections_opened}")
        lines.append("last API calls:")
        for call in self.calls()[-15:]:
            outcome = call.error or "ok"
            lines.append(f"  {call.method} -> {call.status} {outcome}")
        with self._ws.lock:
            unacked = [e for e in self._ws.envelopes if e not in self._ws.acks]
        lines.append(f"un-acked envelopes: {len(unacked)}")
        return "\n".join(lines)
