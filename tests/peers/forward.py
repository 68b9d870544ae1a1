"""The forwarding half of the AWS proxies tests put in front of moto (throttling, recording, failing)."""

from __future__ import annotations

import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class ForwardingHandler(BaseHTTPRequestHandler):
    """Subclasses decide per call; ``forward`` passes a call on to ``upstream`` unchanged, signature included."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def forward(self, upstream: str, body: bytes) -> None:
        req = urllib.request.Request(upstream + self.path, data=body, method="POST",
                                     headers={k: v for k, v in self.headers.items() if k.lower() not in HOP})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as resp:
                self.send(resp.status, dict(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            self.send(err.code, dict(err.headers.items()), err.read())

    def send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
