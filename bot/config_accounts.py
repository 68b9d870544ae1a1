"""Accounts and regions: which AWS accounts the bot may read, how it gets credentials, where it looks.

Kept apart from ``bot.config`` because the shape is nested (a mapping of accounts, each with its own
regions and role) and its validation is a topic of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import yaml


def _csv(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(v.strip() for v in str(value).split(",") if v.strip())


_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


@dataclass(frozen=True)
class AccountSpec:
    """One AWS account the bot may read: how to get credentials for it, and which regions to look in.

    Neither ``role_arn`` nor ``profile`` means the bot's own credentials (the account it runs in).
    """

    name: str
    regions: tuple[str, ...] = ()
    role_arn: str = ""
    external_id: str = ""
    profile: str = ""

    def describe(self) -> str:
        """One line for check-config: how credentials are obtained and where it looks."""
        how = (f"assumes {self.role_arn}" + (" with an external id" if self.external_id else "") if self.role_arn
               else f"profile {self.profile}" if self.profile else "the bot's own credentials")
        return f"{self.name}: {how}, regions {', '.join(self.regions) or 'default'}"


def parse_accounts(value: Any) -> dict[str, AccountSpec]:
    """Accounts come as a YAML mapping from the config file, or as JSON/YAML text in the env var."""
    if isinstance(value, str):
        value = yaml.safe_load(value) if value.strip() else {}
    if not isinstance(value, Mapping):
        raise ValueError("must be a mapping of account name to {role_arn, external_id, profile, regions}")
    out: dict[str, AccountSpec] = {}
    for name, body in value.items():
        body = body or {}
        if not isinstance(body, Mapping):
            raise ValueError(f"account {name!r} must be a mapping")
        unknown = sorted(set(body) - {"role_arn", "external_id", "profile", "regions"})
        if unknown:
            raise ValueError(f"account {name!r}: unknown key(s) {', '.join(map(str, unknown))}")
        out[str(name)] = AccountSpec(
            name=str(name), regions=_csv(body.get("regions", ())), role_arn=str(body.get("role_arn") or ""),
            external_id=str(body.get("external_id") or ""), profile=str(body.get("profile") or ""))
    return out


class AccountSettings(Protocol):
    """The settings account validation reads (``bot.config.Settings`` has them), named here so this
    module does not import ``bot.config``, which imports it."""

    @property
    def accounts(self) -> Mapping[str, AccountSpec]: ...
    @property
    def default_account(self) -> str: ...
    @property
    def channel_scopes(self) -> Mapping[str, str]: ...
    @property
    def aws_region(self) -> str: ...
    @property
    def sts_session_name(self) -> str: ...
    @property
    def sts_duration_s(self) -> int: ...


def account_problems(s: AccountSettings) -> list[str]:
    problems: list[str] = []
    for name, acct in s.accounts.items():
        where = f"CLOUDOPS_ACCOUNTS[{name}]"
        if not _ACCOUNT_NAME.match(name) or name == "all":
            problems.append(f"{where}: names are lower-case letters, digits, - and _ (and not 'all')")
        if acct.role_arn and not _ROLE_ARN.match(acct.role_arn):
            problems.append(f"{where}: role_arn {acct.role_arn!r} is not an IAM role ARN")
        if acct.external_id and not _EXTERNAL_ID.match(acct.external_id):
            problems.append(f"{where}: external_id must be 2-1224 characters of letters, digits and +=,.@:/-")
        if acct.external_id and not acct.role_arn:
            problems.append(f"{where}: external_id only applies with role_arn")
        if acct.role_arn and acct.profile:
            problems.append(f"{where}: give role_arn or profile, not both")
        bad = [r for r in acct.regions if not _REGION.match(r)]
        problems += [f"{where}: {r!r} is not a region name like eu-west-1" for r in bad]
    if s.default_account and s.default_account not in s.accounts:
        problems.append(f"CLOUDOPS_DEFAULT_ACCOUNT {s.default_account!r} is not in CLOUDOPS_ACCOUNTS")
    for channel, scope in s.channel_scopes.items():
        account, _, region = scope.partition("/")
        if s.accounts and account not in s.accounts:
            problems.append(f"CLOUDOPS_CHANNEL_SCOPES: {channel} names unknown account {account!r}")
        elif region and s.accounts and region not in (s.accounts[account].regions or (s.aws_region,)):
            problems.append(f"CLOUDOPS_CHANNEL_SCOPES: {channel}: {account} has no region {region!r} configured")
        elif not s.accounts:
            problems.append("CLOUDOPS_CHANNEL_SCOPES needs CLOUDOPS_ACCOUNTS")
    if not _SESSION_NAME.match(s.sts_session_name):
        problems.append("CLOUDOPS_STS_SESSION_NAME must be 2-64 characters of letters, digits and +=,.@-")
    if not 1800 <= s.sts_duration_s <= 3600:
        # botocore refreshes assumed-role credentials 15 minutes before expiry, so a shorter session would
        # be re-assumed on nearly every call; the bot's own credentials are usually a role session
        # (instance profile, IRSA, task role), and AWS caps a chained role session at one hour.
        problems.append("CLOUDOPS_STS_DURATION_S must be between 30m and 1h")
    return problems
