"""structlog configuration: JSON lines on stdout (console format on a TTY), secrets scrubbed.

The scrub processor runs last over every string value, so even an exception message that quoted a
token cannot put it in our own logs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import structlog

_SENSITIVE_KEYS = {"token", "slack_bot_token", "slack_app_token", "openai_api_key", "authorization",
                   "sidecar_token", "password", "secret"}


def _scrubber(scrub: Callable[[str], str]) -> Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]:
    def processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            if key.lower() in _SENSITIVE_KEYS:
                event[key] = "[REDACTED]"
            elif isinstance(value, str):
                event[key] = scrub(value)
        return event

    return processor


def configure_logging(level: str = "INFO", fmt: str = "auto", scrub: Callable[[str], str] | None = None,
                      stream: TextIO | None = None) -> None:
    """Set up structlog + stdlib logging once, at start-up.

    ``stream`` (default stdout) is where our JSON lines go; the MCP stdio server passes stderr because
    its stdout carries the protocol.
    """
    out = stream if stream is not None else sys.stdout
    use_console = fmt == "console" or (fmt == "auto" and out.isatty())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    if scrub is not None:
        processors.append(_scrubber(scrub))
    # Plain tracebacks: rich's "show locals" would print settings and evidence into the console.
    console = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    processors.append(console if use_console else structlog.processors.JSONRenderer())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("slack_bolt", "slack_sdk", "botocore", "urllib3", "openai", "httpx", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
