"""The sidecar over real HTTP on loopback, against the seeded moto AWS: what a script, a probe or an
operator with curl would see."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from bot.aws.health import AwsHealth
from bot.sidecar.api import MAX_QUERY_BODY
from bot.sidecar.routes import ROUTES, Guard
from cloudops_demo.sandbox import SeededIncident
from handlers import registry
from tests.harness import FAKE_AWS_ENV
from tests.sidecar_client import TOKEN, Answer, Running, another_sidecar, call, running_sidecar, sample


@pytest.fixture(scope="module")
def side(incident: SeededIncident) -> Iterator[Running]:
    with running_sidecar(slack_grace_s=0.2) as running:
        yield running


def _status_once_aws_is_known(url: str) -> Answer:
    """/status reports the last known AWS health; the first sts answer may still be on its way."""
    deadline = time.monotonic() + 20
    while True:
        answer = call(f"{url}/status", token=TOKEN)  # the token also shows the AWS account id
        if answer.json()["aws"]["reachable"] is not None or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


# --- /logs: access control -------------------------------------------------------------------------
def test_logs_without_a_token_is_401_with_a_bearer_challenge(side: Running) -> None:
    missing = call(f"{side.url}/logs?group=worker")
    wrong = call(f"{side.url}/logs?group=worker", token="not-the-token")
    assert missing.status == wrong.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert "Bearer" in missing.json()["hint"]
    assert "events" not in wrong.json()


def test_data_routes_are_closed_when_no_token_is_configured(side: Running) -> None:
    with another_sidecar(side, sidecar_token="") as open_by_mistake:
        logs = call(f"{open_by_mistake.url}/logs?group=worker", token="")
        query = open_by_mistake.query("help", token="anything")
        metrics = call(f"{open_by_mistake.url}/metrics")
    assert logs.status == query.status == 403
    assert "CLOUDOPS_SIDECAR_TOKEN" in logs.json()["hint"]
    assert metrics.status == 200  # scraping stays open unless CLOUDOPS_METRICS_REQUIRE_TOKEN


# --- /logs: parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "parameter"), [
    ("", "group"),
    ("group=", "group"),
    ("group=bad%20name!", "group"),
    ("group=worker&since=yesterday", "since"),
    ("group=worker&since=30d", "since"),  # longer than CLOUDOPS_MAX_WINDOW (14d)
    ("group=worker&limit=0", "limit"),
    ("group=worker&limit=10001", "limit"),
    ("group=worker&limit=ten", "limit"),
    ("group=worker&format=xml", "format"),
    ("group=worker&compact=yes", "compact"),
    ("group=worker&filter=%7B%24.level%3D1%7D", "filter"),  # {$.level=1}: pattern syntax is refused
    ("group=worker&sinse=2h", "sinse"),  # a typo is an error, not a silently different answer
    ("group=worker&group=api", "group"),
])
def test_bad_logs_parameters_are_400_naming_the_parameter(side: Running, query: str, parameter: str) -> None:
    answer = call(f"{side.url}/logs?{query}", token=TOKEN)
    assert answer.status == 400, answer.body
    body = answer.json()
    assert body["parameter"] == parameter
    assert body["error"] and body["hint"]


def test_unknown_log_group_is_404_with_a_hint(side: Running) -> None:
    answer = call(f"{side.url}/logs?group=/ecs/does-not-exist", token=TOKEN)
    assert answer.status == 404
    assert "does-not-exist" in answer.json()["error"] and answer.json()["hint"]


# --- /logs: results --------------------------------------------------------------------------------
def test_filtered_logs_return_only_matching_events_of_the_window(side: Running) -> None:
    # One term: moto 5.2.5 matches no event for two quoted terms ("502" "checkout"), unlike AWS.
    answer = call(f"{side.url}/logs?group=api&filter=502&since=30m", token=TOKEN)
    unfiltered = call(f"{side.url}/logs?group=api&since=30m", token=TOKEN).json()
    assert answer.status == 200
    body = answer.json()
    assert body["group"] == "/ecs/api-prod" and body["since"] == "30m" and body["filter"] == "502"
    assert unfiltered["count"] > body["count"] == len(body["events"]) > 5
    assert all("502" in e["message"] for e in body["events"])
    oldest_allowed = (time.time() - 31 * 60) * 1000
    assert all(e["timestamp_ms"] >= oldest_allowed for e in body["events"])
    stamps = [e["timestamp_ms"] for e in body["events"]]
    assert stamps == sorted(stamps)


def test_limit_keeps_the_newest_events(side: Running) -> None:
    everything = call(f"{side.url}/logs?group=api&since=1h&limit=10000", token=TOKEN).json()
    newest = call(f"{side.url}/logs?group=api&since=1h&limit=5", token=TOKEN).json()
    assert newest["count"] == 5 and newest["truncated"] is True and everything["truncated"] is False
    assert newest["matched"] > 5 and everything["count"] > 5  # (the window's oldest edge moves between calls)
    assert [e["message"] for e in newest["events"]] == [e["message"] for e in everything["events"][-5:]]


def test_text_format_is_one_event_per_line(side: Running) -> None:
    answer = call(f"{side.url}/logs?group=worker&filter=backing&since=1h&format=text", token=TOKEN)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
    lines = answer.text.splitlines()
    assert lines and all("queue backing up" in line for line in lines)
    assert all(line[:4].isdigit() and "worker/worker/" in line for line in lines)


def test_a_leaked_aws_secret_is_redacted_in_every_logs_view(side: Running, incident: SeededIncident) -> None:
    base = f"{side.url}/logs?group=worker&since=1h"
    views = [call(f"{base}&filter=reconnecting", token=TOKEN), call(f"{base}&format=text", token=TOKEN),
             call(f"{base}&compact=1", token=TOKEN), call(f"{base}&compact=1&format=text", token=TOKEN)]
    assert all(v.status == 200 for v in views)
    assert "reconnecting" in views[0].json()["events"][0]["message"]  # the leaking line is there...
    for view in views:
        assert incident.fake_secret not in view.text  # ...but not the secret
        assert incident.fake_access_key_id not in view.text
        assert "REDACTED" in view.text
    compact = views[2].json()
    assert "events" not in compact and compact["groups_shown"] > 0 and "reconnecting" in compact["compact"]
    scraped = call(f"{side.url}/metrics").text
    assert (sample(scraped, "cloudops_redactions_total", {"kind": "aws_secret_access_key"}) or 0) >= 1


# --- /status and /healthz --------------------------------------------------------------------------
def test_status_is_503_only_after_the_slack_grace_period(side: Running, incident: SeededIncident) -> None:
    ok = _status_once_aws_is_known(side.url)
    assert ok.status == 200
    body = ok.json()
    assert body["status"] == "ok" and body["version"] == "9.9.9"
    assert body["aws"]["reachable"] is True and body["aws"]["account"] == "123456789012"
    assert body["aws"]["region"] == incident.region
    assert body["model"]["configured"] is False and body["slack"]["connected"] is True
    side.state.set_connected(False)
    try:
        while side.state.down_for() <= 0.2:  # the grace period (slack_grace_s=0.2) runs out
            time.sleep(0.05)
        down = call(f"{side.url}/status")
        assert down.status == 503
        assert down.json()["status"] == "down" and down.json()["slack"]["down_for_s"] > 0
    finally:
        side.state.set_connected(True)
    again = call(f"{side.url}/status")
    assert again.status == 200 and again.json()["status"] == "ok"


def test_status_is_degraded_but_200_when_aws_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    with socket.socket() as held:  # bound, never listening: connections are refused, and no one else gets it
        held.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{held.getsockname()[1]}")
        with running_sidecar(aws_connect_timeout_s=1.0) as side:
            status = _status_once_aws_is_known(side.url)
            logs = call(f"{side.url}/logs?group=worker", token=TOKEN)
    assert status.status == 200
    assert status.json()["status"] == "degraded"
    assert status.json()["aws"]["reachable"] is False and status.json()["aws"]["last_error"]
    assert logs.status == 502 and logs.json()["hint"]


class _HungProbe:
    """An sts call that never returns (a black-holed endpoint), until the test releases it."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def get(self) -> AwsHealth:
        self.release.wait()
        return AwsHealth(True, "123456789012", time.time(), None, "")


