"""A local OpenAI-compatible chat-completions server for tests, benchmarks and the offline demo.

The real ``openai`` SDK is pointed at it (``OpenAI(base_url=server.base_url, ...)``) so the bot's
LLM code runs its true request/parse/retry paths, with answers, latency, hangs and HTTP errors
scripted per turn. Only stdlib HTTP is used so the fake has no moving parts of its own, and
every handler runs in its own daemon thread so one hung answer never blocks another request.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from tests.peers.http_peer import LoopbackPeer, PeerHandler
from tests.peers.llm_script import (
    Scriptable,
    Scripted,
    ToolCall,
    completion_body,
    error_body,
    error_headers,
    stream_chunks,
)

__all__ = ["FakeLLMServer", "Scripted", "ToolCall"]

Responder = Callable[[dict[str, Any]], Scripted]



class _Aborted(Exception):
    """Drop the connection without (the rest of) an answer: the server is stopping, or a scripted stream
    breaks off."""


class _Handler(PeerHandler):
    """Speaks just enough of the OpenAI HTTP API for the SDK."""

    server_version = "FakeLLM/1.0"

    @property
    def fake(self) -> FakeLLMServer:
        return cast(FakeLLMServer, self._peer())

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(404, error_body(404, f"Unknown path {self.path}"))
        elif self._authorized():
            model = {"id": self.fake.model, "object": "model", "created": 0, "owned_by": "fake-llm"}
            self._send_json(200, {"object": "list", "data": [model]})


    def do_POST(self) -> None:
        try:
            self._chat_completions()
        except _Aborted:
            self.close_connection = True

    def _read_request(self) -> dict[str, Any] | None:
        """Parse and record the body; answer 4xx and return None when there is no usable request."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, error_body(404, f"Unknown path {self.path}"))
            return None
        try:
            request = json.loads(raw or b"null")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self._send_json(400, error_body(400, "Request body must be a JSON object."))
            return None
        self.fake._record(request)
        if not self._authorized():
            return None
        if not isinstance(request.get("messages"), list) or not request["messages"]:
            self._send_json(400, error_body(400, "'messages' must be a non-empty array."))
            return None
        return request

    def _chat_completions(self) -> None:
        fake = self.fake
        request = self._read_request()
        if request is None:
            return
        turn = fake._injected_error() or fake._next_turn(request)
        self._wait(fake.latency_s + turn.delay_s)
        if turn.hang:
            fake._stopping.wait()
            raise _Aborted
        if turn.raw_body is not None:
            self._send_raw(turn.status, turn.raw_body.encode(), turn.raw_content_type)
            return
        if turn.status >= 400:
            self._send_json(turn.status, error_body(turn.status, turn.content), error_headers(turn))
            return
        call_ids, cid = fake._new_ids(len(turn.tool_calls))
        ids: dict[str, Any] = {
            "model": str(request.get("model") or fake.model),
            "call_ids": call_ids,
            "created": int(time.time()),
            "cid": cid,
        }
        if request.get("stream"):
            size = turn.chunk_chars if turn.chunk_chars is not None else fake.chunk_chars
            pause = turn.chunk_delay_s if turn.chunk_delay_s is not None else fake.chunk_delay_s
            self._send_stream(stream_chunks(turn, request, chunk_chars=size, **ids), pause, turn.cut_after_chunks)
        else:
            self._send_json(200, completion_body(turn, request, **ids))

    def _wait(self, seconds: float) -> None:
        """Sleep interruptibly, so stop() is prompt even while answers are artificially slow."""
        if seconds > 0 and self.fake._stopping.wait(seconds):
            raise _Aborted

    def _authorized(self) -> bool:
        expected = f"Bearer {self.fake.api_key}"
        if self.headers.get("Authorization") == expected:
            return True
        self._send_json(401, error_body(401, "Incorrect API key provided."))
        return False

    def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, chunks: Iterable[dict[str, Any]], pause_s: float = 0.0,
                     cut_after: int | None = None) -> None:
        """Server-sent events over chunked encoding, so the connection stays reusable like the real API.

        ``pause_s`` is slept (interruptibly) before every event after the first, like a model writing;
        ``cut_after`` events in, the connection is dropped without the end of the stream.
        """
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, chunk in enumerate(chunks):
            if cut_after is not None and i >= cut_after:
                raise _Aborted
            if i:
                self._wait(pause_s)
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class FakeLLMServer(Scriptable, LoopbackPeer):
    """OpenAI-compatible fake with a FIFO script of turns, a fallback responder and seeded fault injection."""

    handler = _Handler
    thread_name = "fake-llm"

    def __init__(
        self,
        *,
        api_key: str = "sk-test",
        model: str = "gpt-test",
        latency_s: float = 0.0,
        error_rate: float = 0.0,
        error_status: int = 500,
        seed: int = 0,
        chunk_chars: int = 8,
        chunk_delay_s: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.latency_s = latency_s
        self.error_rate = error_rate
        self.error_status = error_status
        self.seed = seed
        self.chunk_chars = chunk_chars
        self.chunk_delay_s = chunk_delay_s
        self._init_script()
        self._init_peer()
        self._rng = random.Random(seed)
        self._completion_seq = 0
        self._call_seq = 0

    @property
    def base_url(self) -> str:
        """The value for ``OpenAI(base_url=...)``; only meaningful once started (the port is ephemeral)."""
        return self._origin() + "/v1"

    # -- scripting -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget script, history, responder and counters, so one server can be shared by many tests."""
        self._reset_script()
        with self._lock:
            self._rng = random.Random(self.seed)
            self._completion_seq = 0
            self._call_seq = 0

    # -- used by the handler threads -------------------------------------------------------------

    def _injected_error(self) -> Scripted | None:
        """Seeded coin flip per request, so a flaky-provider benchmark fails the same requests every run."""
        if self.error_rate <= 0:
            return None
        with self._lock:
            failed = self._rng.random() < self.error_rate
        return Scripted(status=self.error_status) if failed else None

    def _new_ids(self, n_calls: int) -> tuple[list[str], str]:
        """Tool-call ids unique across the server's life (since reset), as the agent loop keys on them."""
        with self._lock:
            self._completion_seq += 1
            ids = [f"call_{self._call_seq + i + 1}" for i in range(n_calls)]
            self._call_seq += n_calls
            return ids, f"chatcmpl-fake-{self._completion_seq}"
