"""The causal half of the sandbox's incident: what changed before it, and the services behind the instances.

``seed_incident`` plants the symptoms (5xx burst from 20 minutes ago, CPU, DB connection timeouts); this
plants their cause and context, on the same clock:

* 24 minutes ago maria.k@example.com deployed api-prod task definition api-prod:42 (CloudTrail
  ``UpdateService``), four minutes before the first 502. Its tasks are killed for memory (exit code 137),
  the rollout is stuck IN_PROGRESS at 2 of 4 running, and the api-prod target group fails health checks.
* Unrelated changes a user should see in ``/cloudops changes`` but not next to the alarm: a bucket policy
  edit on another resource 40 minutes ago, a Lambda configuration change 2 h 40 min ago and an RDS
  parameter change 3 hours ago; read-only events are recorded too and must be left out.
* checkout (Lambda) times out since the incident began; orders-db (RDS) runs at its connection limit.

CloudTrail, the ECS service and the target health go to the peer (``cloudops_demo.trail_peer``; moto lacks
LookupEvents, exit codes and failed health checks); Lambda and RDS, with their metrics, go to moto.
"""

from __future__ import annotations

import io
import random
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudops_demo.trail_peer import TrailEvent, TrailPeer
from cloudops_demo.workload_peer import SeededService

