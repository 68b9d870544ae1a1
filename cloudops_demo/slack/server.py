"""The aiohttp server behind the emulator, on 127.0.0.1 with an ephemeral port, in its own thread.

One server answers the Web API (``POST /api/<method>``), the Socket Mode WebSocket
(``/link``), ``response_url`` posts and the raw file-upload URLs, because the app under
test only ever learns one base URL. Running the loop in a daemon thread lets plain
synchronous tests and the synchronous Bolt app drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

from . import webapi, webapi_ai
from .faults import Faults
from .records import ApiCall
from .socket_mode import SocketHub
from .state import Workspace
from .webapi import Ctx, Reply, err, opt_str, truthy

log = logging.getLogger(__name__)
T = TypeVar("T")
HANDLERS: dict[str, webapi.Handler] = {**webapi.HANDLERS, **webapi_ai.HANDLERS}
# Form bodies carry structured values as JSON strings; JSON bodies carry them as-is.
JSON_PARAMS = ("blocks", "attachments", "metadata", "files", "chunks", "prompts", "loading_messages", "view")
MAX_BODY = 64 * 1024 * 1024


async def read_params(request: web.Request) -> dict[str, Any]:
    """Merge query string and body (JSON, form-urlencoded or multipart) into one dict, as Slack does."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        raw = await request.read()
        body = json.loads(raw) if raw.strip() else {}
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        for key, field in (await request.post()).items():
            params[key] = field.file.read() if isinstance(field, web.FileField) else field
    for key in JSON_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # A malformed value is left as a string; the handler rejects it with Slack's error code.
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


class EmulatorServer:
    """Owns the loop thread and the aiohttp runner; everything else talks to it via ``run()``."""

    def __init__(self, ws: Workspace, faults: Faults, hub: SocketHub, *, bot_token_prefix: str) -> None:
        self._ws = ws
        self._faults = faults
        self.hub = hub
        self._bot_prefix = bot_token_prefix
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="slack-emulator", daemon=True)
        self._thread.start()
        self.port = self.run(self._start_site())

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        try:
            self.run(self._shutdown(), timeout=15.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10.0)
            self._loop.close()
            self._loop, self._thread = None, None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the emulator loop from any other thread and wait for its result."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("the Slack emulator is not running; call start() first")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start_site(self) -> int:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/link", self.hub.handle)
        app.router.add_get("/link/", self.hub.handle)
        app.router.add_post("/response/{rid}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files/{file_id}", self._download)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- Web API -----------------------------------------------------------------------------

    def _auth_error(self, method: str, token: str | None) -> str | None:
        """Slack's token-type rules: app-level tokens only open sockets, bot/user tokens do the rest."""
        if not token:
            return "not_authed"
        if method == "apps.connections.open":
            if token.startswith("xapp-"):
                return None
            return "not_allowed_token_type" if token.startswith(("xox", self._bot_prefix)) else "invalid_auth"
        if token.startswith("xapp-"):
            return "not_allowed_token_type"
        return None if token.startswith((self._bot_prefix, "xoxp-")) else "invalid_auth"

    def _answer(self, method: str, params: dict[str, Any], token: str | None) -> Reply:
        problem = self._auth_error(method, token)
        if problem:
            return err(problem)
        injected = self._faults.check(method)
        if injected is not None:
            return injected
        handler = HANDLERS.get(method)
        if handler is None:
            return err("unknown_method")
        try:
            return self._faults.after(method, handler(Ctx(self._ws, self.base_url, token), params))
        except Exception:  # an emulator bug must surface as an API error, not a hung client
            log.exception("slack emulator: %s failed", method)
            return Reply({"ok": False, "error": "internal_error"}, status=500)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await read_params(request)
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_json"})
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else opt_str(params.pop("token", None))
        with self._ws.lock:
            recorded = copy.deepcopy(params)
            reply = self._answer(method, params, token)
            self._ws.calls.append(ApiCall(method, recorded, token, time.time(), reply.status, reply.error))
            self._ws.changed()
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    # ---- response_url, uploads ---------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        """Bolt's ``respond()``: ephemeral by default, in_channel posts, replace/delete of the original."""
        try:
            body = await read_params(request)
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        ws = self._ws
        with ws.lock:
            ru = ws.response_urls.get(request.match_info["rid"])
            if ru is None:
                return web.Response(status=404, text="no_such_url")
            if ru.uses_left <= 0:
                return web.Response(status=404, text="used_url")
            if time.time() > ru.expires_at:
                return web.Response(status=404, text="expired_url")
            ru.uses_left -= 1
            ru.posts.append(copy.deepcopy(body))
            fields = {"text": body.get("text", ""), "blocks": body.get("blocks")}
            original = ws.find(ru.channel, ru.message_ts) if ru.message_ts else None
            if truthy(body.get("delete_original")) and original is not None:
                ws.delete(ru.channel, original["ts"])
            elif truthy(body.get("replace_original")) and original is not None:
                original.update({k: v for k, v in fields.items() if v is not None})
                ws.changed()
            elif body.get("response_type") == "in_channel":
                thread_ts = opt_str(body.get("thread_ts"))
                if thread_ts is not None and ws.thread_root(ru.channel, thread_ts) is None:
                    thread_ts = None
                ws.bot_message(ru.channel, fields, thread_ts=thread_ts)
            else:
                ws.add_ephemeral(ru.channel, ru.user, body, "response_url")
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        content = await request.read()
        with self._ws.lock:
            pending = self._ws.pending_uploads.get(request.match_info["file_id"])
            if pending is None:
                return web.Response(status=404, text="file_not_found")
            pending["content"] = content
            self._ws.changed()
        return web.Response(text=f"OK - {len(content)}")

    async def _download(self, request: web.Request) -> web.Response:
        with self._ws.lock:
            uploaded = self._ws.files.get(request.match_info["file_id"])
        if uploaded is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=uploaded.content)

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")
