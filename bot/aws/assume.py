"""A boto3 Session for another account: STS AssumeRole from the bot's own credentials, refreshed by botocore.

botocore already knows how to cache assumed-role credentials and refresh them before they expire
(``AssumeRoleCredentialFetcher`` + ``DeferredRefreshableCredentials``, the machinery behind
``role_arn`` profiles). We only plug it in as a credential provider of a fresh botocore session, so
the role ARN and external id come from our validated config instead of an AWS config file. The STS
call itself is counted in the same metrics and per-request call log as every other AWS call, and a
refused AssumeRole becomes a typed error that names the account and the trust policy to check.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    Credentials,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.session import classify, new_session, record_call
from bot.config_accounts import AccountSpec
from bot.errors import AwsAccessDenied, UpstreamError
from bot.metrics import Metrics


class _AssumeRoleProvider(CredentialProvider):  # type: ignore[misc]
    METHOD = "cloudops-assume-role"
    CANONICAL_NAME = "custom-cloudops-assume-role"

    def __init__(self, fetch: Any) -> None:
        super().__init__()
        self._fetch = fetch

    def load(self) -> Credentials:
        return DeferredRefreshableCredentials(refresh_using=self._fetch, method=self.METHOD)


def assumed_session(home: boto3.session.Session, account: AccountSpec, *, session_name: str, duration_s: int,
                    sts_config: Config, metrics: Metrics | None) -> boto3.session.Session:
    """A Session whose credentials are ``account.role_arn`` assumed from ``home``'s credentials."""
    extra: dict[str, Any] = {"RoleSessionName": session_name, "DurationSeconds": duration_s}
    if account.external_id:
        extra["ExternalId"] = account.external_id

    def sts_client(service: str, **credentials: Any) -> Any:
        return home.client(service, config=sts_config, **credentials)  # type: ignore[call-overload]

    source = home.get_credentials()
    if source is None:
        raise UpstreamError("aws", "the bot has no AWS credentials to assume roles with",
                            "give the bot credentials (instance/task role, env or profile); see check-config")
    fetcher = AssumeRoleCredentialFetcher(client_creator=sts_client, source_credentials=source,
                                          role_arn=account.role_arn, extra_args=extra)

    def fetch() -> dict[str, Any]:
        start = time.perf_counter()
        outcome = "ok"
        try:
            return fetcher.fetch_credentials()  # type: ignore[no-any-return]
        except ClientError as exc:
            outcome, err = classify("sts", "AssumeRole", exc)
            if isinstance(err, AwsAccessDenied):  # say which role and what to check, not just the action
                code = exc.response.get("Error", {}).get("Code", "")
                err = AwsAccessDenied(
                    "aws", f"cannot assume {account.role_arn} for account {account.name!r} ({code})",
                    "check that role's trust policy and external id (deploy/iam-cross-account.md)")
            raise err from exc
        except BotoCoreError as exc:
            outcome = "error"
            raise UpstreamError("aws", f"STS AssumeRole for account {account.name!r} failed: {type(exc).__name__}",
                                "check network access to STS and try again") from exc
        finally:
            record_call(metrics, "sts", "AssumeRole", outcome, time.perf_counter() - start)

    core = botocore.session.Session()
    core.get_component("credential_provider").insert_before("env", _AssumeRoleProvider(fetch))
    return new_session(core)
