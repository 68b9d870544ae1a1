"""The sidecar against hostile or broken clients, over real sockets: what a red team sent and what a
caller must get back (a quick 4xx naming the problem, never a 500, a reset or a held thread)."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest

from cloudops_demo.sandbox import SeededIncident
from tests.sidecar_client import TOKEN, Running, another_sidecar, call, running_sidecar


@pytest.fixture(scope="module")
def side(incident: SeededIncident) -> Iterator[Running]:
    with running_sidecar(sidecar_read_timeout_s=1.0) as running:
        yield running


def _addr(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", int(parts.port or 0)


def _raw(url: str, head: bytes, body: bytes = b"", *, timeout: float = 10.0) -> tuple[int, bytes, float]:
    """Send bytes as they are; return (status, body, seconds until the answer)."""
    start = time.monotonic()
    with socket.create_connection(_addr(url), timeout=timeout) as sock:
        sock.sendall(head + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.partition(b"\r\n\r\n")[2], time.monotonic() - start


def test_deeply_nested_json_is_400_not_500(side: Running) -> None:
    body = b'{"text": "help", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    answer = call(f"{side.url}/query", token=TOKEN, data=body, headers={"Content-Type": "application/json"})
    assert answer.status == 400 and answer.json()["parameter"] == "body"


def test_a_body_shorter_than_its_content_length_is_a_quick_400(side: Running) -> None:
    head = (f"POST /query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n").encode()
    status, body, took = _raw(side.url, head, b'{"text": "help"}')
    assert status == 400 and b"Content-Length" in body
    assert took < 5  # the read timeout is 1 s here; it used to be a 500 after 30 s


def test_a_two_mebibyte_body_gets_413_not_a_reset(side: Running) -> None:
    """The client is still sending when the sidecar has refused the body (as over a real network):
    it must be able to read the 413, not a connection reset."""
    body = json.dumps({"text": "x" * (2 * 1024 * 1024)}).encode()
    head = (f"POST /query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(_addr(side.url), timeout=15) as sock:
        sock.sendall(head + body[:65536])
        time.sleep(0.3)  # the sidecar answers 413 meanwhile
        sock.sendall(body[65536:])
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.") and b" 413 " in data.split(b"\r\n")[0]
    assert b"limit" in data


def test_head_is_get_without_a_body(side: Running) -> None:
    conn = http.client.HTTPConnection(*_addr(side.url), timeout=10)
    try:
        conn.request("HEAD", "/healthz")
        answer = conn.getresponse()
        assert answer.status == 200 and int(answer.headers["Content-Length"]) > 0 and answer.read() == b""
    finally:
        conn.close()


@pytest.mark.parametrize("limit", ["\uff15", "\u0665\u0660", "1\uff10"])  # full-width 5, Arabic-Indic 50
def test_limit_takes_ascii_digits_only(side: Running, limit: str) -> None:
    answer = call(f"{side.url}/logs?group=worker&limit={quote(limit)}", token=TOKEN)
    assert answer.status == 400 and answer.json()["parameter"] == "limit"


def test_since_takes_ascii_digits_only(side: Running) -> None:
    answer = call(f"{side.url}/logs?group=worker&since={quote(chr(0xff11))}h", token=TOKEN)
    assert answer.status == 400 and answer.json()["parameter"] == "since"


def test_slow_clients_are_capped_and_dropped_after_the_read_timeout(side: Running) -> None:
    with another_sidecar(side, sidecar_max_connections=2, sidecar_read_timeout_s=1.0) as small:
        idle = [socket.create_connection(_addr(small.url), timeout=5) for _ in range(2)]
        try:
            idle[0].sendall(b"GET /status HTTP/1.1\r\n")  # and then nothing: a slow-loris client
            time.sleep(0.2)
            refused = call(f"{small.url}/healthz")
            assert refused.status == 503 and refused.headers["Retry-After"]
            time.sleep(3.0)  # past the read timeout (1 s) and the linger after it: both have been dropped
            assert call(f"{small.url}/healthz").status == 200
            assert idle[1].recv(1024) == b""  # closed by the server, not held
        finally:
            for s in idle:
                s.close()


def test_public_status_hides_the_aws_account_unless_authenticated(side: Running) -> None:
    deadline = time.monotonic() + 20
    while call(f"{side.url}/status").json()["aws"]["reachable"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    anonymous = call(f"{side.url}/status").json()["aws"]
    operator = call(f"{side.url}/status", token=TOKEN).json()["aws"]
    assert anonymous["account"] is None
    assert operator["account"] and operator["account"].isdigit()


def test_query_runs_as_its_own_configurable_identity_under_read_acls(incident: SeededIncident) -> None:
    acl = {"access_read_users": ("U-oncall",), "access_read_channels": ("C-ops",)}
    with running_sidecar(**acl) as default_identity:
        refused = default_identity.query("alarms").json()
    assert refused["ok"] is False and refused["outcome"] == "denied"
    with running_sidecar(**acl, sidecar_user="U-oncall", sidecar_channel="C-ops") as listed:
        allowed = listed.query("alarms").json()
    assert allowed["ok"] is True and allowed["command"] == "alarms"


def test_logs_with_invalid_unicode_are_served_not_500(side: Running) -> None:
    """A log line with half a surrogate pair (what JSON's "\\ud83d" decodes to) used to fail the group."""
    import boto3

    logs = boto3.client("logs")
    group = "/test/sidecar-surrogate"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": int(time.time() * 1000) - 1000, "message": "ERROR bad \ud83d byte"}])
    as_json = call(f"{side.url}/logs?group={quote(group)}", token=TOKEN)
    as_text = call(f"{side.url}/logs?group={quote(group)}&format=text", token=TOKEN)
    compact = call(f"{side.url}/logs?group={quote(group)}&compact=1", token=TOKEN)
    assert as_json.status == as_text.status == compact.status == 200
    assert as_json.json()["events"][0]["message"] == "ERROR bad \ufffd byte"
    assert "ERROR bad \ufffd byte" in as_text.text