def test_status_and_healthz_answer_while_aws_and_a_client_hang(side: Running) -> None:
    probe = _HungProbe()
    with another_sidecar(side, health=probe) as hung:
        host, port = urlsplit(hung.url).hostname, urlsplit(hung.url).port
        with socket.create_connection((host, port)) as stalled:  # a client that never finishes its request
            stalled.sendall(b"GET /logs HTTP/1.1\r\nHost: x\r\n")
            status = call(f"{hung.url}/status")
            healthz = call(f"{hung.url}/healthz")
        probe.release.set()
    assert healthz.status == 200 and healthz.json() == {"status": "alive"}
    assert status.status == 200
    assert status.json()["aws"]["reachable"] is None  # not known yet, and /status did not wait for it


# --- routing ---------------------------------------------------------------------------------------
def test_unknown_paths_are_404_and_wrong_methods_405_with_allow(side: Running) -> None:
    missing = call(f"{side.url}/nope")
    assert missing.status == 404 and "/openapi.json" in missing.json()["hint"]
    post_status = call(f"{side.url}/status", data=b"{}", method="POST")
    get_query = call(f"{side.url}/query", token=TOKEN)
    assert post_status.status == get_query.status == 405
    assert post_status.headers["Allow"] == "GET, HEAD" and get_query.headers["Allow"] == "POST"
    assert post_status.json()["error"]


