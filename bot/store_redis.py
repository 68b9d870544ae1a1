"""The shared ``Store`` on Redis, and a wrapper that keeps the bot answering when Redis does not.

With several replicas, dedupe keys, rate-limit buckets and budget counters must live in one place or
each replica would enforce its own copy. Every method is one atomic Redis operation (a ``SET NX`` or a
Lua script), so concurrent replicas never do read-modify-write.

Redis is an accelerator for correctness across replicas, not a dependency for answering: a dead Redis
must not stop an on-call engineer from getting a reply. ``ResilientStore`` therefore fails over to a
per-replica ``MemoryStore`` (limits then hold per replica instead of fleet-wide) and probes Redis again
after a back-off. Socket timeouts are short and redis-py's own retries are off: a retried ``INCRBY``
after a timeout could count twice, and a slow Redis would otherwise hold every request hostage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.errors import ConfigError
from bot.store import MemoryStore, Store

log = structlog.get_logger("cloudops.store")

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 0.5
DEFAULT_PREFIX = "cloudops:"

# Token bucket, evaluated on the server so replicas share one bucket and one clock (Redis TIME, not ours).
# The key expires once the bucket would be full again: an expired bucket and a full one are the same.
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if rate > 0 then
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
local ttl_ms = 86400000
if rate > 0 then
  ttl_ms = math.ceil(burst / rate * 1000) + 1000
end
redis.call('PEXPIRE', KEYS[1], ttl_ms)
return allowed
"""

# INCRBY + expiry set only on creation ("expires ttl after creation", like MemoryStore). A script rather
# than EXPIRE NX so it also runs on Redis 6 (ElastiCache still offers it).
_INCR_LUA = """
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return v
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def safe_url(url: str) -> str:
    """The URL without credentials, for logs and error messages (a Redis URL often carries a password)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if host else f"{parts.scheme}://{parts.path}"


class RedisStore:
    """``Store`` on one Redis (or a Redis-compatible service such as ElastiCache/Valkey); thread-safe.

    Keys are namespaced per kind so a dedupe key and a counter with the same name never collide, as in
    ``MemoryStore``. Errors (``redis.RedisError``) propagate: wrap in ``ResilientStore`` to survive them.
    """

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = safe_url(url)
        self._prefix = prefix
        self._redis: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # see module docstring: no blind retries of non-idempotent calls
            decode_responses=True,
        )
        self._take = self._redis.register_script(_BUCKET_LUA)
        self._incr = self._redis.register_script(_INCR_LUA)

    def first_time(self, key: str, ttl_s: float) -> bool:
        return bool(self._redis.set(f"{self._prefix}seen:{key}", "1", nx=True, px=_ms(ttl_s)))

    def take_token(self, key: str, rate_per_s: float, burst: float) -> bool:
        return int(self._take(keys=[f"{self._prefix}tb:{key}"], args=[rate_per_s, burst])) == 1

    def incr(self, key: str, amount: int, ttl_s: float) -> int:
        return int(self._incr(keys=[f"{self._prefix}n:{key}"], args=[int(amount), _ms(ttl_s)]))

    def get(self, key: str) -> int:
        value = self._redis.get(f"{self._prefix}n:{key}")
        return int(value) if value is not None else 0

    def put_text(self, key: str, value: str, ttl_s: float) -> None:
        self._redis.set(f"{self._prefix}txt:{key}", value, px=_ms(ttl_s))

    def get_text(self, key: str) -> str | None:
        value = self._redis.get(f"{self._prefix}txt:{key}")
        return str(value) if value is not None else None

    def ping(self) -> bool:
        """For start-up checks and /status: True when Redis answers within the timeout."""
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._redis.close()


