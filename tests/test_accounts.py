"""Many accounts and regions: STS AssumeRole into a second moto account, fan-out, labelled facts.

moto keeps one state per account: credentials from AssumeRole into 222222222222 see that account's
instances and alarms, not the seeded default account's, exactly as two real accounts would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from bot.config import Settings
from bot.metrics import Metrics
from bot.models import Reply, Request, Source
from cloudops_demo.aws import MotoSandbox
from cloudops_demo.slack import SlackEmulator
from handlers import dispatch
from handlers.services import Services
from tests.harness import running_bot, text_of

PROD = "222222222222"
MOTO_AMI = "ami-12c6146b"  # one of moto's built-in fake AMIs, in every region
ROLE = f"arn:aws:iam::{PROD}:role/cloudops-bot-readonly"
ACCOUNTS = {
    "home": {"regions": ["us-east-1"]},
    "prod": {"role_arn": ROLE, "external_id": "cloudops-7f3a", "regions": ["us-east-1", "eu-west-1"]},
}


def _prod_client(service: str, region: str) -> Any:
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=ROLE, RoleSessionName="seed", ExternalId="cloudops-7f3a")["Credentials"]
    return boto3.client(service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


@pytest.fixture(scope="module")
def prod_account(aws: tuple[MotoSandbox, Any]) -> dict[str, str]:
    """Seed the second account: one instance per region and an alarm firing in eu-west-1."""
    ids: dict[str, str] = {}
    for region, name in (("us-east-1", "pay-use1"), ("eu-west-1", "pay-euw1")):
        ec2 = _prod_client("ec2", region)
        found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
        if found:
            ids[name] = found[0]["Instances"][0]["InstanceId"]
            continue
        ami = ec2.describe_images(ImageIds=[MOTO_AMI])["Images"][0]["ImageId"]  # unfiltered: 1,300 images, seconds
        made = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.small", TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
        ids[name] = made["Instances"][0]["InstanceId"]
    cw = _prod_client("cloudwatch", "eu-west-1")
    cw.put_metric_alarm(AlarmName="pay-euw1-5xx", MetricName="HTTPCode_Target_5XX_Count",
                        Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10,
                        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName="pay-euw1-5xx", StateValue="ALARM", StateReason="Threshold Crossed: 42 > 10")
    return ids


@pytest.fixture
def services(prod_account: dict[str, str]) -> Iterator[Services]:
    svc = Services.build(Settings.from_values(accounts=ACCOUNTS, default_account="home",
                                              channel_scopes={"CEU": "prod/eu-west-1"}), Metrics())
    yield svc
    svc.close()


def _ask(services: Services, text: str, channel: str = "C1") -> Reply:
    reply, _, _ = dispatch.handle(Request(text=text, source=Source.COMMAND, channel=channel), services)
    return reply


def test_fleet_status_lists_every_account_and_region_labelled(services: Services,
                                                               prod_account: dict[str, str]) -> None:
    text = _ask(services, "status").plain_text()
    assert "3 account/regions" in text
    lines = text.splitlines()
    assert any(line.startswith("[prod/eu-west-1] ") and "pay-euw1" in line for line in lines), text
    assert any(line.startswith("[prod/us-east-1] ") and "pay-use1" in line for line in lines), text
    assert any(line.startswith("[home/us-east-1] ") for line in lines), text
    # the seeded default account's instances are not in prod, and prod's are not in home
    assert not any(line.startswith("[home/") and "pay-" in line for line in lines)


def test_account_and_region_options_narrow_the_scope(services: Services) -> None:
    text = _ask(services, "status --account prod --region eu-west-1").plain_text()
    assert "pay-euw1" in text and "pay-use1" not in text and "[home/" not in text
    assert "EC2 fleet status — prod/eu-west-1" in text


def test_an_instance_is_found_in_whichever_account_has_it(services: Services, prod_account: dict[str, str]) -> None:
    reply = _ask(services, "status pay-euw1")
    facts = {f.label: f.value for s in reply.sections for f in s.facts}
    assert facts["Account / region"] == "prod/eu-west-1"
    assert prod_account["pay-euw1"] in facts["Instance"]
    metrics = _ask(services, f"metrics {prod_account['pay-use1']} cpu 1h")
    assert metrics.ok and "prod/us-east-1" in metrics.title


def test_alarms_fan_out_and_the_channel_default_applies(services: Services) -> None:
    everywhere = _ask(services, "alarms").plain_text()
    assert "[prod/eu-west-1] pay-euw1-5xx [ALARM]" in everywhere
    in_eu_channel = _ask(services, "alarms", channel="CEU").plain_text()
    assert "pay-euw1-5xx" in in_eu_channel and "[home/" not in in_eu_channel
    assert "prod/eu-west-1" in in_eu_channel.splitlines()[0]


def test_role_is_assumed_once_and_reused(services: Services) -> None:
    for _ in range(3):
        assert _ask(services, "status --account prod").ok
    assumed = services.metrics.aws_calls.labels("sts", "AssumeRole", "ok")._value.get()
    assert assumed == 1


def test_unknown_account_or_region_is_a_one_line_error_with_the_choices(services: Services) -> None:
    reply = _ask(services, "status --account staging")
    assert not reply.ok and "no account named 'staging'" in reply.summary
    assert "home, prod" in reply.hint
    reply = _ask(services, "alarms --account home --region eu-west-1")
    assert not reply.ok and "eu-west-1" in reply.summary and "us-east-1" in reply.hint


def test_an_unreadable_account_is_noted_while_the_others_answer(prod_account: dict[str, str]) -> None:
    accounts = {**ACCOUNTS, "legacy": {"profile": "not-configured-anywhere"}}
    svc = Services.build(Settings.from_values(accounts=accounts, default_account="home"), Metrics())
    try:
        reply = _ask(svc, "status")
    finally:
        svc.close()
    assert reply.ok
    assert any("legacy/" in n and "not defined" in n for n in reply.notes), reply.notes
    assert "pay-euw1" in reply.plain_text()


def test_bad_account_config_fails_at_start_up_with_every_problem() -> None:
    with pytest.raises(Exception) as err:
        Settings.from_values(accounts={"prod": {"role_arn": "arn:aws:iam::1:user/x", "regions": ["mars-1"]}},
                             default_account="nope")
    text = str(err.value)
    assert "not an IAM role ARN" in text and "'mars-1' is not a region" in text and "nope" in text


def test_slack_answer_lists_both_accounts_labelled(slack: SlackEmulator, prod_account: dict[str, str]) -> None:
    with running_bot(slack, None, accounts=ACCOUNTS, default_account="home") as bot:
        _, replies = bot.command("status --account all", channel="C1")
    text = text_of(replies[-1])
    assert "[prod/eu-west-1]" in text and "[home/us-east-1]" in text and "pay-euw1" in text


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def test_help_lists_the_accounts_and_the_channel_default(services: Services) -> None:
    text = _ask(services, "help", channel="CEU").plain_text()
    assert "home (default): us-east-1" in text and "prod: us-east-1, eu-west-1" in text
    assert "This channel defaults to prod/eu-west-1" in text


class _DenyingSts(BaseHTTPRequestHandler):
    """An STS endpoint that refuses every AssumeRole, as a trust policy without our role would."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                b"<Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message>"
                b"</Error><RequestId>deny</RequestId></ErrorResponse>")
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


