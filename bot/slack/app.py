"""Build the Bolt App, register every listener from one table, ack first, work on our own pool.

Listeners do three things only: ack (milliseconds), reserve a place in the work queue, and submit the
job. The job turns the payload into a Request, runs the handler through the error boundary, renders
and posts in the thread. Every accepted request ends with exactly one answer (or one abort message).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.config import Settings
from bot.errors import NotAllowedError, RateLimitedError, UserInputError
from bot.metrics import ACTIONS
from bot.models import Reply, Request, Source, ThreadMessage
from bot.slack.groups import GroupCache
from bot.slack.inbound import command_request, mention_request, thread_history
from bot.slack.poster import Poster, PostError
from bot.slack.render import render
from bot.slack.workqueue import WorkQueue
from bot.state import BotState
from bot.text.mrkdwn import escape, inline_code
from handlers import dispatch
from handlers.guard import check_access
from handlers.services import Services

log = structlog.get_logger("cloudops.slack")
SLASH_COMMAND = "/cloudops"
EVENT_DEDUPE_TTL_S = 3600.0  # Slack retries an event for up to ~5 minutes; an hour is ample
ABORT_TEXT = (":octagonal_sign: CloudOps is restarting and could not finish this request. "
              "Nothing was changed; please ask again in a minute.")


def make_web_client(settings: Settings) -> WebClient:
    """slack_sdk's retry handlers: connection resets and 429 + Retry-After (off by default)."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3)],
    )


