"""`cloudops-bot demo` and the local peers it drives: a seeded moto AWS and the Slack emulator.

Not part of the product: the image leaves it out and its dependencies (moto, flask, aiohttp) are the
`demo` extra. The product never imports it, except `cloudops-bot demo`, lazily.
"""
