"""Which accounts and regions a request reads: ``--account``/``--region``, the channel's default, or all.

Fleet-wide commands (the fleet's status, alarms, finding an instance) fan out over every target in
scope; commands about one log group or one instance's metrics read one target. Precedence: the
command's own options, then the channel's default from ``CLOUDOPS_CHANNEL_SCOPES``, then everything
(fleet-wide) or the default account's first region (one target).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.aws.accounts import Target
from bot.errors import CloudOpsError, NotFoundError, UserInputError
from bot.models import Request
from handlers.services import Services

T = TypeVar("T")
_OPTIONS = ("--account", "--region")


@dataclass(frozen=True)
class Scope:
    account: str | None = None  # None = every account
    region: str | None = None  # None = every configured region of the account(s)
    named: bool = False  # the user or the channel narrowed it


def split_scope(args: list[str], request: Request, services: Services) -> tuple[list[str], Scope]:
    """Pull ``--account X`` / ``--region Y`` (or ``--account=X``) out of ``args`` and validate them."""
    given: dict[str, str] = {}
    rest: list[str] = []
    it = iter(args)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name.lower() in _OPTIONS:
            if not eq:
                value = next(it, "")
            if not value:
                raise UserInputError(f"{name} needs a value", f"e.g. `{name} {_example(name, services)}`")
            given[name.lower()] = value.strip().lower()
        else:
            rest.append(arg)
    account, region = given.get("--account"), given.get("--region")
    if account is None and region is None and request.channel in services.settings.channel_scopes:
        account, _, region_part = services.settings.channel_scopes[request.channel].partition("/")
        region = region_part or None
    if account == "all":
        account = None
    names = _accounts(services)
    if account is not None and account not in names:
        raise UserInputError(f"there is no account named {account[:40]!r}",
                             f"accounts: {', '.join(names)} (or `--account all`)")
    if region == "all":
        region = None
    if region is not None:
        known = sorted({t.region for t in _targets(services, account, None)})
        if region not in known:
            raise UserInputError(f"{region[:40]!r} is not a region I read" + (f" in {account}" if account else ""),
                                 f"regions: {', '.join(known)}")
    return rest, Scope(account, region, named=bool(given) or account is not None or region is not None)


def fleet_targets(scope: Scope, services: Services) -> list[Target]:
    """Every target the scope covers (all of them when nothing narrowed it)."""
    return _targets(services, scope.account, scope.region)


def single_target(scope: Scope, services: Services) -> Target:
    """The one target a single-target command reads."""
    if services.accounts is None:
        return Target(services.aws.account, services.aws.region)
    if scope.account is None and scope.region is None:
        return services.accounts.default_target()
    candidates = _targets(services, scope.account or services.accounts.default_account, scope.region)
    if not candidates:  # --region alone, not a region of the default account: the first account that has it
        candidates = _targets(services, None, scope.region)
    return candidates[0]


def labelled(services: Services, targets: list[Target]) -> bool:
    """Label facts with account/region whenever accounts are configured or more than one target answers."""
    return len(targets) > 1 or (services.accounts is not None and services.accounts.configured)


def where(targets: list[Target]) -> str:
    """How a title names the scope: ``prod/us-east-1`` or ``3 account/regions``."""
    return targets[0].label if len(targets) == 1 else f"{len(targets)} account/regions"


def gather(targets: list[Target], services: Services, fn: Callable[[Services], T], *,
           lookup: bool = False) -> tuple[dict[Target, T], list[str]]:
    """Run ``fn`` on each target (bounded fan-out); returns the results and one note per failed target.

    Raises the first error when every target failed, so a single-account user sees the usual message.
    ``lookup``: finding one thing (an instance) everywhere, so "not found" in a target is no failure.
    """
    if services.accounts is None or len(targets) == 1:
        return {targets[0]: fn(services.at(targets[0]))}, []
    got = services.accounts.fanout(targets, lambda aws: fn(services.at(Target(aws.account, aws.region))))
    bug = next((v for v in got.values() if isinstance(v, Exception) and not isinstance(v, CloudOpsError)), None)
    if bug is not None:
        raise bug  # a bug, not an AWS refusal: the error boundary logs it with a correlation id
    ok = {t: v for t, v in got.items() if not isinstance(v, Exception)}
    failed = {t: v for t, v in got.items() if isinstance(v, CloudOpsError)}
    if not ok and failed:
        missing = all(isinstance(v, NotFoundError) for v in failed.values())
        if lookup and missing:
            first = next(iter(failed.values()))
            raise NotFoundError(f"{first.message.split(' in ')[0]} in any of {where(targets)}", first.hint)
        raise next(iter(failed.values()))
    if lookup:
        failed = {t: v for t, v in failed.items() if not isinstance(v, NotFoundError)}
    notes = [f"{t.label}: not read — {_why(v)}" for t, v in failed.items()]
    return ok, notes


def _why(exc: CloudOpsError) -> str:
    return exc.message + (f" ({exc.hint})" if exc.hint else "")


def _accounts(services: Services) -> list[str]:
    return list(services.accounts.specs) if services.accounts is not None else [services.aws.account]


def _targets(services: Services, account: str | None, region: str | None) -> list[Target]:
    if services.accounts is None:
        return [Target(services.aws.account, services.aws.region)]
    return services.accounts.targets(account, region)


def _example(option: str, services: Services) -> str:
    if option == "--account":
        return _accounts(services)[0]
    return _targets(services, None, None)[0].region
