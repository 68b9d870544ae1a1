"""Every account/region the bot may read, their sessions and clients, and a bounded fan-out across them.

One boto3 Session per account (the bot's own, a named profile, or an assumed role that botocore
refreshes) and one ``AwsClients`` per account/region, both made on first use and then kept: a
fleet-wide question over 3 accounts × 2 regions should not pay for STS and client creation again.
Fan-out runs on its own small pool (``CLOUDOPS_FANOUT_PARALLELISM``) so a target's own parallel
gathering, on the shared gather pool, can never wait behind the fan-out that started it.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import boto3
from botocore.exceptions import ProfileNotFound

from bot.aws.assume import assumed_session
from bot.aws.session import AwsClients, client_config, new_session
from bot.config import Settings
from bot.config_accounts import AccountSpec
from bot.errors import UpstreamError
from bot.metrics import Metrics

T = TypeVar("T")
DEFAULT = "default"  # the account's name when none are configured: the bot's own credentials


@dataclass(frozen=True, order=True)
class Target:
    account: str
    region: str

    @property
    def label(self) -> str:
        return f"{self.account}/{self.region}"


class AwsAccounts:
    """Hands out ``AwsClients`` per target and runs one function across several targets at once."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics
        self._home = new_session(region_name=settings.aws_region or None)
        self.home_region = self._home.region_name or "us-east-1"
        self.specs: dict[str, AccountSpec] = dict(settings.accounts) or {DEFAULT: AccountSpec(DEFAULT)}
        self.default_account = settings.default_account or next(iter(self.specs))
        self._sessions: dict[str, boto3.session.Session] = {}
        self._clients: dict[Target, AwsClients] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=settings.fanout_parallelism, thread_name_prefix="aws-fanout")
        default = self.default_target()
        self._clients[default] = AwsClients(settings, metrics, session=self._session(default.account),
                                            region=default.region, account=default.account)

    @property
    def configured(self) -> bool:
        """True when the operator named accounts: answers then label every fact with account/region."""
        return bool(self._settings.accounts)

    def regions(self, account: str) -> tuple[str, ...]:
        return self.specs[account].regions or (self.home_region,)

    def default_target(self, account: str | None = None) -> Target:
        name = account or self.default_account
        return Target(name, self.regions(name)[0])

    def targets(self, account: str | None = None, region: str | None = None) -> list[Target]:
        """Every configured target, optionally narrowed to one account and/or one region."""
        names = [account] if account else list(self.specs)
        return [Target(n, r) for n in names for r in self.regions(n) if region in (None, r)]

    def clients(self, target: Target) -> AwsClients:
        with self._lock:
            found = self._clients.get(target)
        if found is not None:
            return found
        session = self._session(target.account)
        made = AwsClients(self._settings, self._metrics, session=session, region=target.region,
                          account=target.account, warm=False)
        with self._lock:
            return self._clients.setdefault(target, made)

    def action_clients(self, target: Target, role_arn: str, *, session_name: str,
                       external_id: str = "") -> AwsClients:
        """Clients under an action role, assumed from the bot's own credentials for this one action.

        Never cached: each action gets its own session, whose name (CloudTrail's view of who did it)
        carries the person it runs for. 15 minutes is AssumeRole's shortest session; botocore renews it
        if verification runs longer.
        """
        spec = AccountSpec(target.account, role_arn=role_arn, external_id=external_id)
        session = assumed_session(self._home, spec, session_name=session_name, duration_s=900,
                                  sts_config=client_config(self._settings, self.home_region), metrics=self._metrics)
        return AwsClients(self._settings, self._metrics, session=session, region=target.region,
                          account=target.account, warm=False)

    def fanout(self, targets: Sequence[Target], fn: Callable[[AwsClients], T]) -> dict[Target, T | Exception]:
        """``fn`` for each target, at most ``CLOUDOPS_FANOUT_PARALLELISM`` at once; exceptions are returned."""

        def one(target: Target) -> T | Exception:
            try:
                return fn(self.clients(target))
            except Exception as exc:  # the caller reports which target failed and shows the others
                return exc

        if len(targets) <= 1:
            return {t: one(t) for t in targets}
        futures = {t: self._pool.submit(contextvars.copy_context().run, one, t) for t in targets}
        return {t: f.result() for t, f in futures.items()}

    def _session(self, account: str) -> boto3.session.Session:
        with self._lock:
            if account in self._sessions:
                return self._sessions[account]
            spec = self.specs[account]
            if spec.role_arn:
                made = assumed_session(self._home, spec, session_name=self._settings.sts_session_name,
                                       duration_s=self._settings.sts_duration_s,
                                       sts_config=client_config(self._settings, self.home_region),
                                       metrics=self._metrics)
            elif spec.profile:
                try:
                    made = new_session(profile_name=spec.profile)
                except ProfileNotFound as exc:
                    raise UpstreamError(
                        "aws", f"account {account!r} names AWS profile {spec.profile!r}, which is not defined",
                        "define it in AWS_CONFIG_FILE or fix CLOUDOPS_ACCOUNTS") from exc
            else:
                made = self._home
            self._sessions[account] = made
            return made

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
