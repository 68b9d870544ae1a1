"""How an incident's parent message looks, and the state it carries in Slack message metadata.

The parent holds the incident's state as message metadata (event_type ``cloudops_incident``), which
is what lets a restarted bot (or another replica) find the incidents it already announced instead of
posting them again: Slack itself is the state store, no volume or database is needed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bot.aws.records import Alarm
from bot.text.mrkdwn import escape, inline_code

EVENT_TYPE = "cloudops_incident"
_ICON = {"ALARM": ":rotating_light:", "OK": ":white_check_mark:", "INSUFFICIENT_DATA": ":grey_question:"}


@dataclass
class Incident:
    alarm: str
    channel: str
    ts: str  # the parent message
    state: str
    opened: float  # epoch seconds
    changed: float  # alarm's StateUpdatedTimestamp last seen (epoch)
    closed: float = 0.0  # when it went OK (0 while open)
    severity: str = ""
    acked_by: str = ""
    acked_at: float = 0.0
    muted_until: float = 0.0
    reason: str = ""

    def metadata(self) -> dict[str, Any]:
        payload = {k: v for k, v in asdict(self).items() if k not in {"channel", "ts"}}
        payload["reason"] = payload["reason"][:500]
        return {"event_type": EVENT_TYPE, "event_payload": payload}

    @classmethod
    def from_message(cls, channel: str, message: dict[str, Any]) -> Incident | None:
        meta = message.get("metadata") or {}
        if meta.get("event_type") != EVENT_TYPE:
            return None
        p = meta.get("event_payload") or {}
        try:
            return cls(alarm=str(p["alarm"]), channel=channel, ts=str(message["ts"]), state=str(p["state"]),
                       opened=float(p["opened"]), changed=float(p["changed"]), closed=float(p.get("closed", 0)),
                       severity=str(p.get("severity", "")), acked_by=str(p.get("acked_by", "")),
                       acked_at=float(p.get("acked_at", 0)), muted_until=float(p.get("muted_until", 0)),
                       reason=str(p.get("reason", "")))
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def muted(self) -> bool:
        return self.muted_until > time.time()


def epoch(when: datetime | None) -> float:
    return when.timestamp() if when else time.time()


def _hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M UTC")


def parent_blocks(inc: Incident, alarm: Alarm | None) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks for the parent: alarm, state line, reason, since when, buttons."""
    icon = _ICON.get(inc.state, ":bell:")
    sev = f" · severity *{escape(inc.severity)}*" if inc.severity else ""
    head = f"{icon} *{escape(inc.state)}* · {inline_code(inc.alarm)}{sev}"
    metric = escape(alarm.metric) if alarm else ""
    body = f"{head}\n{escape(inc.reason[:1500])}" + (f"\nMetric: {metric}" if metric else "")
    status = [f"State: *{escape(inc.state)}* since {_hhmm(inc.changed)}", f"opened {_hhmm(inc.opened)}"]
    if inc.acked_by:
        status.append(f"acknowledged by <@{escape(inc.acked_by)}> at {_hhmm(inc.acked_at)}")
    if inc.muted:
        status.append(f"muted until {_hhmm(inc.muted_until)}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(status)}]},
        {"type": "actions", "block_id": "incident", "elements": [
            _button("Investigate", "incident_investigate", inc.alarm, "primary"),
            _button("Acknowledge", "incident_ack", inc.alarm),
            _button("Mute 1h", "incident_mute", inc.alarm),
        ]},
    ]
    text = f"{inc.state}: {escape(inc.alarm)} — {escape(inc.reason[:200])}"
    return text, blocks


def _button(label: str, action_id: str, value: str, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": label},
                              "action_id": action_id, "value": value[:2000]}
    if style:
        button["style"] = style
    return button
