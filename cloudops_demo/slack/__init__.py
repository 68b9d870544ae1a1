"""A local Slack (Web API + Socket Mode) on 127.0.0.1 for the project's tests and ``cloudops-bot demo``.

Point the real slack_sdk/slack_bolt at ``SlackEmulator().start().api_url`` and drive it
like users do; see ``emulator.SlackEmulator`` for the API.
"""

from .emulator import SlackEmulator
from .records import AckRecord, ApiCall, Envelope, UploadedFile
from .text import blocks_to_text, message_text, render_thread

__all__ = [
    "AckRecord",
    "ApiCall",
    "Envelope",
    "SlackEmulator",
    "UploadedFile",
    "blocks_to_text",
    "message_text",
    "render_thread",
]
