"""`help`: what the bot can do, generated from the capability entries so it never drifts.

The registry hands help the entries it lists (``capability(listing)``), so help imports no table.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Reply, Request, Section
from handlers.capability import Capability
from handlers.services import Services

USAGE, SUMMARY = "help", "this list"


def capability(listing: Sequence[Capability]) -> Capability:
    """The help entry, listing itself first and then ``listing``."""
    entries = tuple(listing)

    def handler(request: Request, args: list[str], services: Services) -> Reply:
        return handle_help(request, services, entries)

    return Capability(verb="help", usage=USAGE, summary=SUMMARY, handler=handler, order=0)


def handle_help(request: Request, services: Services, listing: Sequence[Capability]) -> Reply:
    lines = [f"• `/cloudops {USAGE}` — {SUMMARY}"] + [f"• `/cloudops {c.usage}` — {c.summary}" for c in listing]
    lines.append("• `@CloudOps <question>` — ask anything; follow-ups in the thread keep the context")
    aliases = services.settings.log_aliases
    sections = [Section(title="Commands", text="\n".join(lines), markdown=True)]
    if aliases:
        sections.append(Section(title="Log group aliases",
                                text="\n".join(f"{k} → {v}" for k, v in sorted(aliases.items()))))
    accounts = services.accounts
    if accounts is not None and accounts.configured:
        rows = [f"{name}{' (default)' if name == accounts.default_account else ''}: {', '.join(accounts.regions(name))}"
                for name in accounts.specs]
        here = services.settings.channel_scopes.get(request.channel)
        sections.append(Section(
            title="Accounts and regions",
            text="\n".join(rows) + "\nAdd --account <name> and/or --region <region> to any command "
                 "(--account all for every account)." + (f"\nThis channel defaults to {here}." if here else "")))
    return Reply(title="CloudOps — what I can do", sections=tuple(sections))
