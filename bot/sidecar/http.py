"""The small HTTP vocabulary the sidecar's routes share: request, response, typed HTTP errors.

Routes return a ``Response`` value (or raise ``HttpError``) instead of talking WSGI themselves, so the
one dispatcher in ``routes`` owns status lines, JSON error bodies and headers, and every error looks
the same to a caller: ``{"error": ..., "hint": ...}`` plus the parameter at fault when there is one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from bot.config import Settings
from bot.errors import (
    AwsAccessDenied,
    CloudOpsError,
    ConfigError,
    NotAllowedError,
    NotFoundError,
    RateLimitedError,
    UpstreamError,
)
from bot.sidecar.status import AwsHealthView
from bot.state import BotState
from handlers.services import Services

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
WsgiApp = Callable[..., Any]


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request; ``environ`` stays available for routes that delegate to a WSGI app."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    environ: Mapping[str, Any]

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> Request:
        query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        return cls(str(environ.get("REQUEST_METHOD", "GET")).upper(), str(environ.get("PATH_INFO", "/")),
                   query, environ)

    def header(self, name: str) -> str | None:
        """A request header by its HTTP name (``Authorization``), as WSGI spells it (``HTTP_AUTHORIZATION``)."""
        key = name.upper().replace("-", "_")
        value = self.environ.get(key if key in {"CONTENT_TYPE", "CONTENT_LENGTH"} else f"HTTP_{key}")
        return None if value is None else str(value)

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter; repeated parameters are a client mistake we don't guess at."""
        values = self.query.get(name)
        if not values:
            return default
        if len(values) > 1:
            raise HttpError(400, f"query parameter {name!r} was given {len(values)} times", "give it once",
                            parameter=name)
        return values[0]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()

    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"

    def wsgi_headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type), ("Content-Length", str(len(self.body))),
                ("Cache-Control", "no-store"), *self.headers]


class HttpError(Exception):
    """Raised by a route to stop with a JSON error; ``parameter`` names the query/body field at fault."""

    def __init__(self, status: int, error: str, hint: str = "", *, parameter: str = "",
                 headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(error)
        self.status, self.error, self.hint, self.parameter, self.headers = status, error, hint, parameter, headers

    def response(self) -> Response:
        body: dict[str, Any] = {"error": self.error, "hint": self.hint}
        if self.parameter:
            body["parameter"] = self.parameter
        return json_response(self.status, body, headers=self.headers)


def json_response(status: int, payload: Any, *, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), JSON, headers)


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), TEXT)


# First match wins. 403 is the caller being refused by our admission (NotAllowedError). AWS refusing
# the bot's own identity (AwsAccessDenied) is an UpstreamError like throttling or a model failure: the
# caller may call, the gateway's upstream said no, which the operator fixes in IAM. So it is a 502.
_STATUS_BY_ERROR: tuple[tuple[type[CloudOpsError], int], ...] = (
    (NotFoundError, 404),
    (NotAllowedError, 403),
    (RateLimitedError, 429),
    (ConfigError, 500),
    (AwsAccessDenied, 502),
    (UpstreamError, 502),
)


def from_cloudops(exc: CloudOpsError, *, parameter: str = "") -> HttpError:
    """A typed bot error as an HTTP error: user mistakes 400, refused callers 403, missing things 404,
    rate limits 429, AWS (refusals included) and model failures 502."""
    status = next((code for cls, code in _STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    return HttpError(status, exc.message, exc.hint, parameter=parameter if status == 400 else "")


@dataclass
class Context:
    """What every route may use; built once per sidecar."""

    settings: Settings
    services: Services
    state: BotState
    metrics_app: WsgiApp
    aws_health: AwsHealthView
