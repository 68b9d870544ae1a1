"""The MCP front end: the bot's read-only tools for Model Context Protocol clients (`cloudops-bot mcp`).

``calls`` admits, runs, scrubs and audits one tool call (no SDK types); ``server`` is the SDK's server and
the stdio transport; ``http`` serves streamable HTTP behind the sidecar's bearer token. Needs the ``mcp``
extra; nothing else in the bot imports this package.
"""
