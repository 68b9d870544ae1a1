"""The services a handler may use, built once at start-up and passed down (no globals, no os.environ)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.aws.accounts import AwsAccounts, Target
from bot.aws.parallel import Parallel
from bot.aws.records import LogEvent
from bot.aws.session import AwsClients
from bot.config import Settings
from bot.llm.client import LlmClient, ModelClient
from bot.metrics import Metrics
from bot.store import MemoryStore, Store
from bot.text.redact import Redactor
from bot.text.redact_events import redact_events
from bot.text.sanitize import clean_text
from handlers.budget import TokenBudget
from prompts import PromptLibrary


def _now() -> datetime:
    return datetime.now(UTC)


def _shared_store(settings: Settings, metrics: Metrics) -> Store:
    """In-memory without CLOUDOPS_REDIS_URL; redis-py (~20 MB resident) is imported only when one is set."""
    if not settings.redis_url:
        return MemoryStore()
    from bot.store_redis import make_store

    return make_store(settings.redis_url, timeout_s=settings.redis_timeout_s,
                      on_degrade=lambda _reason: metrics.store_degraded.set(1),
                      on_recover=lambda: metrics.store_degraded.set(0))


@dataclass
class Services:
    settings: Settings
    aws: AwsClients
    parallel: Parallel
    llm: ModelClient | None
    prompts: PromptLibrary
    metrics: Metrics
    redactor: Redactor
    store: Store = field(default_factory=MemoryStore)
    budget: TokenBudget | None = None
    clock: Callable[[], datetime] = field(default=_now)
    tool_pool: ThreadPoolExecutor | None = None
    accounts: AwsAccounts | None = None  # every account/region; ``aws`` is the default target's clients

    def at(self, target: Target) -> Services:
        """The same services, with ``aws`` pointing at ``target``: single-target handlers run unchanged."""
        if self.accounts is None or target == Target(self.aws.account, self.aws.region):
            return self
        return replace(self, aws=self.accounts.clients(target))

    def scrub(self, text: str) -> str:
        """Untrusted text → safe to send: control/zero-width chars stripped, secrets redacted (and counted)."""
        return self.redactor.redact(clean_text(text)).text

    def scrub_events(self, events: Sequence[LogEvent]) -> list[LogEvent]:
        """Log events → safe to send: messages scrubbed as the event stream they are (a key logged one
        line per event, a token split over two events), stream names scrubbed too."""
        streams = [e.stream for e in events]
        messages = redact_events(self.redactor, [clean_text(e.message) for e in events], streams)
        names = {stream: self.scrub(stream) for stream in dict.fromkeys(streams)}
        return [LogEvent(e.timestamp_ms, m, names[e.stream]) for e, m in zip(events, messages, strict=True)]

    def model_block_reason(self, user: str) -> str | None:
        """Why the model may not be used for this user now (None = it may)."""
        return self.budget.spent_reason(user, self.clock()) if self.budget is not None else None

    @classmethod
    def build(cls, settings: Settings, metrics: Metrics, store: Store | None = None) -> Services:
        """Wire real clients from settings; the model client exists only when a key is configured."""
        redactor = Redactor(on_redact=metrics.count_redaction)
        metrics.init_redaction_kinds(redactor.kinds)
        store = store or _shared_store(settings, metrics)
        llm: ModelClient | None = None
        if settings.model_enabled and settings.llm_provider == "bedrock":
            from bot.llm.bedrock import BedrockClient

            llm = BedrockClient(settings, metrics, model_id=settings.bedrock_model_id)
        elif settings.model_enabled:
            llm = LlmClient(settings, metrics)
        accounts = AwsAccounts(settings, metrics)
        return cls(
            accounts=accounts,
            store=store,
            budget=TokenBudget(store, settings, metrics),
            settings=settings,
            aws=accounts.clients(accounts.default_target()),
            parallel=Parallel(settings.aws_parallelism),
            llm=llm,
            prompts=PromptLibrary(),
            metrics=metrics,
            redactor=redactor,
            tool_pool=ThreadPoolExecutor(max_workers=settings.aws_parallelism, thread_name_prefix="tool"),
        )

    def close(self) -> None:
        self.parallel.shutdown()
        if self.accounts is not None:
            self.accounts.shutdown()
        if self.tool_pool is not None:
            self.tool_pool.shutdown(wait=False, cancel_futures=True)
