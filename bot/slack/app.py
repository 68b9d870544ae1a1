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
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import structlog
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot import progress
from bot.config import Settings
from bot.config_actions import action_groups
from bot.errors import NotAllowedError, RateLimitedError, UserInputError
from bot.models import Reply, Request, ThreadMessage
from bot.slack import actions, approvals, conversations
from bot.slack.actions import Answer, AnswerCache, ButtonDeps, with_buttons
from bot.slack.approvals import ApprovalDeps, post_cards
from bot.slack.chart_upload import post_charts
from bot.slack.conversations import ConversationDeps
from bot.slack.groups import GroupCache
from bot.slack.inbound import command_request, mention_request, thread_history
from bot.slack.incidents import IncidentWatcher
from bot.slack.poster import Poster, PostError
from bot.slack.status import StatusLine
from bot.slack.stream import AnswerStream
from bot.slack.workqueue import WorkQueue
from bot.state import BotState
from bot.text.mrkdwn import escape, inline_code
from handlers import dispatch, registry
from handlers.services import Services

if TYPE_CHECKING:  # redis-py is imported only with CLOUDOPS_JOB_QUEUE=redis (see Bot.start)
    from bot.slack.jobstream import JobStream

log = structlog.get_logger("cloudops.slack")
SLASH_COMMAND = "/cloudops"
EVENT_DEDUPE_TTL_S = 3600.0  # Slack retries an event for up to ~5 minutes; an hour is ample
FIRST_STATUS = "is looking into it…"
FAILED_TEXT = (":warning: CloudOps could not finish this request (it stopped a worker more than once). "
               "Nothing was changed; please ask again or try a narrower question.")
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
        self.team_id = str(auth.get("team_id", ""))  # streamed answers name their recipient's team
        # The ack frame leaves as soon as the listener returns: no hand-off to Bolt's pool and no 10 ms
        # polling for ack() (process_before_response). So listeners ack and enqueue; slower follow-up
        # work (a mention's dedupe, "busy" note and status line) goes to ``edge``.
        self.edge = ThreadPoolExecutor(settings.slack_concurrency, thread_name_prefix="bolt")
        self.app = App(client=self.web, process_before_response=True, listener_executor=self.edge)
        self.poster = Poster(self.web, self.metrics, settings.reply_retries)
        self.queue = WorkQueue(settings.workers, settings.max_queue, on_waiting=self.metrics.queued.set)
        self.groups = GroupCache(self.poster, settings.access_read_groups + settings.access_model_groups
                                 + action_groups(settings))
        self._active: dict[str, tuple[str, str]] = {}  # job id -> (channel, thread_ts) while running
        self._finished: set[str] = set()  # job ids answered or aborted: never post twice
        self._lock = threading.Lock()
        self._aborting = False  # set when the drain time ran out: queued jobs abort instead of starting
        self.incidents: IncidentWatcher | None = None  # watch_incidents(), when an alarm channel is set
        self.jobs: JobStream | None = None  # CLOUDOPS_JOB_QUEUE=redis: requests go to worker processes
        self.answers = AnswerCache(services.store, self.settings.answer_ttl_s, self.settings.answer_max_chars)
        configure(self.app, self,
                  ButtonDeps(replies=self, state=state, settings=settings, services=services, answers=self.answers,
                             groups_of=self.groups.groups_of, incidents=lambda: self.incidents),
                  ConversationDeps(replies=self, state=state, store=services.store,
                                   max_question_chars=settings.max_question_chars),
                  ApprovalDeps(replies=self, poster=self.poster, state=state, services=services,
                               groups_of=self.groups.groups_of, specs=registry.action_spec))

    def watch_incidents(self) -> IncidentWatcher:
        """Start the alarm watcher (CLOUDOPS_ALARM_CHANNEL / _ROUTES); its buttons find it here."""
        self.incidents = IncidentWatcher(self.settings, self.services, self.poster, self.queue, self).start()
        return self.incidents

    # --- listeners: ack, reserve, submit ------------------------------------------------------------
    def on_command(self, ack: Ack, body: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        self.state.envelope_seen()
        if self.state.draining:
            ack(text="CloudOps is restarting; please try again in a minute.")
            return
        place, start = self._enqueue("command", body)
        if place is None:
            self.metrics.rate_limited.labels("queue_full").inc()
            ack(text=":hourglass: CloudOps is at capacity (too many requests in progress). "
                     "Please try again in a minute.")
            return
        text = str(body.get("text", "")).strip()
        line = f" — busy, you are number {place} in line" if place else ""
        ack(text=f":mag: Working on {inline_code('/cloudops ' + self.services.scrub(text)[:200])}{line}. "
                 "The answer will appear in a thread in this channel.")
        self.metrics.ack_seconds.labels("command").observe(time.perf_counter() - t0)
        start()

    def on_mention(self, ack: Ack, event: dict[str, Any], body: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        ack()
        self.state.envelope_seen()
        self.metrics.ack_seconds.labels("mention").observe(time.perf_counter() - t0)
        self.edge.submit(self._accept_event, event, body)

    def _accept_event(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """Mentions and direct messages: dedupe, then queue; each is answered in its own thread."""
        if event.get("bot_id") or event.get("subtype") or event.get("user") == self.bot_user_id:
            return
        key = str(body.get("event_id") or event.get("client_msg_id") or event.get("ts"))
        if not self.services.store.first_time(f"event:{key}", EVENT_DEDUPE_TTL_S):
            self.metrics.duplicates.inc()
            return
        channel, thread_ts = str(event.get("channel", "")), str(event.get("thread_ts") or event.get("ts", ""))
        if self.state.draining:
            self.post_text_safely(channel, thread_ts, ABORT_TEXT)
            return
        place, start = self._enqueue("mention", event)
        if place is None:
            self.metrics.rate_limited.labels("queue_full").inc()
            self.post_text_safely(channel, thread_ts, ":hourglass: CloudOps is at capacity right now; "
                                                  "please ask again in a minute.")
            return
        if place:
            self.post_text_safely(channel, thread_ts, f":hourglass: Busy — you are number {place} in line.")
        else:  # the first visible reaction, before any worker has looked at the question
            StatusLine(self.poster, channel, thread_ts)(FIRST_STATUS)
        start()

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> tuple[int | None, Callable[[], None]]:
        """Reserve a place: on the job stream when there is one (a worker process starts it), else on our
        own threads (``start()`` after the ack submits it). A dead Redis falls back to our own threads."""
        if self.jobs is not None:
            try:
                return self.jobs.add(kind, payload), lambda: None
            except Exception as exc:  # redis errors and timeouts: answering matters more than where
                log.warning("job_stream_add_failed", error=str(exc)[:200])
        place = self.queue.reserve()
        return place, lambda: self.queue.submit(lambda: self.run_job(kind, payload))

    def run_job(self, kind: str, payload: dict[str, Any], key: str = "") -> None:
        """One queued request; ``key`` (the stream entry) makes a re-run after a crash answer only once."""
        if kind == "command":
            self._run_command(payload, key)
        else:
            self._run_mention(payload, key)

    def give_up_job(self, kind: str, payload: dict[str, Any], key: str) -> None:
        """A request that keeps taking its worker down gets one clear error instead of another try."""
        if not self.services.store.first_time(f"answered:{key}", EVENT_DEDUPE_TTL_S):
            return
        parent = self.services.store.get_text(f"parent:{key}") or ""
        channel = str(payload.get("channel_id") or payload.get("channel") or "")
        thread_ts = parent if kind == "command" else str(payload.get("thread_ts") or payload.get("ts") or "")
        if channel and (thread_ts or kind == "command"):
            self.post_text_safely(channel, thread_ts, FAILED_TEXT)

    def on_message(self, ack: Ack, event: dict[str, Any], body: dict[str, Any]) -> None:
        """Direct messages are answered like mentions (each user message is a thread root). Channel
        messages are not for us: mentions arrive as app_mention."""
        ack()
        if event.get("channel_type") == "im":
            self.state.envelope_seen()
            self.edge.submit(self._accept_event, event, body)

    def queue_or_refuse(self, request: Request, job: Callable[[], Any]) -> None:
        if self.queue.reserve() is None:
            self.ephemeral(request, ":hourglass: CloudOps is at capacity; please try again in a minute.")
            return
        self.queue.submit(lambda: job() and None)

    def ephemeral(self, request: Request, text: str) -> None:
        extra: dict[str, Any] = {"thread_ts": request.thread_ts} if request.thread_ts else {}
        try:
            self.poster.call("chat.postEphemeral", channel=request.channel, user=request.user, text=text, **extra)
        except PostError as err:
            log.error("ephemeral_failed", error=str(err))

    # --- jobs ---------------------------------------------------------------------------------------
    def _admit(self, request: Request) -> tuple[Request, dispatch.Admitted | None] | None:
        """Access and rate limits before anything is posted; refusals are told privately and audited."""
        from dataclasses import replace

        request = replace(request, user_groups=self.groups.groups_of(request.user))
        try:
            return request, dispatch.admit(request, self.services)
        except (NotAllowedError, RateLimitedError) as exc:
            dispatch.refuse(request, exc, self.services)
            self.ephemeral(request, f":no_entry: Sorry — {escape(exc.message)}."
                                     + (f" {escape(exc.hint)}." if exc.hint else ""))
            return None
        except UserInputError:
            return request, None  # bad input is answered in the thread by the error boundary

    def _run_command(self, body: dict[str, Any], key: str = "") -> None:
        admitted = self._admit(command_request(body))
        if admitted is None:
            return
        request, route = admitted
        asked = self.services.scrub(request.text)[:300]  # cleaned and redacted like everything else we post
        parent = f"<@{escape(request.user)}> asked: {inline_code('/cloudops ' + asked)}"
        try:
            parent_ts = (self.services.store.get_text(f"parent:{key}") if key else None) or ""
            if not parent_ts:
                parent_ts = self.poster.post_text(request.channel, parent)
                if key:  # a re-run after a crash answers in this thread instead of opening another
                    self.services.store.put_text(f"parent:{key}", parent_ts, EVENT_DEDUPE_TTL_S)
        except PostError as exc:
            log.error("parent_post_failed", channel=request.channel, error=str(exc))
            # The response_url works even where the bot may not post (not invited, private channel).
            hint = ("I can't post in this channel. Invite me with `/invite @CloudOps` and try again."
                    if "not_in_channel" in str(exc) or "channel_not_found" in str(exc)
                    else "I couldn't post the answer thread here (Slack said: "
                         f"{escape(str(exc))[:150]}). Please try again in a minute.")
            if not self.poster.respond(str(body.get("response_url", "")), f":warning: {hint}"):
                self.metrics.reply_failures.inc()
            return
        self._answer(replace(request, thread_ts=parent_ts), route, key)

    def answer_admitted(self, request: Request) -> None:
        """Admission, then the answer in ``request.thread_ts`` (buttons, shortcuts)."""
        admitted = self._admit(request)
        if admitted is not None:
            self._answer(*admitted)

    def upload(self, channel: str, thread_ts: str, *, filename: str, title: str, content: bytes) -> None:
        self.poster.upload(channel, thread_ts, filename=filename, title=title, content=content)

    def _run_mention(self, event: dict[str, Any], key: str = "") -> None:
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
            self._answer(*admitted, key)

    def _answer(self, request: Request, admitted: dispatch.Admitted | None = None, key: str = "") -> None:
        job = key or uuid.uuid4().hex
        channel, thread_ts = request.channel, request.thread_ts or ""
        if self._aborting:
            self.post_text_safely(channel, thread_ts, ABORT_TEXT)
            return
        with self._lock:
            self._active[job] = (channel, thread_ts)
        self.state.add_in_flight(1)
        status = StatusLine(self.poster, channel, thread_ts)
        stream = AnswerStream.for_thread(self.poster, self.settings, channel, thread_ts, user=request.user,
                                         team=self.team_id)

        def deliver(reply: Reply, command: str) -> None:
            if key and not self.services.store.first_time(f"answered:{key}", EVENT_DEDUPE_TTL_S):
                return  # a stream entry re-run after a crash, whose answer the first worker already claimed
            answer_id = self.answers.put(Answer(request, reply, command)) if reply.ok else ""
            self._deliver(job, channel, thread_ts, reply, answer_id, stream)
            if stream is not None and stream.shown:
                status.clear()  # no new message was posted that would have cleared it

        try:
            token, answer_token = progress.bind(status), progress.bind_answer(stream)
            try:
                dispatch.handle(request, self.services, admitted, deliver)
            finally:
                progress.unbind_answer(answer_token)
                progress.unbind(token)
        finally:
            if stream is not None:
                stream.cancel()  # closes a stream left open (aborted at shutdown); a no-op after finish
            self.state.add_in_flight(-1)
            with self._lock:
                self._active.pop(job, None)

    def _deliver(self, job: str, channel: str, thread_ts: str, reply: Reply, answer_id: str = "",
                 stream: AnswerStream | None = None) -> None:
        with self._lock:
            if job in self._finished:  # aborted at shutdown: the user already has a message
                return
            self._finished.add(job)
        # A streamed answer already has its message: the reply goes there and only the rest is posted.
        messages = (stream.finish(reply, lambda r: with_buttons(r, answer_id)) if stream is not None
                    else with_buttons(reply, answer_id))
        for message in messages:
            try:
                self.poster.post(channel, message, thread_ts)
            except PostError as exc:
                log.error("reply_post_failed", channel=channel, error=str(exc))
                fallback = (f"{message.text[:2500]}\n_(Slack rejected the formatted answer: "
                            f"{escape(str(exc))[:200]})_")
                if not self.post_text_safely(channel, thread_ts, fallback):
                    self.metrics.reply_failures.inc()
                    return
        if reply.charts:  # after the answer: a chart that fails costs one line, never the answer
            post_charts(self.poster, channel, thread_ts, reply.charts)
        if reply.proposals:  # each proposal's card, with its Approve / Reject buttons
            post_cards(self.poster, self.services, channel, thread_ts, reply.proposals)

    def post_text_safely(self, channel: str, thread_ts: str, text: str) -> bool:
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
            self.post_text_safely(channel, thread_ts, ABORT_TEXT)
        self.queue.wait_idle(5.0)  # queued jobs now post their abort message and end at once
        return len(stuck)


def configure(app: App, inbound: SlackBot, buttons: ButtonDeps, talk: ConversationDeps,
              approve: ApprovalDeps) -> None:
    """Register every listener: the inbound requests here, then each feature's own (Dispatch's
    ``configure()`` per feature, each with only what it needs)."""
    app.command(SLASH_COMMAND)(lambda ack, body: inbound.on_command(ack, body))
    app.event("app_mention")(lambda ack, event, body: inbound.on_mention(ack, event, body))
    app.event("message")(lambda ack, event, body: inbound.on_message(ack, event, body))
    actions.configure(app, buttons)
    conversations.configure(app, talk)
    approvals.configure(app, approve)
