"""Alarm intake by events: long-poll the SQS queue EventBridge fills with alarm state changes and hand each
transition to the incident watcher, so it is announced within seconds instead of at the next poll.

Exactly once across replicas: every replica may receive a message (SQS is at-least-once), but the watcher
claims each transition in the shared store before posting, under the same key the poller uses, so the
event and the poll of the same transition post once between them. Polling stays on as the fallback and
reconciles what the queue missed. A message is deleted once handled; a failure leaves it for SQS to
deliver again after its visibility timeout.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Protocol

import structlog

from bot.aws import alarm_queue, cloudwatch
from bot.aws.accounts import Target
from bot.aws.alarm_queue import AlarmEvent
from bot.aws.records import Alarm
from bot.aws.session import AwsClients
from bot.config import Settings
from bot.errors import CloudOpsError
from handlers.services import Services

log = structlog.get_logger("cloudops.alarm_queue")
_QUEUE_REGION = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")
RETRY_S = 5.0  # pause after a failed receive, so a broken queue does not spin


class Tracker(Protocol):
    def targets(self) -> list[Target]: ...

    def track(self, target: Target, alarm: Alarm) -> None: ...


class AlarmQueue:
    def __init__(self, settings: Settings, services: Services, watcher: Tracker) -> None:
        self.settings = settings
        self.services = services
        self.watcher = watcher
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alarm-queue", daemon=True)

    def start(self) -> AlarmQueue:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
            except CloudOpsError as exc:
                log.warning("alarm_queue_failed", error=exc.message)
                self._stop.wait(RETRY_S)

    def queue_clients(self) -> AwsClients:
        """The queue is the bot's own: its own credentials, in the region its URL names
        (``https://sqs.eu-west-1.amazonaws.com/…``); SQS answers only in the queue's region."""
        accounts = self.services.accounts
        match = _QUEUE_REGION.match(self.settings.alarm_queue_url)
        if accounts is None or match is None:
            return self.services.aws
        own = [n for n, spec in accounts.specs.items() if not spec.role_arn and not spec.profile]
        return accounts.clients(Target(own[0] if own else accounts.default_account, match.group(1)))

    def drain_once(self, wait_s: int | None = None) -> int:
        """One long poll; returns how many alarm transitions it handled."""
        aws, url = self.queue_clients(), self.settings.alarm_queue_url
        messages = alarm_queue.receive(aws, url, self.settings.alarm_queue_wait_s if wait_s is None else wait_s)
        done, handled = [], 0
        for message in messages:
            event = alarm_queue.alarm_event(message.body)
            if event is None:
                log.warning("alarm_queue_ignored", reason="not a CloudWatch Alarm State Change event")
                done.append(message)
                continue
            try:
                handled += self.handle(event)
            except CloudOpsError as exc:  # reading the alarm failed: SQS delivers it again later
                log.warning("alarm_event_failed", alarm=event.name, error=exc.message)
                continue
            done.append(message)
        alarm_queue.delete(aws, url, done)
        return handled

    def handle(self, event: AlarmEvent) -> int:
        target = self.target_for(event)
        if target is None:
            log.warning("alarm_event_elsewhere", alarm=event.name, region=event.region)
            return 0
        current = cloudwatch.describe_alarm(self.services.at(target).aws, event.name)
        if current is None:
            return 0
        announced = replace(current, state=event.state, reason=event.reason or current.reason,
                            updated=event.when or current.updated)
        self.watcher.track(target, announced)
        if current.updated and announced.updated and current.updated > announced.updated:
            self.watcher.track(target, current)  # it moved on since: reconcile now rather than at the next poll
        return 1

    def target_for(self, event: AlarmEvent) -> Target | None:
        """The configured account/region the event came from (the role's account id decides between accounts)."""
        here = [t for t in self.watcher.targets() if not event.region or t.region == event.region]
        if len(here) <= 1:
            return here[0] if here else None
        accounts = self.services.accounts
        specs = accounts.specs if accounts is not None else {}
        by_role = [t for t in here if event.account_id and f":{event.account_id}:" in specs[t.account].role_arn]
        own = [t for t in here if not specs[t.account].role_arn and not specs[t.account].profile]
        return (by_role or own or here)[0]
