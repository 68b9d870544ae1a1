"""Typed errors with the words a user sees.

Every error a user can cause or an upstream can raise carries a one-line explanation and a hint; the
single error boundary (``handlers.dispatch``) turns them into a threaded reply. Anything else is a
bug and gets a correlation id instead of a traceback.
"""

from __future__ import annotations


class CloudOpsError(Exception):
    """Base for errors that become a polite reply. ``kind`` is a bounded metrics label."""

    kind = "error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UserInputError(CloudOpsError):
    """Bad subcommand, bad argument, text over the limit."""

    kind = "bad_input"


class NotFoundError(CloudOpsError):
    """Unknown instance, log group, alias."""

    kind = "not_found"


class NotAllowedError(CloudOpsError):
    """Access control said no."""

    kind = "denied"


class RateLimitedError(CloudOpsError):
    """A per-user/channel bucket or the global queue is full."""

    kind = "rate_limited"


class ConfigError(CloudOpsError):
    """Invalid or missing configuration; raised at start-up with one line per problem."""

    kind = "config"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems), "run `cloudops-bot check-config` to see every setting")
        self.problems = problems


class UpstreamError(CloudOpsError):
    """AWS or the model failed after retries. ``service`` says which, for the message and metrics."""

    kind = "upstream"

    def __init__(self, service: str, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.service = service


class AwsAccessDenied(UpstreamError):
    """The bot's IAM identity lacks a read permission."""

    kind = "aws_denied"


class DryRunPassed(CloudOpsError):
    """AWS's answer to a ``DryRun`` call that would have succeeded (``DryRunOperation``): not a failure."""

    kind = "ok"


class AwsThrottled(UpstreamError):
    """AWS kept throttling after botocore's retries."""

    kind = "aws_throttled"


class ModelError(UpstreamError):
    """The model endpoint failed, timed out or answered nonsense."""

    kind = "model"