class ResilientStore:
    """A primary ``Store`` (Redis) with a per-replica fallback; never raises, never drops a call.

    The first failure logs one warning and calls ``on_degrade(reason)``; further calls go straight to the
    fallback until ``retry_after_s`` has passed, then one caller probes the primary (the others keep using
    the fallback meanwhile). Each failed probe doubles the wait up to ``max_retry_after_s``. A successful
    probe logs the recovery and calls ``on_recover``. While degraded, dedupe, buckets and budgets hold per
    replica only, and what the fallback counted is not copied back to the primary.
    """

    def __init__(
        self,
        primary: Store,
        fallback: Store,
        on_degrade: Callable[[str], None] | None = None,
        *,
        on_recover: Callable[[], None] | None = None,
        retry_after_s: float = 5.0,
        max_retry_after_s: float = 60.0,
        name: str = "redis",
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self._on_degrade = on_degrade
        self._on_recover = on_recover
        self._base_s = retry_after_s
        self._max_s = max_retry_after_s
        self._name = name
        self._lock = threading.Lock()
        self._degraded = False
        self._wait_s = retry_after_s
        self._next_probe = 0.0  # monotonic time before which the primary is not tried

    @property
    def degraded(self) -> bool:
        """True while answers come from the per-replica fallback (for /status and metrics)."""
        return self._degraded

    def first_time(self, key: str, ttl_s: float) -> bool:
        return self._call(lambda s: s.first_time(key, ttl_s))

    def take_token(self, key: str, rate_per_s: float, burst: float) -> bool:
        return self._call(lambda s: s.take_token(key, rate_per_s, burst))

    def incr(self, key: str, amount: int, ttl_s: float) -> int:
        return self._call(lambda s: s.incr(key, amount, ttl_s))

    def get(self, key: str) -> int:
        return self._call(lambda s: s.get(key))

    def put_text(self, key: str, value: str, ttl_s: float) -> None:
        self._call(lambda s: s.put_text(key, value, ttl_s))

    def get_text(self, key: str) -> str | None:
        return self._call(lambda s: s.get_text(key))

    def _call(self, op: Callable[[Store], T]) -> T:
        route = self._route()
        if route == "fallback":
            return op(self.fallback)
        try:
            result = op(self.primary)
        except Exception as exc:  # any primary failure degrades; callers must never see it
            self._failed(exc, probing=route == "probe")
            return op(self.fallback)
        if route == "probe":
            self._recovered()
        return result

    def _route(self) -> str:
        """``primary`` when healthy, ``probe`` for the one caller due to retry it, else ``fallback``."""
        with self._lock:
            if not self._degraded:
                return "primary"
            now = time.monotonic()
            if now < self._next_probe:
                return "fallback"
            self._next_probe = now + self._wait_s  # the others keep to the fallback while this one probes
            return "probe"

    def _failed(self, exc: Exception, *, probing: bool) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        with self._lock:
            first = not self._degraded
            if first:
                self._degraded = True
                self._wait_s = self._base_s
            elif probing:
                self._wait_s = min(self._max_s, self._wait_s * 2)
            else:
                return  # a call already in flight when the primary went down: nothing new to learn
            self._next_probe = time.monotonic() + self._wait_s
        if first:
            log.warning("store_degraded", store=self._name, error=reason, retry_in_s=self._base_s,
                        effect="limits and dedupe now hold per replica until the shared store is back")
            if self._on_degrade is not None:
                self._on_degrade(reason)

    def _recovered(self) -> None:
        with self._lock:
            if not self._degraded:
                return
            self._degraded = False
            self._wait_s = self._base_s
        log.info("store_recovered", store=self._name)
        if self._on_recover is not None:
            self._on_recover()


def make_store(
    redis_url: str | None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    on_degrade: Callable[[str], None] | None = None,
    **resilient: Any,
) -> Store:
    """The store for this process: in-memory without a URL, else Redis with an in-memory fallback.

    Raises ``ConfigError`` for a URL redis-py cannot use, so a typo fails at start-up, not per request.
    Connecting is lazy: an unreachable Redis at start-up only means starting degraded.
    """
    if not redis_url:
        return MemoryStore()
    scheme = urlsplit(redis_url).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError([f"CLOUDOPS_REDIS_URL must start with redis://, rediss:// or unix:// (got {scheme!r})"])
    try:
        primary = RedisStore(redis_url, timeout_s=timeout_s)
    except ValueError as exc:
        raise ConfigError([f"CLOUDOPS_REDIS_URL is not usable: {exc}"]) from None
    return ResilientStore(primary, MemoryStore(), on_degrade, name=primary.url, **resilient)
