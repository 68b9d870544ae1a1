"""The sidecar HTTP server: wsgiref + prometheus_client's threading server, on one daemon thread.

A thread per connection (daemon threads) is what keeps /healthz and /metrics answering while a
/query waits on the model or a client stalls mid-request; the accept loop itself never runs route
code. The threads are bounded (``CLOUDOPS_SIDECAR_MAX_CONNECTIONS``; beyond it a connection gets an
immediate 503) and each read waits at most ``CLOUDOPS_SIDECAR_READ_TIMEOUT_S``, so slow or idle
clients cannot pile up threads. The server binds in ``start()`` (port 0 picks a free port; ``url``
tells which) and ``stop()`` closes the socket and joins the accept thread, so tests and the demo leave
nothing listening.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
import time
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import structlog
from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from bot.aws.health import AwsHealthProbe
from bot.config import Settings
from bot.sidecar.http import Context
from bot.sidecar.routes import make_app
from bot.sidecar.status import AwsHealthView, HealthSource
from bot.state import BotState
from handlers.services import Services

log = structlog.get_logger("cloudops.sidecar")

CLIENT_TIMEOUT_S = 30.0  # overridden per server by CLOUDOPS_SIDECAR_READ_TIMEOUT_S
LINGER_IDLE_S = 1.0  # after the answer, unread request bytes are drained while they keep coming…
LINGER_MAX_BYTES = 64 * 1024 * 1024  # …up to this much, so the client reads a 413 instead of a reset
BUSY_LINGER_S = 0.2  # the accept thread's own bound when it turns a connection away
_BUSY_BODY = b'{"error": "too many connections", "hint": "retry in a second, or close idle ones"}\n'
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
         b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY))


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: probes every few seconds would drown the bot's own structured logs."""

    timeout = CLIENT_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingWSGIServer):
    """prometheus_client's threading WSGI server (daemon threads), with two changes for a sidecar."""

    def server_bind(self) -> None:
        """HTTPServer's version calls ``socket.getfqdn``, which can mean a DNS lookup at start-up."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    max_connections = 32  # both set per server from the settings (Sidecar.start)
    linger_s = CLIENT_TIMEOUT_S

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that stalls past the timeout or vanishes is not worth a traceback on stderr."""
        log.warning("sidecar_connection_error", client=str(client_address[0]), error=repr(sys.exc_info()[1]))

    def server_activate(self) -> None:
        super().server_activate()
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A bounded number of connection threads: slow or idle clients cannot exhaust the process."""
        if not self._slots.acquire(blocking=False):
            log.warning("sidecar_busy", client=str(client_address[0]), max_connections=self.max_connections)
            try:
                request.settimeout(BUSY_LINGER_S)
                request.sendall(_BUSY)
            except OSError:
                pass
            self._close(request, BUSY_LINGER_S)  # the accept thread must not wait on this client
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)  # type: ignore[misc]
        finally:
            self._slots.release()

    def shutdown_request(self, request: Any) -> None:
        """Half-close after the answer and drain what the client is still sending (a body we refused
        to read, say): closing with unread bytes makes the kernel send a reset, and the client would
        see "connection reset" instead of our 413."""
        self._close(request, self.linger_s)

    def _close(self, request: Any, linger_s: float) -> None:
        try:
            request.shutdown(socket.SHUT_WR)
            _drain(request, time.monotonic() + linger_s)
        except OSError:
            pass
        self.close_request(request)


def _drain(sock: socket.socket, deadline: float) -> None:
    """Read and drop bytes until the client closes, goes quiet for ``LINGER_IDLE_S``, or a bound is hit."""
    total = 0
    while total < LINGER_MAX_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(min(LINGER_IDLE_S, left))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return
        if not chunk:
            return
        total += len(chunk)


def _split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)  # documented default  # noqa: S104  # nosec B104


def _server_class(host: str) -> type[_Server]:
    if ":" not in host:
        return _Server
    return type("_Server6", (_Server,), {"address_family": socket.AF_INET6})


class Sidecar:
    """/healthz /status /metrics /logs /query /openapi.json for one running bot."""

    def __init__(self, settings: Settings, services: Services, state: BotState, *,
                 health: HealthSource | None = None) -> None:
        self._settings = settings
        self._services = services
        self._state = state
        source = health if health is not None else AwsHealthProbe(services.aws, settings.aws_health_ttl_s)
        self._health = AwsHealthView(source, settings.aws_health_ttl_s)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Sidecar:
        """Bind and serve on a daemon thread; returns self. Raises OSError if the address is taken."""
        if self._server is not None:
            return self
        ctx = Context(self._settings, self._services, self._state,
                      make_wsgi_app(self._services.metrics.registry), self._health)
        host, port = _split_addr(self._settings.sidecar_addr)
        limits = {"max_connections": self._settings.sidecar_max_connections,
                  "linger_s": self._settings.sidecar_read_timeout_s}
        handler = type("_Handler", (_QuietHandler,), {"timeout": self._settings.sidecar_read_timeout_s})
        bounded: type[_Server] = type("_Bounded", (_server_class(host),), limits)
        server: _Server = make_server(host, port, make_app(ctx), server_class=bounded, handler_class=handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                  name="sidecar-http", daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        return self

    @property
    def url(self) -> str:
        """``http://host:port`` actually bound (port 0 in the settings becomes the real port)."""
        if self._server is None:
            raise RuntimeError("the sidecar is not running; call start() first")
        host, port = self._server.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop accepting, close the socket, join the accept thread; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()
        self._health.close()

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
