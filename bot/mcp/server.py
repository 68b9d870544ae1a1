"""The MCP server object (the SDK's low-level ``Server``) and the stdio transport.

The low-level server, not ``MCPServer``: the tools already carry their JSON schemas (the model's own), so
nothing is inferred from Python signatures and MCP clients see exactly what the bot's model sees. Tool
calls are blocking (boto3), so each runs on a worker thread, at most ``CLOUDOPS_MCP_CONCURRENCY`` at once.
"""

from __future__ import annotations

from functools import partial

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from bot.mcp.calls import call_tool, tools_for
from handlers.services import Services

INSTRUCTIONS = (
    "Read-only AWS investigation tools of the CloudOps on-call bot: EC2 instances and status checks, "
    "CloudWatch Logs grouped by line shape, alarms and instance metrics. Results are redacted and cut to a "
    "budget. There are no action tools: actions need a second person's approval in Slack."
)
_READ_ONLY = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                   open_world_hint=True)


def list_tools(services: Services) -> list[types.Tool]:
    """Every toolbox tool as an MCP tool; its JSON schema is the input schema, unchanged."""
    return [types.Tool(name=t.name, description=t.description, input_schema=t.parameters, annotations=_READ_ONLY)
            for t in tools_for(services)]


def build_server(services: Services, *, version: str, transport: str) -> Server:
    """A server whose tools/list and tools/call are the bot's toolbox, admitted and audited per call."""
    limiter: list[anyio.CapacityLimiter] = []  # made on first use, inside the serving event loop

    async def on_list_tools(ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
                            ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=list_tools(services))

    async def on_call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        if not limiter:
            limiter.append(anyio.CapacityLimiter(services.settings.mcp_concurrency))
        run = partial(call_tool, services, params.name, dict(params.arguments or {}), transport=transport)
        result = await anyio.to_thread.run_sync(run, limiter=limiter[0])
        return types.CallToolResult(content=[types.TextContent(type="text", text=result.text)],
                                    is_error=not result.ok)

    return Server("cloudops-bot", version=version, title="Smart CloudOps AI", instructions=INSTRUCTIONS,
                  on_list_tools=on_list_tools, on_call_tool=on_call_tool)


def serve_stdio(services: Services, *, version: str) -> None:
    """Serve one client over this process's stdin/stdout until it closes them."""
    server = build_server(services, version=version, transport="stdio")

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
