"""The sidecar: a small HTTP server in the bot's process for probes, Prometheus and scripted access.

``server.Sidecar`` runs it on a daemon thread; ``routes.ROUTES`` is the one table of what it serves
(/healthz, /status, /metrics, /logs, /query, /openapi.json) and who may call each route.
"""
