"""`help`: what the bot can do, generated from the routing table so it never drifts."""

from __future__ import annotations

from bot.models import Reply, Request, Section
from handlers.services import Services


def handle_help(request: Request, args: list[str], services: Services) -> Reply:
    from handlers.router import ROUTES  # the table imports this module; import late to avoid a cycle

    lines = [f"• `/cloudops {r.usage}` — {r.summary}" for r in ROUTES]
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
