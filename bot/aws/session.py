"""One boto3 Session and its clients, with botocore's own retries and timeouts, plus call accounting.

Each extra boto3 Session costs ~40 MB, so the bot builds exactly one and creates each client once
(clients are thread-safe; sessions are not, so clients are made under a lock). Every call goes
through ``call()``, which records the operation for the audit event, times it for metrics, and turns
botocore errors into the typed errors users see.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from botocore.parsers import ResponseParserError

from bot import calllog
from bot.aws import loggroups
from bot.config import Settings
from bot.errors import AwsAccessDenied, AwsThrottled, CloudOpsError, DryRunPassed, NotFoundError, UpstreamError
from bot.metrics import Metrics
from bot.wire import valid_tree

_THROTTLE = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
             "RequestThrottled", "ThrottledException", "SlowDown"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
           "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "AuthFailure"}
_NOT_FOUND = {"ResourceNotFoundException", "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed",
              "DBInstanceNotFound", "DBInstanceNotFoundFault", "ClusterNotFoundException", "TargetGroupNotFound"}

_loader_lock = threading.Lock()
_shared_loader: Any = None


def new_session(botocore_session: botocore.session.Session | None = None, **kwargs: Any) -> boto3.session.Session:
    """A boto3 Session whose service models come from one loader per process.

    Each Session otherwise parses the models again (ec2's alone ~0.3 s of CPU and several MB), once per
    account target, assumed role and ``Services``; the parsed models are read-only, so sharing is safe.
    """
    core = botocore_session or botocore.session.Session()
    global _shared_loader
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _shared_loader)
        session = boto3.session.Session(botocore_session=core, **kwargs)
        paths = _shared_loader.search_paths  # boto3 appends its data folder for every Session: keep one
        paths[:] = list(dict.fromkeys(paths))
    if kwargs.get("profile_name"):
        core.get_scoped_config()  # ProfileNotFound now, as building a fresh loader would have raised it
    return session


class AwsClients:
    """Owns the session; hands out cached clients and wraps every call."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None, *,
                 session: boto3.session.Session | None = None, region: str = "", account: str = "",
                 warm: bool = True) -> None:
        self._settings = settings
        self._metrics = metrics
        self._session = session or new_session(region_name=settings.aws_region or None)
        self.region = region or self._session.region_name or "us-east-1"
        self.account = account or "default"
        self._config = client_config(settings, self.region)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        for service in ("ec2", "logs", "cloudwatch", "sts") if warm else ():
            # Created up front (~40 ms each): the first request doesn't pay for it, and the endpoint
            # configuration (AWS_ENDPOINT_URL, profile) is read once, at start-up, like the rest of config.
            self.client(service)

    @property
    def session(self) -> boto3.session.Session:
        return self._session

    @property
    def label(self) -> str:
        """``account/region``: how answers name where a fact came from."""
        return f"{self.account}/{self.region}"

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(service, config=self._config)  # type: ignore[call-overload]
            return self._clients[service]

    def call(self, service: str, operation: str, /, **kwargs: Any) -> dict[str, Any]:
        """Call ``operation`` (CamelCase API name) on ``service`` with accounting and typed errors.

        Positional-only, because some APIs have parameters named ``service`` (ECS UpdateService)."""
        if service == "logs":
            loggroups.check_call(self._settings, kwargs)
        client = self.client(service)
        method: Callable[..., dict[str, Any]] = getattr(client, _snake(operation))
        start = time.perf_counter()
        outcome = "ok"
        try:
            resp: dict[str, Any] = valid_tree(method(**kwargs))  # a log line may hold half a surrogate pair
            return loggroups.filter_listing(self._settings, resp) if service == "logs" else resp
        except CloudOpsError:  # raised by our own hooks, e.g. a refused AssumeRole while signing
            outcome = "error"
            raise
        except ClientError as exc:
            outcome, err = classify(service, operation, exc)
            raise err from exc
        except EndpointConnectionError as exc:
            outcome = "error"
            raise UpstreamError("aws", f"cannot reach the AWS {service} endpoint",
                                "check network access / AWS_ENDPOINT_URL and try again") from exc
        except ResponseParserError as exc:  # an HTML error page from a proxy or a failing endpoint
            outcome = "error"
            raise UpstreamError("aws", f"AWS {service} {operation} answered with something that is not an AWS "
                                "response",
                                "try again; if it persists, check the endpoint or proxy in between") from exc
        except BotoCoreError as exc:
            outcome = "error"
            raise UpstreamError("aws", f"AWS {service} {operation} failed: {type(exc).__name__}",
                                "check AWS credentials and region (cloudops-bot check-config)") from exc
        finally:
            record_call(self._metrics, service, operation, outcome, time.perf_counter() - start,
                        dry_run=kwargs.get("DryRun") is True)


def record_call(metrics: Metrics | None, service: str, operation: str, outcome: str, took: float, *,
                dry_run: bool = False) -> None:
    """Every AWS call, whoever made it, lands in the request's call log (audit) and in the metrics.
    A ``DryRun`` is logged as such, so an audit line never shows a write that was only tried."""
    log = calllog.current()
    if log is not None:
        log.aws(f"{service}:{operation}" + (" (DryRun)" if dry_run else ""), took)
    if metrics is not None:
        metrics.aws_calls.labels(service, operation, outcome).inc()
        metrics.aws_seconds.labels(service, operation).observe(took)


def client_config(settings: Settings, region: str) -> Config:
    """botocore's own timeouts, retries (adaptive by default) and pool size, from config."""
    return Config(
        region_name=region,
        connect_timeout=settings.aws_connect_timeout_s,
        read_timeout=settings.aws_read_timeout_s,
        retries={"mode": settings.aws_retry_mode, "max_attempts": settings.aws_max_attempts},  # type: ignore[arg-type,typeddict-item]
        max_pool_connections=max(10, settings.aws_parallelism * 2),
    )


def _snake(operation: str) -> str:
    """botocore's own name mapping: ``DescribeDBInstances`` → ``describe_db_instances``."""
    return xform_name(operation)


def classify(service: str, operation: str, exc: ClientError) -> tuple[str, Exception]:
    code = exc.response.get("Error", {}).get("Code", "")
    msg = exc.response.get("Error", {}).get("Message", "")
    action = f"{service}:{operation}"
    if code == "DryRunOperation":  # EC2's "this would have succeeded" for DryRun=True
        return "ok", DryRunPassed(f"{action} would succeed")
    if code in _THROTTLE:
        return "throttled", AwsThrottled(
            "aws", f"AWS is throttling {action} even after retries",
            "wait a minute and try again, or narrow the request (shorter window, one instance)")
    if code in _DENIED:
        return "denied", AwsAccessDenied(
            "aws", f"the bot's AWS identity may not call {action} ({code})",
            "add the action to the bot's IAM policy (deploy/iam-policy.json)")
    if code in _NOT_FOUND:
        return "not_found", NotFoundError(msg or f"{action}: not found", "check the name and the region")
    return "error", UpstreamError("aws", f"AWS {action} failed: {code} {msg}".strip(),
                                  "try again; if it persists check the AWS Health Dashboard")
