"""Fleet-wide status across accounts and regions: bounded fan-out vs one target at a time.

3 accounts (the bot's own and two assumed roles) × 2 regions = 6 targets, each with 3 instances, behind
a proxy that adds a fixed latency to every AWS call (moto answers in ~5 ms; real EC2 calls take ~100 ms).
`/cloudops status` (DescribeInstances + DescribeInstanceStatus per target, AssumeRole once per role) runs
through the real handler with CLOUDOPS_FANOUT_PARALLELISM = 1 (the baseline: targets in sequence), 3 and
6. First request per setting pays the AssumeRole calls and client creation; later ones reuse them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3

from bench.peers import FAKE_AWS, moto_process
from bot.config import Settings
from bot.logsetup import configure_logging
from bot.metrics import Metrics
from bot.models import Request, Source
from handlers import dispatch
from handlers.services import Services
from tests.peers.aws_faults import ThrottlingProxy

ACCOUNTS = {
    "home": {"regions": ["us-east-1", "eu-west-1"]},
    "prod": {"role_arn": "arn:aws:iam::222222222222:role/ro", "external_id": "bench-1",
             "regions": ["us-east-1", "eu-west-1"]},
    "stage": {"role_arn": "arn:aws:iam::333333333333:role/ro", "external_id": "bench-1",
              "regions": ["us-east-1", "eu-west-1"]},
}


def seed(moto: str) -> None:
    for name, spec in ACCOUNTS.items():
        creds: dict[str, str] = {}
        if "role_arn" in spec:
            c = boto3.client("sts", endpoint_url=moto).assume_role(
                RoleArn=spec["role_arn"], RoleSessionName="seed")["Credentials"]
            creds = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                     "aws_session_token": c["SessionToken"]}
        for region in spec["regions"]:
            ec2 = boto3.client("ec2", endpoint_url=moto, region_name=region, **creds)
            ami = ec2.describe_images()["Images"][0]["ImageId"]
            ec2.run_instances(ImageId=ami, MinCount=3, MaxCount=3, TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"{name}-{region}"}]}])


def run(parallelism: int, repeats: int) -> tuple[float, list[float], int]:
    services = Services.build(Settings.from_values(accounts=ACCOUNTS, default_account="home",
                                                   fanout_parallelism=parallelism), Metrics())
    times = []
    try:
        for _ in range(repeats + 1):
            start = time.perf_counter()
            reply, _, _ = dispatch.handle(Request(text="status", source=Source.CLI), services)
            times.append(time.perf_counter() - start)
            assert reply.ok and "6 account/regions" in reply.title, reply.plain_text()
        lines = sum(1 for line in reply.plain_text().splitlines() if line.startswith("["))
    finally:
        services.close()
    return times[0], times[1:], lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--aws-delay", type=float, default=0.1, help="latency added to every AWS call (s)")
    ap.add_argument("--repeats", type=int, default=5)
    ns = ap.parse_args()
    configure_logging("ERROR", "console")
    os.environ.update(FAKE_AWS)
    with moto_process() as moto:
        seed(moto)
        proxy = ThrottlingProxy(moto, 0.0, delay_s=ns.aws_delay).start()
        os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint_url
        try:
            print(f"status over 6 account/regions, {ns.aws_delay * 1000:.0f} ms added per AWS call, "
                  f"{ns.repeats} warm runs each")
            base = None
            for parallelism in (1, 3, 6):
                first, warm, lines = run(parallelism, ns.repeats)
                p50 = statistics.median(warm)
                base = base or p50
                print(f"  fan-out {parallelism}: first {first:.3f} s, warm p50 {p50:.3f} s, max {max(warm):.3f} s, "
                      f"{lines} labelled lines, {base / p50:.1f}x vs fan-out 1")
        finally:
            proxy.stop()


if __name__ == "__main__":
    main()
