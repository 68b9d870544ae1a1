"""The model's toolbox: every capability's ``ModelTool``s, bound to one request.

The tools live with their capabilities (``handlers.capabilities``) and call the commands' gatherers.
Tool results are scrubbed and cut to a budget by the loop, so tools only gather and format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.llm.tools import ToolSpec
from bot.models import Request, Source
from handlers.capability import Access, Capability, ModelTool, ToolCall
from handlers.services import Services


def _where_properties(services: Services) -> dict[str, Any]:
    """``account``/``region`` arguments, offered only when the operator configured accounts."""
    if services.accounts is None or not services.accounts.configured:
        return {}
    names = list(services.accounts.specs)
    regions = sorted({t.region for t in services.accounts.targets()})
    return {"account": {"type": "string", "enum": [*names, "all"],
                        "description": "account name; omit for the default (fleet-wide tools: all accounts)"},
            "region": {"type": "string", "enum": regions, "description": "region; omit for every region in scope"}}


def build_tools(services: Services, request: Request | None, sources: Sequence[Capability]) -> list[ToolSpec]:
    """The ``ToolSpec``s of every tool ``sources`` offer, run on behalf of ``request``."""
    asker = request or Request(text="", source=Source.CLI)
    where = _where_properties(services)

    def bind(tool: ModelTool) -> ToolSpec:
        params = {**tool.parameters, "properties": {**tool.parameters.get("properties", {}), **where}}
        return ToolSpec(tool.name, tool.description, params,
                        lambda args: tool.run(ToolCall(services, asker, args)))

    # Tools of action entries only propose, and only when the operator enabled actions.
    offered = [c for c in sources if c.access is not Access.ACTION or services.settings.actions_enabled]
    return [bind(tool) for cap in offered for tool in cap.tools]