# --- /query ----------------------------------------------------------------------------------------
def test_query_help_returns_the_reply_and_is_counted(side: Running) -> None:
    labels = {"kind": "query", "command": "help", "outcome": "ok"}
    before = sample(call(f"{side.url}/metrics").text, "cloudops_requests_total", labels)
    answer = side.query("help")
    assert answer.status == 200
    reply = answer.json()
    assert reply["ok"] is True and reply["command"] == "help" and reply["outcome"] == "ok"
    assert reply["title"] and "logs" in json.dumps(reply["sections"])
    assert {"summary", "notes", "hint", "correlation_id", "model_used", "usage"} <= reply.keys()
    after = sample(call(f"{side.url}/metrics").text, "cloudops_requests_total", labels)
    assert before is not None and after == before + 1


def test_query_runs_a_real_command_and_renders_text(side: Running) -> None:
    # Instance ids are not compared with the session's SeededIncident: another test may re-seed moto.
    as_json = side.query("status web-1").json()
    as_text = side.query("status web-1", suffix="?format=text")
    facts = {f["label"]: f["value"] for s in as_json["sections"] for f in s["facts"]}
    assert as_json["command"] == "status" and re.fullmatch(r"web-1 i-[0-9a-f]{8,17}", facts["Instance"])
    assert as_text.headers["Content-Type"].startswith("text/plain")
    assert facts["Instance"] in as_text.text and "running" in as_text.text


def test_a_failing_command_is_a_reply_with_ok_false(side: Running) -> None:
    reply = side.query("logs /ecs/does-not-exist").json()
    assert reply["ok"] is False and reply["outcome"] == "not_found" and reply["hint"]


@pytest.mark.parametrize(("body", "parameter"), [
    (b"status web-1", "body"),
    (b"[1, 2]", "body"),
    (b"{}", "text"),
    (b'{"text": "   "}', "text"),
    (b'{"text": 42}', "text"),
    (b'{"text": "help", "user": "U1"}', "user"),
    (b"\xff\xfe", "body"),
])
def test_bad_query_bodies_are_400(side: Running, body: bytes, parameter: str) -> None:
    answer = call(f"{side.url}/query", token=TOKEN, data=body, headers={"Content-Type": "application/json"})
    assert answer.status == 400
    assert answer.json()["parameter"] == parameter and answer.json()["hint"]


def test_an_oversized_query_is_413_and_a_bodyless_one_411(side: Running) -> None:
    big = json.dumps({"text": "help " + "x" * MAX_QUERY_BODY}).encode()
    assert call(f"{side.url}/query", token=TOKEN, data=big).status == 413
    conn = http.client.HTTPConnection(urlsplit(side.url).hostname or "", urlsplit(side.url).port, timeout=10)
    try:
        conn.putrequest("POST", "/query")
        conn.putheader("Authorization", f"Bearer {TOKEN}")
        conn.endheaders()
        assert conn.getresponse().status == 411
    finally:
        conn.close()


