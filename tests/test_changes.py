"""What changed before an alarm: CloudTrail write events from the trail peer (the real JSON 1.1 wire, reached
through AWS_ENDPOINT_URL_CLOUDTRAIL), the alarm in moto. A deployment 4 minutes before the breach is named
first with its author; a change 3 hours earlier and one after the breach are not. The same through
`changes`, the evidence-only answer and the model's `recent_changes` tool; CloudTrail refusing becomes one
line while the rest of the answer stands.

Region eu-west-1 and a service no other test uses keep this module's alarm and events out of the session's
seeded incident (moto's state is per process and per region).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from bot.aws import cloudwatch
from bot.aws.records import Alarm
from bot.config import Settings
from bot.metrics import Metrics
from bot.models import Reply, Request, Source
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.trail_peer import TrailEvent, TrailPeer
from handlers import dispatch
from handlers.incident import evidence_pack
from handlers.services import Services
from tests.peers.forward import ForwardingHandler
from tests.peers.llm_server import FakeLLMServer, Scripted, ToolCall

REGION = "eu-west-1"
ALARM = "payments-5xx-high"
SERVICE = "payments-prod"


@pytest.fixture(scope="module")
def trail(aws: tuple[MotoSandbox, SeededIncident]) -> Iterator[tuple[TrailPeer, Alarm]]:
    cw = boto3.client("cloudwatch", endpoint_url=aws[0].endpoint_url, region_name=REGION)
    cw.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/ECS", MetricName="HTTPCode_Target_5XX_Count",
                        Dimensions=[{"Name": "ClusterName", "Value": "pay"}, {"Name": "ServiceName", "Value": SERVICE}],
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10.0,
                        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="Threshold Crossed: 42 > 10")
    with TrailPeer().start() as peer, pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", peer.endpoint_url)
        services = _services()
        try:
            alarm = next(a for a in cloudwatch.describe_alarms(services.aws, "ALARM") if a.name == ALARM)
        finally:
            services.close()
        breach = alarm.updated
        assert breach is not None

        def deploy(who: str, when: datetime, task: str) -> TrailEvent:
            return TrailEvent("UpdateService", "ecs.amazonaws.com", who, when, region=REGION,
                              request={"cluster": "pay", "service": SERVICE, "taskDefinition": task})

        peer.record(deploy("alice@example.com", breach - timedelta(minutes=4), "payments:42"),
                    deploy("bob@example.com", breach - timedelta(hours=3), "payments:41"),
                    deploy("carol@example.com", breach + timedelta(minutes=2), "payments:43"),
                    TrailEvent("UpdateService", "ecs.amazonaws.com", "gina@example.com", breach - timedelta(minutes=2),
                               region=REGION, request={"cluster": "pay", "service": "payments-worker"}),
                    TrailEvent("DescribeServices", "ecs.amazonaws.com", "dave@example.com",
                               breach - timedelta(minutes=2), read_only=True, region=REGION,
                               request={"cluster": "pay", "services": [SERVICE]}),
                    TrailEvent("PutBucketPolicy", "s3.amazonaws.com", "erin@example.com",
                               breach - timedelta(minutes=1), region=REGION, request={"bucketName": "logs"},
                               resources=(("AWS::S3::Bucket", "logs"),)))
        yield peer, alarm
    cw.delete_alarms(AlarmNames=[ALARM])


def _services(**values: Any) -> Services:
    return Services.build(Settings.from_values(aws_region=REGION, aws_max_attempts=2, **values), Metrics())


def _ask(text: str, services: Services) -> Reply:
    reply, _, outcome = dispatch.handle(Request(text=text, source=Source.COMMAND, user="U-CH", channel="C-CH"),
                                        services)
    assert outcome == "ok", reply.plain_text()[:400]
    return reply


def test_the_evidence_pack_names_the_deployment_before_the_breach_first_with_its_author(
        trail: tuple[TrailPeer, Alarm]) -> None:
    _, alarm = trail
    services = _services()
    try:
        reply = evidence_pack(alarm, services, Request(text="", source=Source.ACTION, user="cloudops", channel="C"))
    finally:
        services.close()
    section = next(s for s in reply.sections if s.title.startswith("Changes in the"))
    assert section.text.splitlines()[0].startswith(f"{alarm.updated - timedelta(minutes=4):%Y-%m-%d %H:%M} UTC")
    assert f"(4m before the breach) ecs UpdateService on {SERVICE} by alice@example.com" in section.text
    assert "cloudtrailv2/home?region=eu-west-1#/events/" in section.text  # the console link
    # out of window, after it, read-only, unrelated, another service of the same cluster
    for absent in ("bob@", "carol@", "dave@", "erin@", "gina@"):
        assert absent not in reply.plain_text()
    text = reply.plain_text()
    assert text.index("Changes in the") < text.index("Other alarms firing")  # next to the metric, before the rest
    first_cause = reply.sections[0].text.split("\n2.")[0]  # the heuristics lead with it too
    assert first_cause.startswith("1. A change 4 min before") and "alice@example.com" in first_cause


def test_the_evidence_only_answer_leads_with_that_change(trail: tuple[TrailPeer, Alarm]) -> None:
    services = _services()
    try:
        reply = _ask("ask why are payments failing?", services)
    finally:
        services.close()
    assert not reply.model_used
    assert reply.summary.startswith("Evidence only (no model): the bot's heuristics point first to: ")
    lead = f"A change 4 min before {ALARM} breached: ecs UpdateService on {SERVICE} by alice@example.com"
    assert lead in reply.summary
    assert reply.summary.index("alice@example.com") < reply.summary.index("alarm(s) firing")
    first_cause = reply.sections[0].text.split("\n2.")[0]
    assert "alice@example.com" in first_cause and first_cause.startswith("1. A change 4 min before")
    changes = next(s for s in reply.sections if s.title.startswith("Changes before the firing alarms' breaches"))
    assert changes.title.startswith("Changes before the firing alarms' breaches (1)")
    assert changes.text.splitlines()[0].startswith(f"{ALARM}: ") and "(4m before the breach)" in changes.text
    assert "cloudtrailv2/home?region=eu-west-1#/events/" in changes.text  # the console link
    assert not any(w in reply.plain_text() for w in ("bob@", "carol@", "dave@", "erin@", "gina@"))


def test_changes_lists_write_events_newest_first_grouped_per_resource(trail: tuple[TrailPeer, Alarm]) -> None:
    services = _services()
    try:
        reply = _ask("changes 6h", services)
        one = _ask(f"changes service {SERVICE} 1h", services)
    finally:
        services.close()
    text = reply.sections[0].text
    assert "dave@" not in text  # read-only events are left out
    lines = text.splitlines()
    heads = [line for line in lines if not line.startswith(" ")]
    assert heads == ["logs (1)", "payments-worker (1)", f"{SERVICE} (2)"]  # by their newest change
    assert "PutBucketPolicy by erin@example.com" in lines[1]
    mine = lines[lines.index(f"{SERVICE} (2)") + 1:]
    assert "alice@" in mine[0] and "bob@" in mine[1]  # newest first within the resource
    assert "alice@" in one.plain_text() and "bob@" not in one.plain_text() and "erin@" not in one.plain_text()


def test_cloudtrail_throttled_or_denied_is_one_line_and_the_rest_stands(trail: tuple[TrailPeer, Alarm]) -> None:
    peer, alarm = trail
    services = _services(aws_retry_mode="standard")
    try:
        peer.fail_next("AccessDeniedException", times=1, message="User is not authorized to perform LookupEvents")
        denied = evidence_pack(alarm, services, Request(text="", source=Source.ACTION, user="c", channel="C"))
        peer.fail_next("ThrottlingException", times=10)
        throttled = _ask("changes 1h", services)
    finally:
        peer.clear_faults()  # leave no queued fault behind for the next test
        services.close()
    note = [n for n in denied.notes if "CloudTrail" in n]
    assert note == ["CloudTrail not read: the bot's AWS identity may not call cloudtrail:LookupEvents "
                    "(AccessDeniedException)."]
    assert any(s.title.endswith("HTTPCode_Target_5XX_Count around the breach") for s in denied.sections)
    assert any("CloudTrail not read: AWS is throttling it" in n for n in throttled.notes)


def test_ask_calls_recent_changes_and_the_tool_result_holds_the_deployment(trail: tuple[TrailPeer, Alarm]) -> None:
    with FakeLLMServer(api_key="sk-test", model="gpt-test") as llm:
        llm.script(Scripted(tool_calls=(ToolCall("recent_changes", {"resource": SERVICE, "window": "1h"}),)),
                   Scripted(content="payments-prod was redeployed by alice 4 minutes before the 5xx began."))
        services = _services(openai_api_key="sk-test", openai_base_url=llm.base_url, llm_model="gpt-test",
                             llm_max_retries=0)
        try:
            reply = _ask("ask what changed on payments-prod before the 5xx alarm?", services)
        finally:
            services.close()
        tools = [m for m in llm.received()[1]["messages"] if m["role"] == "tool"]
    assert reply.model_used and "alice" in reply.summary
    assert len(tools) == 1
    result = str(tools[0]["content"])
    assert "ecs UpdateService by alice@example.com" in result
    assert not any(w in result for w in ("bob@", "carol@", "dave@", "gina@"))
    assert any("recent_changes" in line for line in reply.sections[0].text.splitlines())
    assert json.dumps(llm.received()[0]["tools"]).count('"recent_changes"') == 1


def test_an_alarms_service_tag_relates_it_to_the_changes_of_that_service(
        aws: tuple[MotoSandbox, SeededIncident], trail: tuple[TrailPeer, Alarm]) -> None:
    """No service in the alarm's dimensions: the team tagged the alarm service=ledger-prod instead."""
    peer, _ = trail
    cw = boto3.client("cloudwatch", endpoint_url=aws[0].endpoint_url, region_name=REGION)
    cw.put_metric_alarm(AlarmName="ledger-latency-high", Namespace="Ledger", MetricName="LatencyP99",
                        Dimensions=[{"Name": "Stage", "Value": "prod"}], Statistic="Maximum", Period=60,
                        EvaluationPeriods=1, Threshold=2.0, ComparisonOperator="GreaterThanThreshold",
                        Tags=[{"Key": "service", "Value": "ledger-prod"}, {"Key": "team", "Value": "payments"}])
    cw.set_alarm_state(AlarmName="ledger-latency-high", StateValue="ALARM", StateReason="Threshold Crossed: 3.1 > 2")
    services = _services()
    try:
        alarm = next(a for a in cloudwatch.describe_alarms(services.aws, "ALARM") if a.name == "ledger-latency-high")
        assert alarm.updated is not None
        peer.record(TrailEvent("UpdateService", "ecs.amazonaws.com", "frank@example.com",
                               alarm.updated - timedelta(minutes=10), region=REGION,
                               request={"cluster": "ledger", "service": "ledger-prod"}))
        reply = evidence_pack(alarm, services, Request(text="", source=Source.ACTION, user="c", channel="C"))
    finally:
        services.close()
        cw.delete_alarms(AlarmNames=["ledger-latency-high"])
    section = next(s for s in reply.sections if s.title.startswith("Changes in the"))
    assert section.text.splitlines() == [line for line in section.text.splitlines() if "ledger-prod" in line]
    assert "(10m before the breach) ecs UpdateService on ledger-prod by frank@example.com" in section.text
    assert "alice@" not in reply.plain_text()  # payments-prod's deployment is not this alarm's


def test_an_html_error_page_from_one_source_is_a_note_and_the_rest_stands(
        trail: tuple[TrailPeer, Alarm], aws: tuple[MotoSandbox, SeededIncident],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy or a failing endpoint may answer with an HTML page instead of an AWS response: that source is
    not read, the answer still comes, and the deployment found in CloudTrail is still named."""

    class HtmlPage(ForwardingHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            self.send(500, {"Content-Type": "text/html"}, b"<!doctype html><title>500 Internal Server Error</title>")

    server = ThreadingHTTPServer(("127.0.0.1", 0), HtmlPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", f"http://127.0.0.1:{server.server_address[1]}")
    services = _services(aws_retry_mode="standard")
    try:
        reply = _ask("changes 1h", services)
    finally:
        services.close()
        server.shutdown()
    assert any("cloudformation" in n.lower() and "not an AWS response" in n for n in reply.notes), reply.notes
    assert "alice@example.com" in reply.plain_text()
