"""The baseline for bench/ack_latency.py: Bolt's textbook shape, doing the work inside the listener and
acking afterwards (Bolt's own pool, no queue). Run as its own process, configured like `cloudops-bot run`."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from bot.config import load_settings
from bot.logsetup import configure_logging
from bot.metrics import Metrics
from bot.models import Request, Source
from handlers import dispatch
from handlers.services import Services


def main() -> int:
    settings = load_settings(require_slack=True)
    configure_logging("ERROR", "json")
    services = Services.build(settings, Metrics())
    app = App(client=WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url))

    @app.command("/cloudops")
    def naive(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        reply, _, _ = dispatch.handle(Request(text=body["text"], source=Source.COMMAND, user=body["user_id"],
                                              channel=body["channel_id"]), services)
        parent = client.chat_postMessage(channel=body["channel_id"], text=f"asked: {body['text']}")
        client.chat_postMessage(channel=body["channel_id"], thread_ts=parent["ts"], text=reply.summary)
        ack()

    handler = SocketModeHandler(app, settings.slack_app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    handler.close()  # type: ignore[no-untyped-call]
    return 0


if __name__ == "__main__":
    sys.exit(main())
