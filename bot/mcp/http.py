"""MCP over streamable HTTP at ``/mcp``, behind the sidecar's bearer token, on its own port and thread.

The SDK's streamable HTTP is an ASGI app that needs a running event loop for its session manager; the
sidecar is a small WSGI route table on threads. Rather than bridge the two (an ASGI-in-WSGI adapter would
hold a sidecar thread per open stream and add a dependency), uvicorn (which the SDK already depends on)
serves it on ``CLOUDOPS_MCP_ADDR`` from one daemon thread with its own loop. The token check is the
sidecar's own ``check_bearer`` (constant time, closed when no token is configured), in front of every
HTTP request. Stateless mode with JSON responses: no session lives on a replica, so any replica behind a
load balancer can answer any call, and each call is one POST.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse

from bot.mcp.server import build_server
from bot.sidecar.auth import AuthResult, check_bearer
from handlers.services import Services

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/mcp"
START_TIMEOUT_S = 10.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class BearerGuard:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <CLOUDOPS_SIDECAR_TOKEN>``.

    Answers as the sidecar does: 401 with a ``WWW-Authenticate`` challenge for a missing or wrong token,
    403 when no token is configured (an empty token must never mean open to anyone).
    """

    def __init__(self, app: AsgiApp, token: str) -> None:
        self._app = app
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan events start the SDK's session manager
            await self._app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), None)
        result = check_bearer(header, self._token)
        if result is AuthResult.OK:
            await self._app(scope, receive, send)
            return
        if result is AuthResult.DISABLED:
            response = JSONResponse({"error": "MCP over HTTP is disabled: no sidecar token is configured",
                                     "hint": "set CLOUDOPS_SIDECAR_TOKEN and send 'Authorization: Bearer <token>'"},
                                    403)
        else:
            challenge = 'Bearer realm="cloudops"' + (', error="invalid_token"' if result is AuthResult.WRONG else "")
            response = JSONResponse({"error": "the bearer token is wrong" if result is AuthResult.WRONG
                                     else "a bearer token is required",
                                     "hint": "send 'Authorization: Bearer <CLOUDOPS_SIDECAR_TOKEN>'"},
                                    401, headers={"WWW-Authenticate": challenge})
        await response(scope, receive, send)


def _split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def make_app(services: Services, *, version: str, host: str) -> AsgiApp:
    """The guarded ASGI app. On a loopback bind the SDK also checks Host/Origin (DNS rebinding)."""
    server = build_server(services, version=version, transport="http")
    security = None if host in _LOOPBACK else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = server.streamable_http_app(streamable_http_path=PATH, stateless_http=True, json_response=True,
                                     max_request_body_size=services.settings.mcp_max_body_bytes,
                                     host=host, transport_security=security)
    return BearerGuard(app, services.settings.sidecar_token)


class McpHttpServer:
    """``start()`` binds and serves on a daemon thread; ``url`` is the endpoint; ``stop()`` joins it."""

    def __init__(self, services: Services, *, version: str) -> None:
        self._services = services
        self._version = version
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> McpHttpServer:
        """Raises OSError when the address cannot be bound (uvicorn reports it and its thread ends)."""
        if self._server is not None:
            return self
        host, port = _split_addr(self._services.settings.mcp_addr)
        config = uvicorn.Config(make_app(self._services, version=self._version, host=host), host=host, port=port,
                                log_config=None, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="mcp-http", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            server.should_exit = True
            thread.join(START_TIMEOUT_S)
            raise OSError(f"cannot serve MCP on {host}:{port} (in use, or not an address of this machine)")
        self._server, self._thread = server, thread
        return self

    @property
    def url(self) -> str:
        """``http://host:port/mcp`` actually bound (port 0 in the settings becomes the real port)."""
        if self._server is None:
            raise RuntimeError("the MCP server is not running; call start() first")
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return (f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}") + PATH

    def stop(self) -> None:
        """Stop accepting, finish calls in flight (briefly), join the thread; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(START_TIMEOUT_S)

    def __enter__(self) -> McpHttpServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
