"""A throwaway AWS (moto) endpoint on 127.0.0.1 for the embedded demo and the end-to-end tests.

The bot talks to it through its ordinary boto3 code path with ``endpoint_url`` pointed here, so what
the demo shows is what real AWS responses would look like, without credentials or network access.
This module deliberately does not import boto3 (only ``bot.aws`` may); seeding lives in
``cloudops_demo.sandbox``.
"""

from __future__ import annotations

import logging
import urllib.request
from types import TracebackType

from moto.server import ThreadedMotoServer

_LOOPBACK = "127.0.0.1"


def _silence_werkzeug() -> None:
    """Werkzeug logs every request to stderr even with ``verbose=False``, which drowns the demo console."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


class MotoSandbox:
    """One in-process moto server, bound to loopback on a free port.

    moto keeps its state in process-wide backends, so two sandboxes in one process share state and
    ``reset()`` wipes everything (including anything an in-process ``mock_aws`` created). Seed with
    ``cloudops_demo.sandbox.seed_incident(sandbox.endpoint_url)`` after ``start()`` or ``reset()``.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: ThreadedMotoServer | None = None
        self._endpoint_url: str | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server; an error before ``start()``."""
        if self._endpoint_url is None:
            raise RuntimeError("MotoSandbox is not running; call start() first")
        return self._endpoint_url

    @property
    def running(self) -> bool:
        """Whether ``start()`` has been called without a matching ``stop()``."""
        return self._server is not None

    def start(self) -> MotoSandbox:
        """Bind and serve; returns self so ``sandbox = MotoSandbox().start()`` reads naturally."""
        if self._server is not None:
            return self
        _silence_werkzeug()
        server = ThreadedMotoServer(ip_address=_LOOPBACK, port=self._port, verbose=False)
        server.start()  # blocks until the socket is bound, so the port below is real
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Shut the server down (~0.4 s: werkzeug's poll interval); safe to call twice."""
        server, self._server, self._endpoint_url = self._server, None, None
        if server is not None:
            server.stop()

    def reset(self) -> None:
        """Forget every resource (instances, log groups, alarms, metrics) so a test can re-seed."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST", data=b"")
        # An empty ProxyHandler: an HTTP(S)_PROXY in the environment must never see loopback traffic.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            if response.status != 200:
                raise RuntimeError(f"moto reset failed with HTTP {response.status}")

    def __enter__(self) -> MotoSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