def test_query_is_refused_while_draining(side: Running) -> None:
    side.state.draining = True
    try:
        answer = side.query("help")
    finally:
        side.state.draining = False
    assert answer.status == 503 and answer.headers["Retry-After"]


# --- /metrics and /openapi.json --------------------------------------------------------------------
def test_metrics_negotiate_gzip_and_can_require_the_token(side: Running) -> None:
    zipped = call(f"{side.url}/metrics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("Content-Encoding") == "gzip"
    assert b"cloudops_requests_total" in gzip.decompress(zipped.body)
    with another_sidecar(side, metrics_require_token=True) as locked:
        anonymous = call(f"{locked.url}/metrics")
        scraper = call(f"{locked.url}/metrics", token=TOKEN)
    assert anonymous.status == 401 and "cloudops_" not in anonymous.text
    assert scraper.status == 200 and scraper.headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_openapi_describes_exactly_the_route_table(side: Running) -> None:
    answer = call(f"{side.url}/openapi.json")
    assert answer.status == 200
    spec = answer.json()
    assert spec["openapi"].startswith("3.0") and spec["info"]["version"] == "9.9.9"
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert documented == set(ROUTES)
    for (method, path), route in ROUTES.items():
        op = spec["paths"][path][method.lower()]
        needs_token = route.guard is not Guard.PUBLIC
        assert ({"bearer": []} in op.get("security", [])) == needs_token, (method, path)
        if route.guard is Guard.BEARER:
            assert {"401", "403"} <= op["responses"].keys(), (method, path)


def test_openapi_is_valid_and_its_schemas_match_real_answers(side: Running) -> None:
    spec_validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator not installed")
    schema_validator = pytest.importorskip("openapi_schema_validator", reason="openapi-schema-validator not installed")
    spec = call(f"{side.url}/openapi.json").json()
    spec_validator.validate(spec)
    schemas = spec["components"]["schemas"]

    def check(name: str, instance: object) -> None:
        schema = {**schemas[name], "components": {"schemas": schemas}}
        schema_validator.validate(instance, schema, cls=schema_validator.OAS30Validator)

    check("Status", call(f"{side.url}/status").json())
    check("Logs", call(f"{side.url}/logs?group=worker&since=15m", token=TOKEN).json())
    check("Reply", side.query("help").json())
    check("Error", call(f"{side.url}/logs", token=TOKEN).json())


def test_the_served_openapi_names_the_commands_the_capability_entries_declare(side: Running) -> None:
    """openapi.json on disk has no command list: the served document takes it from the entries, so a new
    capability is documented without editing the file, and a reply naming an undeclared command fails."""
    schema_validator = pytest.importorskip("openapi_schema_validator", reason="openapi-schema-validator not installed")
    spec = call(f"{side.url}/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["Reply"]["properties"]["command"]["enum"] == [*registry.verbs(), "unknown"]
    described = schemas["QueryRequest"]["properties"]["text"]["description"]
    assert all(f"`{c.usage}`" in described for c in registry.CAPABILITIES)
    reply_schema = {**schemas["Reply"], "components": {"schemas": schemas}}
    for text, verb in (("help", "help"), ("alarms", "alarms"), ("status web-1", "status"), ("nonsense x", "unknown")):
        answer = side.query(text).json()
        assert answer["command"] == verb
        schema_validator.validate(answer, reply_schema, cls=schema_validator.OAS30Validator)


def test_stop_closes_the_port_and_joins_the_server_thread(side: Running) -> None:
    before = set(threading.enumerate())
    with another_sidecar(side) as stopped:
        url = stopped.url
        assert call(f"{url}/status").status == 200  # also starts the AWS probe thread
    left = [t.name for t in set(threading.enumerate()) - before if t.name.startswith("sidecar")]
    assert left == []
    parts = urlsplit(url)
    with pytest.raises(OSError), socket.create_connection((parts.hostname, parts.port), timeout=2):
        pass