class SlackBot:
    """The Slack edge of one bot process."""

    def __init__(self, settings: Settings, services: Services, state: BotState) -> None:
        self.settings = settings
        self.services = services
        self.metrics = services.metrics
        self.state = state
        self.web = make_web_client(settings)
        auth = self.web.auth_test()
        self.bot_user_id = str(auth.get("user_id", ""))
        self.bot_id = str(auth.get("bot_id", ""))
        # Bolt's listener pool only runs ack-and-enqueue listeners, sized like the socket's reader pool.
        self.app = App(client=self.web, process_before_response=False,
                       listener_executor=ThreadPoolExecutor(settings.slack_concurrency, thread_name_prefix="bolt"))
        self.poster = Poster(self.web, self.metrics, settings.reply_retries)
        self.queue = WorkQueue(settings.workers, settings.max_queue)
        self.groups = GroupCache(self.poster, settings.access_read_groups + settings.access_model_groups)
        self._active: dict[str, tuple[str, str]] = {}  # job id -> (channel, thread_ts) while running
        self._finished: set[str] = set()  # job ids answered or aborted: never post twice
        self._lock = threading.Lock()
        self._aborting = False  # set when the drain time ran out: queued jobs abort instead of starting
        self.incidents: Any = None  # IncidentWatcher when CLOUDOPS_ALARM_CHANNEL is set (see runtime)
        configure(self.app, self)

    # --- the listener table -------------------------------------------------------------------------
    def listeners(self) -> list[tuple[str, str, Callable[..., None]]]:
        return [
            ("command", SLASH_COMMAND, self.on_command),
            ("event", "app_mention", self.on_mention),
            ("event", "message", self.on_message),
            *[("action", action_id, self.on_incident_action) for action_id in ACTIONS],
        ]

    # --- listeners: ack, reserve, submit ------------------------------------------------------------
    def on_command(self, ack: Ack, body: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        self.state.envelope_seen()
        if self.state.draining:
            ack(text="CloudOps is restarting; please try again in a minute.")
            return
        place = self.queue.reserve()
        if place is None:
            self.metrics.rate_limited.labels("queue_full").inc()
            ack(text=f":hourglass: CloudOps is at capacity ({self.queue.pending} requests in progress). "
                     "Please try again in a minute.")
            return
        text = str(body.get("text", "")).strip()
        line = f" — busy, you are number {place} in line" if place else ""
        ack(text=f":mag: Working on {inline_code('/cloudops ' + text[:200])}{line}. "
                 "The answer will appear in a thread in this channel.")
        self.metrics.ack_seconds.labels("command").observe(time.perf_counter() - t0)
        self.queue.submit(lambda: self._run_command(body))

    def on_mention(self, ack: Ack, event: dict[str, Any], body: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        ack()
        self.state.envelope_seen()
        self.metrics.ack_seconds.labels("mention").observe(time.perf_counter() - t0)
        if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("user") == self.bot_user_id:
            return
        key = str(body.get("event_id") or event.get("client_msg_id") or event.get("ts"))
        if not self.services.store.first_time(f"event:{key}", EVENT_DEDUPE_TTL_S):
            self.metrics.duplicates.inc()
            return
        channel, thread_ts = str(event.get("channel", "")), str(event.get("thread_ts") or event.get("ts", ""))
        if self.state.draining:
            self._post_safely(channel, thread_ts, ABORT_TEXT)
            return
        place = self.queue.reserve()
        if place is None:
            self.metrics.rate_limited.labels("queue_full").inc()
            self._post_safely(channel, thread_ts, ":hourglass: CloudOps is at capacity right now; "
                                                  "please ask again in a minute.")
            return
        if place:
            self._post_safely(channel, thread_ts, f":hourglass: Busy — you are number {place} in line.")
        self.queue.submit(lambda: self._run_mention(event))

    def on_message(self, ack: Ack) -> None:
        """Plain channel messages are not for us (mentions arrive as app_mention); ack so Bolt is quiet."""
        ack()

    def on_incident_action(self, ack: Ack, body: dict[str, Any]) -> None:
        """Investigate / Acknowledge / Mute on an incident parent: authorised like commands, audited."""
        ack()
        self.state.envelope_seen()
        action = (body.get("actions") or [{}])[0]
        action_id, alarm = str(action.get("action_id", "")), str(action.get("value", ""))
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", ""))
        thread_ts = str((body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts", ""))
        text = f"{action_id} {alarm}"
        if action_id == "incident_investigate":
            text = (f"ask Investigate the CloudWatch alarm {alarm}: why did it fire, is it related to other "
                    "alarms, and what should the on-call engineer check first?")
        request = Request(text=text, source=Source.ACTION, user=user, channel=channel, thread_ts=thread_ts,
                          user_groups=self.groups.groups_of(user))
        access = "sensitive" if action_id == "incident_investigate" else "read"
        try:
            check_access(request, access, self.settings)
        except NotAllowedError as exc:
            self.metrics.actions.labels(action_id, "denied").inc()
            dispatch.audit_denial(request, exc, self.services)
            self._ephemeral(request, f":no_entry: Sorry — {escape(exc.message)}.")
            return
        watcher = self.incidents
        if watcher is None or watcher.find(alarm) is None:
            self.metrics.actions.labels(action_id, "unknown").inc()
            self._ephemeral(request, "I am not tracking an incident for that alarm any more.")
            return
        self.metrics.actions.labels(action_id, "ok").inc()
        log.info("action", action=action_id, alarm=alarm, user=user, channel=channel)
        if action_id == "incident_ack":
            self.queue_or_refuse(request, lambda: watcher.acknowledge(alarm, user))
        elif action_id == "incident_mute":
            self.queue_or_refuse(request, lambda: watcher.mute(alarm, user))
        else:
            self.queue_or_refuse(request, lambda: self._answer(request))

    def queue_or_refuse(self, request: Request, job: Callable[[], Any]) -> None:
        if self.queue.reserve() is None:
            self._ephemeral(request, ":hourglass: CloudOps is at capacity; please try again in a minute.")
            return
        self.queue.submit(lambda: job() and None)

    def _ephemeral(self, request: Request, text: str) -> None:
        extra: dict[str, Any] = {"thread_ts": request.thread_ts} if request.thread_ts else {}
        try:
            self.poster.call("chat.postEphemeral", channel=request.channel, user=request.user, text=text, **extra)
        except PostError as err:
            log.error("ephemeral_failed", error=str(err))

    # --- jobs ---------------------------------------------------------------------------------------
    def _admit(self, request: Request) -> tuple[Request, Any] | None:
        """Access and rate limits before anything is posted; refusals are told privately and audited."""
        from dataclasses import replace

        request = replace(request, user_groups=self.groups.groups_of(request.user))
        try:
            return request, dispatch.admit(request, self.services)
        except (NotAllowedError, RateLimitedError) as exc:
            dispatch.audit_denial(request, exc, self.services)
            self.metrics.requests.labels(request.source.value, "unknown", exc.kind).inc()
            self._ephemeral(request, f":no_entry: Sorry — {escape(exc.message)}."
                                     + (f" {escape(exc.hint)}." if exc.hint else ""))
            return None
        except UserInputError:
            return request, None  # bad input is answered in the thread by the error boundary

    def _run_command(self, body: dict[str, Any]) -> None:
        admitted = self._admit(command_request(body))
        if admitted is None:
            return
        request, route = admitted
        parent = f"<@{escape(request.user)}> asked: {inline_code('/cloudops ' + request.text[:300])}"
        try:
            parent_ts = self.poster.post_text(request.channel, parent)
        except PostError as exc:
            self.metrics.reply_failures.inc()
            log.error("parent_post_failed", channel=request.channel, error=str(exc))
            return
        from dataclasses import replace

        self._answer(replace(request, thread_ts=parent_ts), route)

    def _run_mention(self, event: dict[str, Any]) -> None:
        history: tuple[ThreadMessage, ...] = ()
        if event.get("thread_ts"):
            try:
                messages = self.poster.replies(str(event["channel"]), str(event["thread_ts"]),
                                               self.settings.thread_history_messages)
                history = thread_history(messages, str(event.get("ts", "")), self.bot_user_id, self.bot_id,
                                         self.settings.thread_history_messages)
            except PostError as exc:  # answer without context rather than not at all
                log.warning("thread_read_failed", error=str(exc))
        admitted = self._admit(mention_request(event, self.bot_user_id, history))
        if admitted is not None:
            self._answer(*admitted)

    def _answer(self, request: Request, admitted: Any = None) -> None:
        job = uuid.uuid4().hex
        channel, thread_ts = request.channel, request.thread_ts or ""
        if self._aborting:
            self._post_safely(channel, thread_ts, ABORT_TEXT)
            return
        with self._lock:
            self._active[job] = (channel, thread_ts)
        self.metrics.in_flight.inc()
        self.state.add_in_flight(1)
        start = time.perf_counter()
        command, outcome = "unknown", "internal"
        try:
            reply, command, outcome = dispatch.handle(request, self.services, admitted)
            self._deliver(job, channel, thread_ts, reply)
        finally:
            self.metrics.in_flight.dec()
            self.state.add_in_flight(-1)
            self.metrics.requests.labels(request.source.value, command, outcome).inc()
            self.metrics.request_seconds.labels(request.source.value, command).observe(time.perf_counter() - start)
            with self._lock:
                self._active.pop(job, None)

    def _deliver(self, job: str, channel: str, thread_ts: str, reply: Reply) -> None:
        with self._lock:
            if job in self._finished:  # aborted at shutdown: the user already has a message
                return
            self._finished.add(job)
        for message in render(reply):
            try:
                self.poster.post(channel, message, thread_ts)
            except PostError as exc:
                log.error("reply_post_failed", channel=channel, error=str(exc))
                fallback = (f"{message.text[:2500]}\n_(Slack rejected the formatted answer: "
                            f"{escape(str(exc))[:200]})_")
                if not self._post_safely(channel, thread_ts, fallback):
                    self.metrics.reply_failures.inc()
                    return

    def _post_safely(self, channel: str, thread_ts: str, text: str) -> bool:
        try:
            self.poster.post_text(channel, text, thread_ts)
            return True
        except PostError as exc:
            log.error("post_failed", channel=channel, error=str(exc))
            return False

    # --- shutdown -----------------------------------------------------------------------------------
    def drain(self, timeout_s: float) -> int:
        """Stop taking work, wait for jobs, then abort the rest with a message. Returns jobs aborted."""
        self.state.draining = True
        if self.queue.wait_idle(timeout_s):
            return 0
        with self._lock:
            stuck = [(job, where) for job, where in self._active.items() if job not in self._finished]
            self._finished.update(job for job, _ in stuck)
            self._aborting = True
        for _job, (channel, thread_ts) in stuck:
            self._post_safely(channel, thread_ts, ABORT_TEXT)
        self.queue.wait_idle(5.0)  # queued jobs now post their abort message and end at once
        return len(stuck)


def configure(app: App, bot: SlackBot) -> None:
    """Register every listener from the bot's one table (Dispatch's ``configure()`` idea)."""
    for kind, key, fn in bot.listeners():
        if kind == "command":
            app.command(key)(fn)
        elif kind == "action":
            app.action(key)(fn)
        elif kind == "event":
            app.event(key)(fn)
        else:  # pragma: no cover - the table only holds the kinds above
            raise ValueError(kind)
