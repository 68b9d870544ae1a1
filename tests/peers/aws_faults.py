"""A loopback HTTP proxy in front of moto that answers a share of AWS calls with a throttling error
(and can add a fixed latency to every call, for overhead benchmarks).

moto never throttles, and patching our own code would test nothing, so the fault sits at the network
edge: botocore sees a real ``ThrottlingException`` / ``RequestLimitExceeded`` in each service's own
wire protocol (JSON, CBOR, EC2/query XML) and its retry logic runs for real.
"""

from __future__ import annotations

import random
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from tests.peers.forward import ForwardingHandler


def _cbor_text(s: str) -> bytes:
    data = s.encode()
    if len(data) < 24:
        return bytes([0x60 + len(data)]) + data
    return bytes([0x78, len(data)]) + data


def throttle_response(headers: Any) -> tuple[dict[str, str], bytes]:
    """The error each protocol's botocore parser understands as throttling."""
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        body = b"\xa2" + _cbor_text("__type") + _cbor_text("ThrottlingException") + _cbor_text("message") \
            + _cbor_text("Rate exceeded")
        return {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}, body
    if headers.get("X-Amz-Target"):
        body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        return {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}, body
    if headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        body = (b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
                b"</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>")
        return {"Content-Type": "text/xml"}, body
    return {"Content-Type": "text/xml"}, b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"


class ThrottlingProxy:
    """Forward to ``upstream``; answer with throttling on ``probability`` of requests (seeded)."""

    def __init__(self, upstream: str, probability: float, seed: int = 0, delay_s: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.probability = probability
        self.delay_s = delay_s  # injected latency per call, for overhead benchmarks
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.throttled = 0
        self.forwarded = 0
        proxy = self

        class Handler(ForwardingHandler):
            def do_POST(self) -> None:  # every AWS API call the bot makes is a POST
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                if proxy.delay_s:
                    time.sleep(proxy.delay_s)
                with proxy._lock:
                    throttle = proxy._rng.random() < proxy.probability
                    if throttle:
                        proxy.throttled += 1
                    else:
                        proxy.forwarded += 1
                if throttle:
                    headers, payload = throttle_response(self.headers)
                    self.send(400, headers, payload)
                    return
                self.forward(proxy.upstream, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-fault-proxy", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ThrottlingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
