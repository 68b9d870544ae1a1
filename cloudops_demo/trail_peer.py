"""A CloudTrail peer for what moto lacks: ``LookupEvents``, on the real wire (AWS JSON 1.1).

boto3 reaches it unchanged through its service-specific endpoint variable
(``AWS_ENDPOINT_URL_CLOUDTRAIL=http://127.0.0.1:PORT``), so the bot's ordinary client, signing,
retries and error parsing all run. It answers ``LookupEvents`` the way CloudTrail does: one lookup
attribute at most, ``StartTime``/``EndTime`` as epoch seconds, newest first, ``MaxResults`` ≤ 50 with
an opaque ``NextToken``, each event's full record as a JSON string in ``CloudTrailEvent``. Faults on
demand (``fail_next``) answer ``ThrottlingException`` or ``AccessDeniedException`` as CloudTrail does.

The same server answers the ECS and target-health calls the sandbox seeds in ``workloads``
(``cloudops_demo.workload_peer``: moto cannot give a task an exit code or a target a failed check).

Hand-written because no maintained library serves CloudTrail's lookup API; it is stdlib only.
Used by the demo sandbox (``cloudops_demo.sandbox.seed_story``) and by the tests.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from cloudops_demo.workload_peer import ECS_TARGET, PeerFault, WorkloadState, elb_error

_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
_MAX_RESULTS = 50
_ATTRIBUTES = {"EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
               "AccessKeyId"}


@dataclass(frozen=True)
class TrailEvent:
    """One management event as CloudTrail records it (the fields LookupEvents returns)."""

    name: str  # "UpdateService"
    source: str  # "ecs.amazonaws.com"
    user: str  # "alice@example.com"
    time: datetime
    resources: tuple[tuple[str, str], ...] = ()  # (type, name), e.g. ("AWS::ECS::Service", "api-prod")
    read_only: bool = False
    region: str = "us-east-1"
    request: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    access_key: str = "ASIAFAKEDEMOSANDBOX1"

    def wire(self, account: str) -> dict[str, Any]:
        record = {
            "eventVersion": "1.09", "eventTime": f"{self.time:%Y-%m-%dT%H:%M:%SZ}", "eventSource": self.source,
            "eventName": self.name, "awsRegion": self.region, "readOnly": self.read_only,
            "userIdentity": {"type": "AssumedRole", "principalId": f"AROAFAKE:{self.user}",
                             "arn": f"arn:aws:sts::{account}:assumed-role/Deployer/{self.user}",
                             "accountId": account, "accessKeyId": self.access_key},
            "requestParameters": self.request, "eventID": self.event_id, "eventType": "AwsApiCall",
            "managementEvent": True, "recipientAccountId": account,
        }
        return {"EventId": self.event_id, "EventName": self.name, "ReadOnly": str(self.read_only).lower(),
                "AccessKeyId": self.access_key, "EventTime": self.time.timestamp(), "EventSource": self.source,
                "Username": self.user,
                "Resources": [{"ResourceType": t, "ResourceName": n} for t, n in self.resources],
                "CloudTrailEvent": json.dumps(record)}

    def matches(self, key: str, value: str) -> bool:
        if key == "ResourceName":
            return any(n == value for _, n in self.resources)
        if key == "ResourceType":
            return any(t == value for t, _ in self.resources)
        got = {"EventId": self.event_id, "EventName": self.name, "ReadOnly": str(self.read_only).lower(),
               "Username": self.user, "EventSource": self.source, "AccessKeyId": self.access_key}[key]
        return got == value


class TrailPeer:
    """The peer's state (events per region) and its loopback HTTP server."""

    def __init__(self, account: str = "123456789012") -> None:
        self.account = account
        self._events: list[TrailEvent] = []
        self._faults: list[tuple[str, str]] = []  # (error code, message), answered one per request
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.calls = 0
        self.workloads = WorkloadState(account=account)

    # --- state ------------------------------------------------------------------------------------
    def record(self, *events: TrailEvent) -> None:
        with self._lock:
            self._events.extend(events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._faults.clear()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def fail_next(self, code: str = "ThrottlingException", times: int = 1,
                  message: str = "Rate exceeded") -> None:
        """The next ``times`` requests answer ``code`` (ThrottlingException, AccessDeniedException)."""
        with self._lock:
            self._faults.extend([(code, message)] * times)

    def lookup(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        attributes = body.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise _Fault("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
        for attr in attributes:
            if attr.get("AttributeKey") not in _ATTRIBUTES:
                raise _Fault("InvalidLookupAttributesException", f"Invalid attribute key {attr.get('AttributeKey')}")
        limit = int(body.get("MaxResults") or _MAX_RESULTS)
        if not 1 <= limit <= _MAX_RESULTS:
            raise _Fault("InvalidMaxResultsException", "MaxResults must be between 1 and 50")
        start = _epoch(body.get("StartTime"), 0.0)
        end = _epoch(body.get("EndTime"), float("inf"))
        if start > end:
            raise _Fault("InvalidTimeRangeException", "StartTime must be before EndTime")
        with self._lock:
            found = [e for e in self._events if e.region == region and start <= e.time.timestamp() <= end
                     and all(e.matches(a["AttributeKey"], str(a.get("AttributeValue", ""))) for a in attributes)]
        found.sort(key=lambda e: e.time, reverse=True)
        offset = int(body.get("NextToken") or 0)
        page = found[offset: offset + limit]
        out: dict[str, Any] = {"Events": [e.wire(self.account) for e in page]}
        if offset + limit < len(found):
            out["NextToken"] = str(offset + limit)
        return out

    def _next_fault(self) -> tuple[str, str] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    # --- server -----------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("TrailPeer is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TrailPeer:
        if self._server is None:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
            server.daemon_threads = True
            server.peer = self  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, name="trail-peer", daemon=True).start()
            self._server = server
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> TrailPeer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


_Fault = PeerFault


def _epoch(value: Any, default: float) -> float:
    if value in (None, ""):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _region(authorization: str) -> str:
    """The region from the SigV4 credential scope (``Credential=AKID/date/REGION/cloudtrail/aws4_request``)."""
    scope = authorization.partition("Credential=")[2].split(",")[0].split("/")
    return scope[2] if len(scope) > 2 else "us-east-1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        peer: TrailPeer = self.server.peer  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        target = self.headers.get("X-Amz-Target", "")
        peer.calls += 1
        if not target:  # the query protocol: ELBv2
            self._elb(peer, raw)
            return
        try:
            if target.startswith(ECS_TARGET):
                self._send(200, peer.workloads.ecs(target.removeprefix(ECS_TARGET), json.loads(raw or b"{}"),
                                                   _region(self.headers.get("Authorization", ""))))
                return
            fault = peer._next_fault()
            if fault:
                raise _Fault(*fault)
            if target != _TARGET + "LookupEvents":
                raise _Fault("UnknownOperationException", f"{target.removeprefix(_TARGET)} is not served here")
            body = json.loads(raw or b"{}")
            self._send(200, peer.lookup(_region(self.headers.get("Authorization", "")), body))
        except _Fault as fault:
            self._send(400, {"__type": fault.code, "message": fault.message})
        except (ValueError, KeyError, TypeError) as exc:
            self._send(400, {"__type": "InvalidParameterException", "message": str(exc)[:200]})

    def _elb(self, peer: TrailPeer, raw: bytes) -> None:
        form = dict(parse_qsl(raw.decode()))
        try:
            status, text = 200, peer.workloads.elb(form, _region(self.headers.get("Authorization", "")))
        except _Fault as fault:
            status, text = 400, elb_error(fault.code, fault.message)
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: access logs would drown the demo console and pytest output."""
