"""What a question names or implies, read from its text alone (no AWS call): ids, log groups, aliases,
HTTP codes, time hints and the plain words later matched against the inventory."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings

_INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8}(?:[0-9a-f]{9})?\b")
_GROUP = re.compile(r"(?<![\w/])/[\w.#-]+(?:/[\w.#\[\]$-]+)+")
_HTTP = re.compile(r"\b([45](?:\d\d|xx))s?\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b(?:since|from|after|at|around|about)\s+(\d{1,2})[:h](\d{2})\b", re.IGNORECASE)
_AGO = re.compile(r"\b(?:(?:last|past)\s+(\d{1,4})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?)\b"
                  r"|(\d{1,4})\s*(m|min|mins|minutes?|h|hrs?|hours?)\s+ago\b)", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9][a-z0-9_.-]{1,62}")
_STOP_WORDS = """
a an the and or but if is are was were be been being am do does did doing have has had why what when where
which who whom how this that these those there here it its it's of on in at to for from by with about into
over under since after before during between up down out off again any all some no not only own same so than
too very can will just should now our your my me we you they them their us i anything something everything
nothing wrong broken failing fail fails failed returning return returns error errors slow slowness happening
happened going doing going on today yesterday minutes minute hours hour ago last past please tell show check
look see help status issue issues problem problems down still getting get gets got seeing users user customers
customer
"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Mentions:
    instance_ids: tuple[str, ...]
    groups: tuple[str, ...]  # log groups named literally or through an alias
    http_codes: tuple[str, ...]  # "502", "5xx"
    words: tuple[str, ...]  # the rest, lowercased, for matching names, tags, alarms and groups
    since: datetime | None
    window_s: int


def read_mentions(text: str, settings: Settings, now: datetime, window_s: int) -> Mentions:
    """Everything ``text`` names; ``window_s`` is the default look-back, widened by a time hint."""
    lowered = text.lower()
    ids = _unique(_INSTANCE_ID.findall(lowered))
    groups = [g.rstrip(".,;:?!") for g in _GROUP.findall(text)]
    codes = _unique(c.lower() for c in _HTTP.findall(text))
    words = [w.strip(".-_") for w in _WORD.findall(lowered)]
    words = [w for w in words if w and w not in _STOP and w not in ids and not _HTTP.fullmatch(w)
             and not any(w in g.lower() for g in groups)]
    aliases = {k.lower(): v for k, v in settings.log_aliases.items()}
    groups += [aliases[w] for w in words if w in aliases]
    since = _since(text, now)
    if since is not None:
        window_s = max(window_s, (int((now - since).total_seconds()) // 60 + 6) * 60)  # whole minutes, 5+ spare
    window_s = min(window_s, settings.max_window_s)
    return Mentions(ids, _unique(groups), codes, _unique(words), since, window_s)


def _since(text: str, now: datetime) -> datetime | None:
    """``since 10:40`` (UTC, today or yesterday when that is still ahead) or ``last 30m``/``20 minutes ago``."""
    m = _CLOCK.search(text)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        at = now.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)
        return at - timedelta(days=1) if at > now else at
    m = _AGO.search(text)
    if m:
        amount = int(m.group(1) or m.group(3))
        unit = (m.group(2) or m.group(4)).lower()[0]
        return now - timedelta(seconds=amount * {"m": 60, "h": 3600, "d": 86400}[unit])
    return None


def _unique(items: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))  # type: ignore[call-overload]
