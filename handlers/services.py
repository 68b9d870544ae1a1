"""The services a handler may use, built once at start-up and passed down (no globals, no os.environ)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.text.redact import Redactor
from bot.text.sanitize import clean_text

from bot.aws.parallel import Parallel
from bot.aws.session import AwsClients
from bot.config import Settings
from bot.llm.client import LlmClient
from bot.metrics import Metrics
from prompts import PromptLibrary


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    aws: AwsClients
    parallel: Parallel
    llm: LlmClient | None
    prompts: PromptLibrary
    metrics: Metrics
    redactor: Redactor
    clock: Callable[[], datetime] = field(default=_now)
    tool_pool: ThreadPoolExecutor | None = None

    def scrub(self, text: str) -> str:
        """Untrusted text → safe to send: control/zero-width chars stripped, secrets redacted (and counted)."""
        return self.redactor.redact(clean_text(text)).text

    @classmethod
    def build(cls, settings: Settings, metrics: Metrics) -> Services:
        """Wire real clients from settings; the model client exists only when a key is configured."""
        redactor = Redactor(on_redact=metrics.count_redaction)
        metrics.init_redaction_kinds(redactor.kinds)
        return cls(
            settings=settings,
            aws=AwsClients(settings, metrics),
            parallel=Parallel(settings.aws_parallelism),
            llm=LlmClient(settings, metrics) if settings.model_enabled else None,
            prompts=PromptLibrary(),
            metrics=metrics,
            redactor=redactor,
            tool_pool=ThreadPoolExecutor(max_workers=settings.aws_parallelism, thread_name_prefix="tool"),
        )

    def close(self) -> None:
        self.parallel.shutdown()
        if self.tool_pool is not None:
            self.tool_pool.shutdown(wait=False, cancel_futures=True)
