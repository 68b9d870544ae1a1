"""The sidecar's one route table and the WSGI dispatcher in front of it.

Everything a caller can reach is a row in ``ROUTES``: the dispatcher derives 404 vs 405 (and the
``Allow`` header) from it, the guard column decides who may call a route, and the OpenAPI test checks
``openapi.json`` against it, so a new route cannot ship undocumented or accidentally unauthenticated.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib.resources import files
from typing import Any

import structlog

from bot.metrics import UNKNOWN_COMMAND
from bot.sidecar.api import logs_route, query_route
from bot.sidecar.auth import AuthResult, check_bearer
from bot.sidecar.http import JSON, Context, HttpError, Request, Response, WsgiApp, json_response
from bot.sidecar.status import status_document
from handlers.registry import CAPABILITIES

log = structlog.get_logger("cloudops.sidecar")

Handler = Callable[[Context, Request], Response]


class Guard(Enum):
    """Who may call a route."""

    PUBLIC = "public"  # probes and scrapers on the pod network
    BEARER = "bearer"  # data routes: the sidecar bearer token, closed when none is configured
    METRICS = "metrics"  # public unless CLOUDOPS_METRICS_REQUIRE_TOKEN, then like BEARER


@dataclass(frozen=True)
class Route:
    handler: Handler
    guard: Guard
    summary: str


def healthz(ctx: Context, req: Request) -> Response:
    """Liveness only: answering at all proves the process and this thread are alive."""
    return json_response(200, {"status": "alive"})


def status(ctx: Context, req: Request) -> Response:
    """Public for probes, but the AWS account id is shown only to a caller with the sidecar token."""
    code, body = status_document(ctx.settings, ctx.services, ctx.state, ctx.aws_health.current())
    if check_bearer(req.header("Authorization"), ctx.settings.sidecar_token) is not AuthResult.OK:
        body["aws"]["account"] = None
    return json_response(code, body)


def metrics(ctx: Context, req: Request) -> Response:
    """Delegates to prometheus_client's WSGI app, which does content negotiation and gzip."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"], captured["headers"] = status, headers

    body = b"".join(ctx.metrics_app(dict(req.environ), start_response))
    headers: list[tuple[str, str]] = captured.get("headers", [])
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "text/plain")
    others = tuple((k, v) for k, v in headers if k.lower() not in {"content-type", "content-length"})
    return Response(int(str(captured.get("status", "200")).split()[0]), body, content_type, others)


def openapi_document(version: str) -> dict[str, Any]:
    """``openapi.json`` with what the capability entries declare filled in: the verbs a reply's
    ``command`` may name and the usage of each command /query accepts."""
    spec: dict[str, Any] = json.loads(files("bot.sidecar").joinpath("openapi.json").read_text(encoding="utf-8"))
    spec["info"]["version"] = version
    schemas = spec["components"]["schemas"]
    schemas["Reply"]["properties"]["command"]["enum"] = [c.verb for c in CAPABILITIES] + [UNKNOWN_COMMAND]
    text = schemas["QueryRequest"]["properties"]["text"]
    text["description"] += ". One of: " + "; ".join(f"`{c.usage}`" for c in CAPABILITIES)
    return spec


@cache
def _openapi_bytes(version: str) -> bytes:
    return json.dumps(openapi_document(version), indent=2).encode("utf-8")


def openapi(ctx: Context, req: Request) -> Response:
    return Response(200, _openapi_bytes(ctx.state.version), JSON)


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/healthz"): Route(healthz, Guard.PUBLIC, "Liveness: 200 while the process serves HTTP"),
    ("GET", "/status"): Route(status, Guard.PUBLIC, "Readiness and dependency health; 503 when Slack is down"),
    ("GET", "/metrics"): Route(metrics, Guard.METRICS, "Prometheus metrics"),
    ("GET", "/logs"): Route(logs_route, Guard.BEARER, "CloudWatch log events of one group, redacted"),
    ("POST", "/query"): Route(query_route, Guard.BEARER, "Run one bot command and return the reply"),
    ("GET", "/openapi.json"): Route(openapi, Guard.PUBLIC, "This API's OpenAPI 3.0 description"),
}


def allowed_methods(path: str) -> list[str]:
    methods = {method for method, p in ROUTES if p == path}
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def _authorize(route: Route, ctx: Context, req: Request) -> None:
    if route.guard is Guard.PUBLIC or (route.guard is Guard.METRICS and not ctx.settings.metrics_require_token):
        return
    result = check_bearer(req.header("Authorization"), ctx.settings.sidecar_token)
    if result is AuthResult.OK:
        return
    if result is AuthResult.DISABLED:
        raise HttpError(403, f"{req.path} is disabled: no sidecar token is configured",
                        "set CLOUDOPS_SIDECAR_TOKEN on the bot and send 'Authorization: Bearer <token>'")
    challenge = 'Bearer realm="cloudops"' + (', error="invalid_token"' if result is AuthResult.WRONG else "")
    raise HttpError(401, "the bearer token is wrong" if result is AuthResult.WRONG else "a bearer token is required",
                    "send 'Authorization: Bearer <CLOUDOPS_SIDECAR_TOKEN>'",
                    headers=(("WWW-Authenticate", challenge),))


def route_request(ctx: Context, req: Request) -> Response:
    """Table lookup → guard → handler; unknown path 404, known path with another method 405.
    HEAD is GET without the body (``make_app`` drops it), as HTTP says, for every GET route."""
    route = ROUTES.get(("GET" if req.method == "HEAD" else req.method, req.path))
    if route is None:
        methods = allowed_methods(req.path)
        if not methods:
            raise HttpError(404, f"no route {req.path}", "GET /openapi.json lists the routes")
        raise HttpError(405, f"{req.path} does not accept {req.method}", f"use {' or '.join(methods)}",
                        headers=(("Allow", ", ".join(methods)),))
    _authorize(route, ctx, req)
    return route.handler(ctx, req)


def make_app(ctx: Context) -> WsgiApp:
    """The WSGI app: every outcome, including a bug in a route, is a JSON response with a status."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        req = Request.from_environ(environ)
        try:
            response = route_request(ctx, req)
        except HttpError as exc:
            response = exc.response()
        except Exception:
            cid = uuid.uuid4().hex[:8]
            log.exception("sidecar_error", correlation_id=cid, method=req.method, path=req.path)
            response = json_response(500, {"error": "internal error", "correlation_id": cid,
                                           "hint": f"give the bot's operator the id {cid}"})
        start_response(response.status_line(), response.wsgi_headers())
        return [b""] if req.method == "HEAD" else [response.body]

    return app
