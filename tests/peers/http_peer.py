"""The HTTP plumbing shared by the fake model servers (OpenAI-compatible and Bedrock): a loopback
server on an ephemeral port that never waits on handler threads, a keep-alive handler base that
reports its connections to the fake (so ``stop()`` can cut hung ones) and stays quiet, and the
fake's life cycle (start, a prompt stop, the context manager)."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self

JOIN_TIMEOUT_S = 2.0  # how long stop() waits for the server thread and each handler thread


class TracksConnections(Protocol):
    def _track(self, conn: socket.socket, *, add: bool) -> None: ...


class LoopbackServer(ThreadingHTTPServer):
    """Binds 127.0.0.1:<free port>; closing never waits on handler threads."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # the stdlib default of 5 drops SYNs under benchmark bursts (1 s retransmits)

    def __init__(self, fake: Any, handler: type[BaseHTTPRequestHandler]) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), handler)


class PeerHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 so the SDKs' keep-alive pools work, as the real endpoints allow."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate small writes; with Nagle on, delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True

    def _peer(self) -> TracksConnections:
        server: Any = self.server
        return server.fake  # type: ignore[no-any-return]

    def setup(self) -> None:
        super().setup()
        self._peer()._track(self.connection, add=True)

    def finish(self) -> None:
        self._peer()._track(self.connection, add=False)
        super().finish()

    def handle(self) -> None:
        """A client that times out or drops a pooled connection is normal here, not a traceback on stderr."""
        with contextlib.suppress(ConnectionError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: per-request access logs would drown pytest output."""


class LoopbackPeer:
    """Start/stop for a fake served by ``LoopbackServer``; subclasses name their handler and thread.

    ``stop()`` is prompt even with hung or slow requests in flight: ``stopping`` wakes handlers that
    wait on it, and every tracked keep-alive socket is cut so its handler thread can end.
    """

    handler: type[BaseHTTPRequestHandler]
    thread_name = "fake-peer"

    def _init_peer(self) -> None:
        self._stopping = threading.Event()
        self._peer_lock = threading.Lock()
        self._httpd: LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}

    def start(self) -> Self:
        """Bind and serve in the background; returns self so ``srv = Fake().start()`` reads well."""
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = LoopbackServer(self, self.handler)
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._peer_lock:
            live = dict(self._connections)
        for conn in live:
            _cut(conn)
        httpd.server_close()
        if thread is not None:
            thread.join(JOIN_TIMEOUT_S)
        for worker in live.values():
            if worker is not threading.current_thread():
                worker.join(JOIN_TIMEOUT_S)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _origin(self) -> str:
        """``http://127.0.0.1:<port>``; only meaningful once started (the port is ephemeral)."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._peer_lock:
            if add:
                self._connections[conn] = threading.current_thread()
            else:
                self._connections.pop(conn, None)
        if add and self._stopping.is_set():
            _cut(conn)


def _cut(conn: socket.socket) -> None:
    """Unblock a handler thread stuck reading a keep-alive connection."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
