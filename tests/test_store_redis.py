"""The shared store contract, against a real redis-server and against MemoryStore, plus Redis outages.

Two ``RedisStore`` instances on one server stand for two bot replicas: whatever one replica records
(a dedupe key, a spent token, a budget count) the other must see. The resilience tests kill the real
server mid-run and start it again on the same port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from structlog.testing import capture_logs

from bot.errors import ConfigError
from bot.store import MemoryStore, Store
from bot.store_redis import RedisStore, ResilientStore, make_store

REDIS_BIN = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(
    REDIS_BIN is None, reason="redis-server binary not found (Debian package: redis-server)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """A throwaway redis-server on loopback, without persistence, that can be killed and restarted."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self._started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Serve on ``port``. The port was free when chosen, but other test workers pick ports at the same
        time: on a first start, a port taken meanwhile means another one (a restart keeps its port)."""
        for _ in range(5):
            if self._serve():
                self._started = True
                return
            if self._started:
                break
            self.port = _free_port()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _serve(self) -> bool:
        assert REDIS_BIN is not None
        self.proc = subprocess.Popen(
            [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    ours = client.info("server")["process_id"] == self.proc.pid  # not another worker's server
                    if not ours:
                        self.kill()
                    return ours
                except (redis.ConnectionError, redis.TimeoutError):
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        self.kill()
                        return False
                    time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL, like a crashed or evicted pod: no goodbye to connected clients."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    if REDIS_BIN is None:
        pytest.skip("redis-server binary not found (Debian package: redis-server)")
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture(params=["memory", "redis"])
def replicas(request: pytest.FixtureRequest) -> Iterator[tuple[Store, Store]]:
    """Two handles on one shared store, as two replicas would hold (MemoryStore: one process, one object)."""
    if request.param == "memory":
        store = MemoryStore()
        yield store, store
        return
    server: RedisProcess = request.getfixturevalue("redis_server")
    prefix = f"t{time.monotonic_ns()}:"  # fresh keys per test on the shared server
    a, b = RedisStore(server.url, prefix=prefix), RedisStore(server.url, prefix=prefix)
    yield a, b
    a.close()
    b.close()


# -- one contract, both implementations --------------------------------------------------------------


def test_a_redelivered_event_is_seen_once_across_replicas(replicas: tuple[Store, Store]) -> None:
    a, b = replicas
    assert a.first_time("event:Ev1", 600) is True
    assert b.first_time("event:Ev1", 600) is False
    assert a.first_time("event:Ev1", 600) is False
    assert b.first_time("event:Ev2", 600) is True


def test_a_dedupe_key_is_forgotten_after_its_ttl(replicas: tuple[Store, Store]) -> None:
    a, b = replicas
    assert a.first_time("event:short", 0.05)
    time.sleep(0.2)
    assert b.first_time("event:short", 0.05) is True


def test_a_shared_token_bucket_refuses_the_request_after_the_burst(replicas: tuple[Store, Store]) -> None:
    a, b = replicas
    rate, burst = 0.001, 5  # refills one token every ~17 minutes: no refill during the test
    answers = [(a if i % 2 else b).take_token("rl:user:U1", rate, burst) for i in range(burst + 1)]
    assert answers == [True] * burst + [False]
    assert a.take_token("rl:user:U2", rate, burst) is True  # other users keep their own bucket


def test_a_token_bucket_refills_over_time(replicas: tuple[Store, Store]) -> None:
    a, b = replicas
    # 0.5 tokens/s: a token takes 2 s to come back, a margin for a loaded machine between two calls.
    assert a.take_token("rl:channel:C1", 0.5, 1)
    assert b.take_token("rl:channel:C1", 0.5, 1) is False
    time.sleep(2.5)  # more than one token back, capped at the burst of 1
    assert b.take_token("rl:channel:C1", 0.5, 1) is True
    assert a.take_token("rl:channel:C1", 0.5, 1) is False


def test_counters_add_up_exactly_under_concurrent_replicas(replicas: tuple[Store, Store]) -> None:
    a, b = replicas
    threads, per_thread = 8, 500

    def spend(store: Store) -> None:
        for _ in range(per_thread):
            store.incr("budget:total", 1, 600)

    workers = [threading.Thread(target=spend, args=(a if i % 2 else b,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert a.get("budget:total") == b.get("budget:total") == threads * per_thread


def test_counters_expire_from_creation_and_start_again(replicas: tuple[Store, Store]) -> None:
    a, b = replicas
    assert a.incr("budget:U1", 700, 2.0) == 700  # 2 s: a margin for a loaded machine between two calls
    assert b.incr("budget:U1", 300, 2.0) == 1000  # a later add does not extend the window
    time.sleep(2.1)
    assert a.get("budget:U1") == 0
    assert b.incr("budget:U1", 5, 60) == 5


def test_unknown_counters_read_zero_and_kinds_do_not_collide(replicas: tuple[Store, Store]) -> None:
    a, b = replicas
    assert a.get("never") == 0
    assert a.first_time("same-name", 60)
    assert b.get("same-name") == 0
    assert b.incr("same-name", 2, 60) == 2
    assert a.take_token("same-name", 0.001, 1)


# -- failing over and back ---------------------------------------------------------------------------


@needs_redis
def test_store_keeps_answering_through_a_redis_crash_and_recovers(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path)
    server.start()
    degraded: list[str] = []
    store = ResilientStore(RedisStore(server.url, timeout_s=0.3), MemoryStore(), degraded.append,
                           retry_after_s=0.05, max_retry_after_s=0.1)
    other_replica = RedisStore(server.url)
    try:
        with capture_logs() as logs:
            assert store.first_time("event:before", 600)
            assert other_replica.first_time("event:before", 600) is False  # really in Redis
            server.kill()

            # Every call is still answered, from the per-replica fallback, and stays consistent there.
            assert store.first_time("event:during", 600) is True
            assert store.first_time("event:during", 600) is False
            assert store.incr("budget:U1", 10, 600) == 10
            assert [store.take_token("rl:user:U1", 0.001, 2) for _ in range(3)] == [True, True, False]
            assert store.degraded
            time.sleep(0.3)  # past the back-off: the next calls probe the dead Redis, quietly
            assert store.incr("budget:U1", 5, 600) == 15
            assert store.get("budget:U1") == 15

            server.start()  # same port, empty (no persistence)
            deadline = time.monotonic() + 10
            while store.degraded and time.monotonic() < deadline:
                store.get("budget:U1")
                time.sleep(0.02)
            assert not store.degraded
            assert store.first_time("event:after", 600) is True
            assert other_replica.first_time("event:after", 600) is False  # shared again

        warnings = [e for e in logs if e["log_level"] == "warning"]
        assert [w["event"] for w in warnings] == ["store_degraded"]
        assert "ConnectionError" in warnings[0]["error"]
        assert len(degraded) == 1
        assert any(e["event"] == "store_recovered" for e in logs)
    finally:
        other_replica.close()
        server.kill()


def test_a_redis_that_accepts_but_never_answers_does_not_hang_requests() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts connections; nobody ever reads or replies
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        store = ResilientStore(RedisStore(url, timeout_s=0.2), MemoryStore(), retry_after_s=60)
        with capture_logs() as logs:
            assert store.take_token("rl:user:U1", 1.0, 3) is True
            assert store.first_time("event:x", 60) is True
            assert store.first_time("event:x", 60) is False
        assert store.degraded
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["store_degraded"]
        assert "Timeout" in logs[0]["error"]


def test_make_store_picks_memory_without_url_and_rejects_a_bad_url() -> None:
    assert isinstance(make_store(None), MemoryStore)
    assert isinstance(make_store(""), MemoryStore)
    assert isinstance(make_store("redis://:secret@127.0.0.1:1/0"), ResilientStore)
    with pytest.raises(ConfigError, match="CLOUDOPS_REDIS_URL"):
        make_store("http://cache.internal:6379")


def test_log_lines_never_carry_the_redis_password() -> None:
    store = make_store("redis://user:hunter2@127.0.0.1:1/0", timeout_s=0.2)
    with capture_logs() as logs:
        assert store.incr("n", 1, 60) == 1  # port 1: refused at once, fallback answers
    assert logs
    assert "hunter2" not in repr(logs)
