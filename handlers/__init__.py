"""Capabilities and the request path. A handler takes a Request, its arguments and Services and returns
a Reply; it never sees Slack types.

Each capability is declared once (``capability.Capability``, one module per capability under
``capabilities/``, collected by ``registry``); the router, help and the model's toolbox read those
entries, and ``dispatch`` is the single error boundary and the one place requests are accounted.
"""
