"""Alarm-driven incident threads: poll CloudWatch alarms and keep exactly one thread per incident.

A new ALARM opens a top-level message with its evidence pack in the thread; later transitions of the
same alarm reply in that thread and update the parent's state line; ALARM again within the re-open
window re-opens the same thread, after it a new incident starts. State lives in the parent's Slack
message metadata and is read back from channel history at start-up, so a restart posts nothing twice.
Every configured account/region is polled (bounded fan-out); with accounts configured an incident is
named ``account/region/alarm``, so the same alarm name in two accounts makes two incidents.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from bot.aws import cloudwatch
from bot.aws.accounts import Target
from bot.aws.records import Alarm
from bot.config import Settings
from bot.errors import CloudOpsError
from bot.models import Request, Source
from bot.slack.alarm_queue import AlarmQueue
from bot.slack.chart_upload import post_charts
from bot.slack.incident_view import Incident, epoch, parent_blocks
from bot.slack.poster import Poster, PostError
from bot.slack.render import render
from bot.slack.replies import Replies
from bot.slack.workqueue import WorkQueue
from handlers.alarm_map import by_prefix
from handlers.incident import evidence_pack
from handlers.services import Services

log = structlog.get_logger("cloudops.incidents")


@dataclass(frozen=True)
class Seen:
    """One alarm as polled: its incident key, where it lives, and what CloudWatch said."""

    key: str
    target: Target
    alarm: Alarm


def _safe_alarms(services: Services) -> list[Alarm] | Exception:
    try:
        return cloudwatch.describe_alarms(services.aws, None)
    except CloudOpsError as exc:  # reported per target by the caller, like a fan-out failure
        return exc
def _millis(when: datetime | None) -> int:
    """Whole milliseconds since the epoch, in integers (a float would make .123 into 122.999…)."""
    if when is None:
        return int(time.time() * 1000)
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


HISTORY_PAGES = 5  # channel history pages (200 messages each) scanned for incidents at start-up


class IncidentWatcher:
    def __init__(self, settings: Settings, services: Services, poster: Poster, queue: WorkQueue,
                 replies: Replies) -> None:
        self.settings = settings
        self.services = services
        self.metrics = services.metrics
        self.poster = poster
        self.queue = queue
        self.replies = replies
        self.incidents: dict[str, Incident] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alarm-watch", daemon=True)
        self.queue_consumer: AlarmQueue | None = (AlarmQueue(settings, services, self) if settings.alarm_queue_url
                                                  else None)

    # --- lifecycle ----------------------------------------------------------------------------------
    def channels(self) -> set[str]:
        return {c for c in [self.settings.alarm_channel, *self.settings.alarm_routes.values()] if c}

    def load(self) -> int:
        """Read announced incidents back from the parents' metadata (newest wins per alarm)."""
        found = 0
        for channel in self.channels():
            cursor = ""
            for _ in range(HISTORY_PAGES):
                args: dict[str, Any] = {"channel": channel, "limit": 200, "include_all_metadata": True}
                if cursor:
                    args["cursor"] = cursor
                try:
                    data = self.poster.call("conversations.history", form=True, **args)
                except PostError as exc:
                    log.warning("incident_history_failed", channel=channel, error=str(exc))
                    break
                for msg in data.get("messages", []):
                    inc = Incident.from_message(channel, msg)
                    if inc and (inc.alarm not in self.incidents or inc.opened > self.incidents[inc.alarm].opened):
                        self.incidents[inc.alarm] = inc
                        found += 1
                cursor = (data.get("response_metadata") or {}).get("next_cursor", "")
                if not cursor:
                    break
        return found

    def start(self) -> IncidentWatcher:
        self.load()
        self._thread.start()
        if self.queue_consumer is not None:  # events announce within seconds; polling reconciles
            self.queue_consumer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.queue_consumer is not None:
            self.queue_consumer.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            jitter = random.uniform(0.9, 1.1)  # scheduling jitter  # noqa: S311  # nosec B311
            self._stop.wait(self.settings.alarm_poll_s * jitter)

    # --- polling ------------------------------------------------------------------------------------
    def targets(self) -> list[Target]:
        """Every configured account/region (one target, the bot's own, when no accounts are configured)."""
        accounts = self.services.accounts
        if accounts is None:
            return [Target(self.services.aws.account, self.services.aws.region)]
        targets: list[Target] = accounts.targets()
        return targets

    def key(self, target: Target, alarm_name: str) -> str:
        """How an incident is named: ``account/region/alarm`` once accounts are configured (alarm names
        repeat across accounts), the alarm's own name otherwise (what earlier versions stored)."""
        accounts = self.services.accounts
        return f"{target.label}/{alarm_name}" if accounts is not None and accounts.configured else alarm_name

    def poll_once(self) -> None:
        start = time.perf_counter()
        targets = self.targets()
        if self.services.accounts is not None and len(targets) > 1:
            got = self.services.accounts.fanout(targets, lambda aws: cloudwatch.describe_alarms(aws, None))
        else:
            got = {t: _safe_alarms(self.services.at(t)) for t in targets}
        self.metrics.incident_poll_seconds.observe(time.perf_counter() - start)
        for target, alarms in got.items():
            if isinstance(alarms, Exception):
                self.metrics.incident_poll_errors.inc()
                log.warning("alarm_poll_failed", target=target.label,
                            error=alarms.message if isinstance(alarms, CloudOpsError) else repr(alarms))
                continue
            for alarm in alarms:
                try:
                    self._track(Seen(self.key(target, alarm.name), target, alarm))
                except PostError as exc:
                    self.metrics.incident_poll_errors.inc()
                    log.error("incident_post_failed", alarm=alarm.name, target=target.label, error=str(exc))

    def track(self, target: Target, alarm: Alarm) -> None:
        """One alarm transition from outside the poll (the alarm queue), handled exactly like a polled one."""
        try:
            self._track(Seen(self.key(target, alarm.name), target, alarm))
        except PostError as exc:
            self.metrics.incident_poll_errors.inc()
            log.error("incident_post_failed", alarm=alarm.name, target=target.label, error=str(exc))

    def _channel(self, alarm: Alarm) -> str:
        return by_prefix(self.settings.alarm_routes, alarm.name) or self.settings.alarm_channel

    def _track(self, seen: Seen) -> None:
        alarm = seen.alarm
        now = time.time()
        with self._lock:
            inc = self.incidents.get(seen.key)
        changed = epoch(alarm.updated)
        if alarm.state == "ALARM":
            expired = inc is not None and now - (inc.closed or inc.changed) > self.settings.alarm_reopen_s
            if inc is None or (inc.state != "ALARM" and expired):
                if inc is not None and inc.muted:
                    self.metrics.incidents.labels("deduplicated").inc()
                    return
                self._open(seen, now)
            elif inc.state == "ALARM":
                self.metrics.incidents.labels("deduplicated").inc()
            else:
                self._transition(inc, seen, "re-opened: ALARM again", reopen=True)
        elif inc is not None and inc.state != alarm.state and changed >= inc.changed:
            self._transition(inc, seen, f"{inc.state} → {alarm.state}")

    def _claim(self, what: str, seen: Seen) -> bool:
        """One replica acts on each alarm transition: the shared store decides (atomic SET NX)."""
        alarm = seen.alarm
        # whole milliseconds: EventBridge's timestamp and DescribeAlarms' name the same transition alike
        key = f"incident:{what}:{seen.key}:{alarm.state}:{_millis(alarm.updated)}"
        return bool(self.services.store.first_time(key, float(self.settings.alarm_reopen_s) + 86400))

    def _open(self, seen: Seen, now: float) -> None:
        alarm = seen.alarm
        if not self._claim("open", seen):
            # Another replica announced it: learn its parent from the channel's metadata instead.
            self.metrics.incidents.labels("deduplicated").inc()
            self.load()
            return
        channel = self._channel(alarm)
        inc = Incident(alarm=seen.key, channel=channel, ts="", state=alarm.state, opened=now,
                       changed=epoch(alarm.updated), severity=by_prefix(self.settings.alarm_severity, alarm.name) or "",
                       reason=self.services.scrub(alarm.reason))
        text, blocks = parent_blocks(inc, alarm)
        data = self.poster.call("chat.postMessage", channel=channel, text=text, blocks=blocks,
                                metadata=inc.metadata(), unfurl_links=False)
        inc.ts = str(data.get("ts", ""))
        with self._lock:
            self.incidents[seen.key] = inc
        self.metrics.incidents.labels("opened").inc()
        log.info("incident_opened", alarm=seen.key, channel=channel)
        self._evidence(inc, seen)

    def _evidence(self, inc: Incident, seen: Seen) -> None:
        alarm = seen.alarm
        request = Request(text=f"incident {alarm.name}", source=Source.ACTION, user="cloudops",
                          channel=inc.channel, thread_ts=inc.ts)
        place = self.queue.reserve()
        if place is None:
            self.replies.post_text_safely(inc.channel, inc.ts, ":hourglass: Too busy to gather the evidence pack "
                                                               "now; press Investigate to try again.")
            return

        def job() -> None:
            try:
                reply = evidence_pack(alarm, self.services.at(seen.target), request)
            except CloudOpsError as exc:
                self.replies.post_text_safely(inc.channel, inc.ts,
                                              f":warning: Evidence pack failed: {self._escape(exc.message)}")
                return
            for message in render(reply):
                self.poster.post(inc.channel, message, inc.ts)
            post_charts(self.poster, inc.channel, inc.ts, reply.charts)  # the metric, its threshold

        self.queue.submit(job)

    def _transition(self, inc: Incident, seen: Seen, what: str, reopen: bool = False) -> None:
        alarm = seen.alarm
        now = time.time()
        if not self._claim("transition", seen):
            with self._lock:  # another replica posted it; keep our view in step
                self.incidents[seen.key] = replace(inc, state=alarm.state, changed=epoch(alarm.updated),
                                                     closed=now if alarm.state == "OK" else 0.0)
            self.metrics.incidents.labels("deduplicated").inc()
            return
        updated = replace(inc, state=alarm.state, changed=epoch(alarm.updated),
                          closed=now if alarm.state == "OK" else 0.0, reason=self.services.scrub(alarm.reason))
        with self._lock:
            self.incidents[seen.key] = updated
        self.update_parent(updated, alarm)
        if not updated.muted:
            self.poster.post_text(inc.channel, f"*{what}* — {self._escape(alarm.reason[:1000])}", inc.ts)
        self.metrics.incidents.labels("reopened" if reopen else "updated").inc()
        if reopen and not updated.muted:
            self._evidence(updated, seen)

    def update_parent(self, inc: Incident, alarm: Alarm | None) -> None:
        text, blocks = parent_blocks(inc, alarm)
        self.poster.call("chat.update", channel=inc.channel, ts=inc.ts, text=text, blocks=blocks,
                         metadata=inc.metadata())

    def _escape(self, text: str) -> str:
        from bot.text.mrkdwn import escape

        return escape(self.services.scrub(text))

    # --- buttons ------------------------------------------------------------------------------------
    def find(self, alarm_name: str) -> Incident | None:
        with self._lock:
            return self.incidents.get(alarm_name)

    def acknowledge(self, alarm_name: str, user: str) -> Incident | None:
        with self._lock:
            inc = self.incidents.get(alarm_name)
            if inc is None:
                return None
            inc = replace(inc, acked_by=user, acked_at=time.time())
            self.incidents[alarm_name] = inc
        self.update_parent(inc, None)
        self.poster.post_text(inc.channel, f":eyes: Acknowledged by <@{user}>.", inc.ts)
        return inc

    def mute(self, alarm_name: str, user: str) -> Incident | None:
        with self._lock:
            inc = self.incidents.get(alarm_name)
            if inc is None:
                return None
            inc = replace(inc, muted_until=time.time() + self.settings.alarm_mute_s)
            self.incidents[alarm_name] = inc
        self.update_parent(inc, None)
        minutes = self.settings.alarm_mute_s // 60
        self.poster.post_text(inc.channel, f":mute: <@{user}> muted `{alarm_name}` for {minutes} min: "
                                           "transitions update the state line but post nothing.", inc.ts)
        return inc