def test_a_refused_assume_role_names_the_account_and_the_trust_policy(
        prod_account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DenyingSts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{server.server_address[1]}")
    svc = Services.build(Settings.from_values(accounts=ACCOUNTS, default_account="home", aws_max_attempts=1),
                         Metrics())
    try:
        fleet = _ask(svc, "status")
        only_prod = _ask(svc, "status --account prod")
    finally:
        svc.close()
        server.shutdown()
    assert fleet.ok and "[home/us-east-1]" in fleet.plain_text() and "pay-euw1" not in fleet.plain_text()
    assert any(n.startswith("prod/eu-west-1: not read — cannot assume") and "trust policy" in n
               for n in fleet.notes), fleet.notes
    assert not only_prod.ok and ROLE in only_prod.summary and "AccessDenied" in only_prod.summary
    assert "trust policy" in only_prod.hint


def test_alarm_threads_cover_every_account_and_name_where_the_alarm_lives(
        slack: SlackEmulator, prod_account: dict[str, str]) -> None:
    channel = "C-acct-incidents"
    with running_bot(slack, None, accounts=ACCOUNTS, default_account="home", alarm_channel=channel,
                     alarm_poll_s=3600.0) as bot:
        watcher = bot.bot.slack.incidents
        watcher.poll_once()  # the start-up poll may still be running: a second one must not double-post
        key = "prod/eu-west-1/pay-euw1-5xx"
        assert slack.wait_for(lambda: any(key in str(m.get("text")) for m in slack.channel_messages(channel)), 20)
        parents = [m for m in slack.channel_messages(channel) if "pay-euw1-5xx" in str(m.get("text"))]
        assert len(parents) == 1
        assert slack.wait_for(lambda: watcher.find(key) is not None, 20)  # recorded just after the post
        # its evidence pack read the prod account in eu-west-1 (where the alarm's metric lives)
        assert slack.wait_for(lambda: any("HTTPCode_Target_5XX_Count" in text_of(m)
                                          for m in slack.thread(channel, parents[0]["ts"])[1:]), 20)
        home = [m for m in slack.channel_messages(channel) if "home/us-east-1/" in str(m.get("text"))]
        assert home, "the bot's own account is polled too, and labelled"
        assert not any(str(m.get("text", "")).count("pay-euw1-5xx") and "home/" in str(m.get("text"))
                       for m in slack.channel_messages(channel))
