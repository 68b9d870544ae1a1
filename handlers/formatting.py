"""Small, shared text formatting for evidence (ages, numbers) — plain text, escaped later by the renderer."""

from __future__ import annotations

from datetime import UTC, datetime


def ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "unknown"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    secs = int((now - when).total_seconds())
    if secs < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} ago"
    return f"{secs}s ago"


def stamp(when: datetime | None) -> str:
    if when is None:
        return "?"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ms_stamp(ms: int | None) -> str:
    if ms is None:
        return "?"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


def num(value: float) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:.1f}G"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.1f}k"
    return f"{value:.1f}" if value != int(value) else str(int(value))
