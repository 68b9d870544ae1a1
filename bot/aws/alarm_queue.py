"""The alarm queue: EventBridge "CloudWatch Alarm State Change" events delivered to SQS, long-polled.

An EventBridge rule (``source: aws.cloudwatch``, ``detail-type: CloudWatch Alarm State Change``) targets the
queue; the bot long-polls it, so transitions arrive within seconds with no public endpoint (Socket Mode).
``alarm_event`` turns one message body into where the alarm lives and its new state; the caller reads the
alarm itself (threshold, statistic) with DescribeAlarms, which the poller uses as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.aws.session import AwsClients

DETAIL_TYPE = "CloudWatch Alarm State Change"
MAX_MESSAGES = 10  # ReceiveMessage's largest batch


@dataclass(frozen=True)
class QueuedMessage:
    receipt: str
    body: str


@dataclass(frozen=True)
class AlarmEvent:
    """One alarm transition as EventBridge announced it."""

    account_id: str
    region: str
    name: str
    state: str
    reason: str
    when: datetime | None


def receive(aws: AwsClients, queue_url: str, wait_s: int) -> list[QueuedMessage]:
    """Wait up to ``wait_s`` for up to ten messages (long polling: no empty-receive charges in between)."""
    page = aws.call("sqs", "ReceiveMessage", QueueUrl=queue_url, MaxNumberOfMessages=MAX_MESSAGES,
                    WaitTimeSeconds=wait_s)
    return [QueuedMessage(m["ReceiptHandle"], m.get("Body", "")) for m in page.get("Messages", [])]


def delete(aws: AwsClients, queue_url: str, messages: list[QueuedMessage]) -> None:
    """Done with these: handled (or not an alarm event at all). One DeleteMessage each, not the batch call:
    the batch needs the same IAM action and a batch's partial failures would need handling of their own."""
    for message in messages:
        aws.call("sqs", "DeleteMessage", QueueUrl=queue_url, ReceiptHandle=message.receipt)


def alarm_event(body: str) -> AlarmEvent | None:
    """The transition in an EventBridge event (or an SNS-wrapped one); None for anything else."""
    try:
        event: Any = json.loads(body)
        if isinstance(event, dict) and event.get("Type") == "Notification" and "Message" in event:
            event = json.loads(event["Message"])  # delivered through SNS
    except (ValueError, TypeError):
        return None
    if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
        return None
    detail = event.get("detail") or {}
    state = detail.get("state") or {}
    name, value = detail.get("alarmName"), state.get("value")
    if not isinstance(name, str) or not isinstance(value, str) or not name:
        return None
    return AlarmEvent(account_id=str(event.get("account", "")), region=str(event.get("region", "")),
                      name=name[:255], state=value, reason=str(state.get("reason", "")),
                      when=_timestamp(str(state.get("timestamp", ""))))


def _timestamp(text: str) -> datetime | None:
    """EventBridge writes ``2026-12-02T16:04:12.123+0000``."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
