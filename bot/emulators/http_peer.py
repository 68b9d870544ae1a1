"""The HTTP plumbing shared by the fake model servers (OpenAI-compatible and Bedrock): a loopback
server on an ephemeral port that never waits on handler threads, and a keep-alive handler base that
reports its connections to the fake (so ``stop()`` can cut hung ones) and stays quiet."""

from __future__ import annotations

import contextlib
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


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
