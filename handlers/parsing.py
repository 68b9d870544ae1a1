"""Turning command text into arguments: tokens, time windows, log-group aliases."""

from __future__ import annotations

import re
import shlex

from bot.config import Settings, parse_duration
from bot.errors import UserInputError

WINDOW = re.compile(r"^[0-9]{1,5}[smhd]$", re.IGNORECASE)
WINDOW_SCHEMA = {"type": "string", "description": "time window like 15m, 2h or 1d", "pattern": "^[0-9]{1,5}[smhd]$"}


def tokens(text: str) -> list[str]:
    """Split like a shell (so "quoted phrases" stay together) but never fail on a stray quote."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def split_window(args: list[str], settings: Settings) -> tuple[list[str], int]:
    """Pull a trailing/any ``15m``-style window out of ``args``; default from config; bounded by config."""
    window = settings.default_window_s
    rest: list[str] = []
    found = False
    for arg in args:
        if WINDOW.match(arg) and not found:
            window = parse_duration(arg)
            found = True
        else:
            rest.append(arg)
    if window <= 0:
        raise UserInputError("the time window must be longer than 0", "use e.g. 15m, 2h or 1d")
    if window > settings.max_window_s:
        raise UserInputError(
            f"{format_window(window)} is longer than the allowed {format_window(settings.max_window_s)}",
            "ask for a shorter window, e.g. 1h or 1d",
        )
    return rest, window


def format_window(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def resolve_group(name: str, settings: Settings) -> str:
    """Aliases first (``api`` → ``/ecs/api-prod``), then the name itself."""
    return settings.log_aliases.get(name, name)