DEPLOYER = "maria.k@example.com"
DEPLOY_MIN_AGO = 24  # the 502 burst starts 20 minutes ago
SERVICE, CLUSTER, FUNCTION, DB = "api-prod", "prod", "checkout", "orders-db"
TARGET_GROUP = "arn:aws:elasticloadbalancing:{region}:123456789012:targetgroup/api-prod-tg/6d0ecf831eec9f09"
_INCIDENT_MIN = 20
# boto3's service-specific endpoint variables that send these services to the peer instead of moto
PEER_VARIABLES = ("AWS_ENDPOINT_URL_CLOUDTRAIL", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2")
_OOM = "OutOfMemoryError: Container killed due to memory usage"


def seed_story(endpoint_url: str, peer: TrailPeer, *, region: str = "us-east-1",
               now: datetime | None = None) -> None:
    """Plant the changes and services; moto parts are skipped when already there (a re-seed)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    _seed_trail(peer, region, now)
    _seed_workloads(peer, region, now)
    session = boto3.session.Session(aws_access_key_id="testing", region_name=region,
                                    aws_secret_access_key="testing")  # noqa: S106  # nosec B106
    config = Config(proxies={}, retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]

    _seed_lambda(client("iam"), client("lambda"))
    _seed_db(client("rds"))
    _seed_metrics(client("cloudwatch"), now)


def _seed_trail(peer: TrailPeer, region: str, now: datetime) -> None:
    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    service = (("AWS::ECS::Service", SERVICE),)
    peer.record(
        TrailEvent("UpdateService", "ecs.amazonaws.com", DEPLOYER, ago(DEPLOY_MIN_AGO), region=region,
                   request={"cluster": CLUSTER, "service": SERVICE, "taskDefinition": "api-prod:42"}),
        TrailEvent("RegisterTaskDefinition", "ecs.amazonaws.com", DEPLOYER, ago(DEPLOY_MIN_AGO + 1), region=region,
                   resources=(("AWS::ECS::TaskDefinition", "api-prod:42"),), request={"family": "api-prod"}),
        TrailEvent("DescribeServices", "ecs.amazonaws.com", "oncall-dashboard", ago(3), region=region,
                   resources=service, read_only=True, request={"cluster": CLUSTER, "services": [SERVICE]}),
        TrailEvent("PutBucketPolicy", "s3.amazonaws.com", "sam.o@example.com", ago(40), region=region,
                   resources=(("AWS::S3::Bucket", "analytics-exports"),), request={"bucketName": "analytics-exports"}),
        TrailEvent("UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com", "deploy-bot", ago(160),
                   region=region, request={"functionName": FUNCTION, "timeout": 30}),
        TrailEvent("ModifyDBInstance", "rds.amazonaws.com", "sam.o@example.com", ago(180), region=region,
                   request={"dBInstanceIdentifier": DB, "backupRetentionPeriod": 7}),
    )


def _seed_workloads(peer: TrailPeer, region: str, now: datetime) -> None:
    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    rng = random.Random(17)  # demo content  # noqa: S311  # nosec B311
    tg = TARGET_GROUP.format(region=region)
    stopped: list[dict[str, Any]] = [
        {"taskId": f"{rng.getrandbits(128):032x}", "stoppedAt": ago(m), "taskDefinition": "api-prod:42",
         "stoppedReason": "Essential container in task exited", "containers": [("api", 137, _OOM)]}
        for m in (2, 7, 11, 15, 19)]
    peer.workloads.region = region
    peer.workloads.add_service(SeededService(
        cluster=CLUSTER, name=SERVICE, desired=4, running=2, pending=2, target_group_arn=tg, stopped=stopped,
        deployments=[
            {"status": "PRIMARY", "taskDefinition": "api-prod:42", "rolloutState": "IN_PROGRESS",
             "rolloutStateReason": "ECS deployment ecs-svc/0 in progress.", "desiredCount": 4, "runningCount": 2,
             "pendingCount": 2, "failedTasks": 5, "createdAt": ago(DEPLOY_MIN_AGO)},
            {"status": "ACTIVE", "taskDefinition": "api-prod:41", "rolloutState": "COMPLETED",
             "rolloutStateReason": "ECS deployment ecs-svc/1 completed.", "desiredCount": 0, "runningCount": 0,
             "pendingCount": 0, "failedTasks": 0, "createdAt": ago(60 * 26)},
        ],
        events=[(ago(2), f"(service {SERVICE}) has started 1 tasks: (task {stopped[0]['taskId'][:12]})."),
                (ago(3), f"(service {SERVICE}) (task {stopped[1]['taskId'][:12]}) failed ELB health checks in "
                         "(target-group api-prod-tg)"),
                (ago(9), f"(service {SERVICE}) deregistered 1 targets in (target-group api-prod-tg)"),
                (ago(DEPLOY_MIN_AGO), f"(service {SERVICE}) has begun draining connections on 1 tasks.")]))
    peer.workloads.add_service(SeededService(
        cluster=CLUSTER, name="worker-prod", desired=2, running=2, pending=0,
        deployments=[{"status": "PRIMARY", "taskDefinition": "worker-prod:17", "rolloutState": "COMPLETED",
                      "rolloutStateReason": "ECS deployment ecs-svc/0 completed.", "desiredCount": 2,
                      "runningCount": 2, "pendingCount": 0, "failedTasks": 0, "createdAt": ago(60 * 50)}]))
    peer.workloads.set_targets(tg, [
        {"id": "10.0.1.23", "port": 8080, "state": "unhealthy", "reason": "Target.FailedHealthChecks",
         "description": "Health checks failed with these codes: [502]"},
        {"id": "10.0.2.41", "port": 8080, "state": "unhealthy", "reason": "Target.Timeout",
         "description": "Request timed out"},
        {"id": "10.0.1.57", "port": 8080, "state": "healthy"},
        {"id": "10.0.2.12", "port": 8080, "state": "initial", "reason": "Elb.RegistrationInProgress",
         "description": "Target registration is in progress"},
    ])


def _seed_lambda(iam: Any, lam: Any) -> None:
    try:
        lam.get_function_configuration(FunctionName=FUNCTION)
        return
    except ClientError:
        pass
    role = iam.create_role(RoleName="checkout-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("handler.py", "def handle(event, context):\n    return {'statusCode': 200}\n")
    lam.create_function(FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="handler.handle",
                        Code={"ZipFile": code.getvalue()}, Timeout=30, MemorySize=512)


def _seed_db(rds: Any) -> None:
    try:
        rds.describe_db_instances(DBInstanceIdentifier=DB)
        return
    except ClientError:
        pass
    rds.create_db_instance(DBInstanceIdentifier=DB, DBInstanceClass="db.r6g.large", Engine="postgres",
                           MasterUsername="orders", MasterUserPassword="not-a-real-password-1",
                           AllocatedStorage=100)


def _seed_metrics(cw: Any, now: datetime) -> None:
    """An hour of 1-minute points: checkout times out and orders-db sits at its connection limit since the
    incident began."""
    rng = random.Random(1717)  # demo content  # noqa: S311  # nosec B311
    end = now.replace(second=0, microsecond=0)
    lam: list[dict[str, Any]] = []
    db: list[dict[str, Any]] = []
    for age in range(59, -1, -1):
        ts, hot = end - timedelta(minutes=age), age < _INCIDENT_MIN
        fn = [{"Name": "FunctionName", "Value": FUNCTION}]
        calls = rng.randint(12, 20)
        errors = rng.randint(4, 9) if hot else 0
        lam += [{"MetricName": "Invocations", "Dimensions": fn, "Timestamp": ts, "Value": calls, "Unit": "Count"},
                {"MetricName": "Errors", "Dimensions": fn, "Timestamp": ts, "Value": errors, "Unit": "Count"},
                {"MetricName": "Throttles", "Dimensions": fn, "Timestamp": ts, "Value": 0, "Unit": "Count"},
                {"MetricName": "Duration", "Dimensions": fn, "Timestamp": ts, "Unit": "Milliseconds",
                 "Value": 30000.0 if hot else rng.uniform(80, 400)}]
        dbi = [{"Name": "DBInstanceIdentifier", "Value": DB}]
        db += [{"MetricName": "CPUUtilization", "Dimensions": dbi, "Timestamp": ts, "Unit": "Percent",
                "Value": rng.uniform(85, 97) if hot else rng.uniform(25, 40)},
               {"MetricName": "DatabaseConnections", "Dimensions": dbi, "Timestamp": ts, "Unit": "Count",
                "Value": 100 if hot else rng.randint(30, 45)},
               {"MetricName": "FreeStorageSpace", "Dimensions": dbi, "Timestamp": ts, "Unit": "Bytes",
                "Value": 61e9 - age * 1e6}]
    for namespace, data in (("AWS/Lambda", lam), ("AWS/RDS", db)):
        for i in range(0, len(data), 1000):
            cw.put_metric_data(Namespace=namespace, MetricData=data[i: i + 1000])
