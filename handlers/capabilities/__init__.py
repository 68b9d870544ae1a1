"""One module per capability, each declaring ``CAPABILITY``; ``handlers.registry`` finds them all.

A new capability is a module here (its entry, handler or a call into one, and its model tools), a
gatherer in ``bot.aws`` when it reads a new API, and its prompt in ``prompts/``.
"""
