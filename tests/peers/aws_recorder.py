"""A loopback HTTP proxy in front of moto that records every AWS call it forwards: which credentials
signed it (the access key in the SigV4 ``Authorization`` header), the service, the operation and whether
it was a ``DryRun``.

It is how the approved-action tests count writes at the AWS edge (exactly one per approved proposal,
whichever replica ran it) and see which calls the assumed action role made, without looking inside the
bot. Operations are read from each protocol's own place: the form body's ``Action`` (EC2, Auto Scaling,
STS), ``X-Amz-Target`` (ECS, SSM, Logs) or the rpc-v2-cbor path (CloudWatch).
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

from tests.peers.forward import ForwardingHandler

_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")
_CBOR_PATH = re.compile(r"/service/[^/]+/operation/([A-Za-z]+)")
READ_VERBS = ("Describe", "Get", "List", "Filter", "Lookup")  # CloudTrail LookupEvents reads


@dataclass(frozen=True)
class AwsCall:
    access_key: str
    service: str
    operation: str
    dry_run: bool
    params: dict[str, str]  # form parameters (query protocols), for session names and instance ids

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def writes(self) -> bool:
        """A call that changes something: not a read, not a dry run, not STS."""
        return not (self.dry_run or self.service == "sts" or self.operation.startswith(READ_VERBS))


def _operation(headers: Any, path: str, form: dict[str, str]) -> str:
    target = headers.get("X-Amz-Target", "")
    if target:
        return str(target.rsplit(".", 1)[-1])
    match = _CBOR_PATH.search(path)
    if match:
        return match.group(1)
    return form.get("Action", "?")


class RecordingProxy:
    """Forward every call to ``upstream`` (moto) and remember it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._lock = threading.Lock()
        self._calls: list[AwsCall] = []
        proxy = self

        class Handler(ForwardingHandler):
            def do_POST(self) -> None:  # every AWS API call the bot makes is a POST
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                form: dict[str, str] = {}
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    form = dict(urllib.parse.parse_qsl(body.decode(errors="replace")))
                cred = _CREDENTIAL.search(self.headers.get("Authorization", ""))
                call = AwsCall(cred.group(1) if cred else "", cred.group(2) if cred else "?",
                               _operation(self.headers, self.path, form),
                               form.get("DryRun", "").lower() == "true" or b'"DryRun": true' in body, form)
                with proxy._lock:
                    proxy._calls.append(call)
                self.forward(proxy.upstream, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-recorder", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def calls(self, since: int = 0) -> list[AwsCall]:
        with self._lock:
            return list(self._calls[since:])

    def mark(self) -> int:
        with self._lock:
            return len(self._calls)

    def start(self) -> RecordingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
