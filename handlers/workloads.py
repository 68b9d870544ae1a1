"""`lambda <function> [window]` and `db <instance> [window]`: a function's or a database's state, metrics
and what it said recently, each read in one parallel round wherever in scope the resource lives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.aws import lambdas, rds
from bot.aws.accounts import Target
from bot.aws.service_metrics import LAMBDA_METRICS, RDS_METRICS, resource_series
from bot.errors import CloudOpsError, NotFoundError, UserInputError
from bot.models import Reply, Request, Section
from bot.progress import report
from handlers.formatting import stamp
from handlers.logs import gather_logs, newest_errors, scrubbed_events
from handlers.metrics import describe
from handlers.parsing import format_window, split_window
from handlers.scope import Scope, fleet_targets, gather, labelled, split_scope
from handlers.services import Services
from handlers.summarize import finish

ERROR_LINES = 5
T = TypeVar("T")


@dataclass
class Workload:
    """What was read about one function or database: (title, text) pairs, all scrubbed, and notes."""

    target: Target
    name: str
    headline: str
    parts: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n\n".join(f"{t}:\n{x}" for t, x in [("Summary", self.headline), *self.parts])


def _find(scope: Scope, services: Services, read: Callable[[Services], T]) -> tuple[Target, T]:
    """Where in scope the resource lives (the first account/region that has it)."""
    found, _ = gather(fleet_targets(scope, services), services, read, lookup=True)
    target = sorted(found)[0]
    return target, found[target]


def read_function(name: str, window: int, scope: Scope, services: Services) -> Workload:
    """The gatherer of `lambda` and the model's `describe_lambda`."""
    report(f"Reading Lambda function {name}…")
    target, config = _find(scope, services, lambda svc: lambdas.function_config(svc.aws, name))
    svc = services.at(target)
    got = svc.parallel.run({
        "metrics": lambda: resource_series(svc.aws, "AWS/Lambda", {"FunctionName": config.name}, LAMBDA_METRICS,
                                           window, now=svc.clock()),
        "logs": lambda: gather_logs(svc, f"/aws/lambda/{config.name}", [], window),
    })
    head = (f"{config.name}: {config.runtime}, {config.memory_mb} MB, timeout {config.timeout_s}s, "
            f"state {config.state or '?'}, last update {config.last_update or '?'}, "
            f"last modified {config.last_modified}")
    out = Workload(target, config.name, svc.scrub(head))
    _metrics(out, got["metrics"], window)
    logs = got["logs"]
    if isinstance(logs, NotFoundError):
        out.notes.append(f"No log group /aws/lambda/{config.name} yet (the function has not logged).")
    elif isinstance(logs, CloudOpsError):
        out.notes.append(f"Could not read its logs: {logs.message}.")
    elif isinstance(logs, Exception):
        raise logs
    else:
        errors = newest_errors(scrubbed_events(svc, logs), ERROR_LINES)
        out.parts.append((f"Newest error lines ({len(errors)})", "\n".join(e.message for e in errors) or "none"))
    return out


def read_db(identifier: str, window: int, scope: Scope, services: Services) -> Workload:
    """The gatherer of `db` and the model's `describe_db`."""
    report(f"Reading DB instance {identifier}…")
    target, db = _find(scope, services, lambda svc: rds.db_instance(svc.aws, identifier))
    svc = services.at(target)
    got = svc.parallel.run({
        "metrics": lambda: resource_series(svc.aws, "AWS/RDS", {"DBInstanceIdentifier": db.identifier}, RDS_METRICS,
                                           window, now=svc.clock()),
        "events": lambda: rds.db_events(svc.aws, db.identifier, window),
    })
    head = (f"{db.identifier}: {db.status}, {db.engine}, {db.instance_class}, {db.storage_gb} GB"
            + (", Multi-AZ" if db.multi_az else "") + (f", endpoint {db.endpoint}" if db.endpoint else ""))
    out = Workload(target, db.identifier, svc.scrub(head))
    _metrics(out, got["metrics"], window)
    events = got["events"]
    if isinstance(events, CloudOpsError):
        out.notes.append(f"Could not read its events: {events.message}.")
    elif isinstance(events, Exception):
        raise events
    else:
        out.parts.append((f"RDS events, last {format_window(window)} ({len(events)})",
                          svc.scrub("\n".join(f"{stamp(w)} {m}" for w, m in events) or "none")))
    return out


def _metrics(out: Workload, series: object, window: int) -> None:
    if isinstance(series, CloudOpsError):
        out.notes.append(f"Could not read its metrics: {series.message}.")
    elif isinstance(series, Exception):
        raise series
    else:
        out.parts.insert(0, (f"Metrics, last {format_window(window)}",
                             "\n".join(describe(s) for s in series)))  # type: ignore[attr-defined]


def _reply(kind: str, got: Workload, request: Request, services: Services, window: int, prompt: str) -> Reply:
    where = f" — {got.target.label}" if labelled(services, [got.target]) else ""
    sections = (Section(title=kind, text=got.headline, code=True),
                *(Section(title=t, text=x, code=True) for t, x in got.parts))
    return finish(services.at(got.target), request, title=f"{kind} {got.name}{where}", sections=sections,
                  evidence=got.text(), fallback=got.headline, prompt=prompt,
                  values={"resource": got.name, "window": format_window(window)}, notes=tuple(got.notes))


def _one_name(args: list[str], what: str, example: str) -> str:
    if len(args) != 1:
        raise UserInputError(f"which {what}?" if not args else f"{' '.join(args)!r} is more than one {what}",
                             f"e.g. `/cloudops {example}`")
    return args[0]


def handle_lambda(request: Request, args: list[str], services: Services) -> Reply:
    args, scope = split_scope(args, request, services)
    args, window = split_window(args, services.settings)
    name = _one_name(args, "function", "lambda checkout 1h")
    return _reply("Lambda function", read_function(name, window, scope, services), request, services, window,
                  "workload")


def handle_db(request: Request, args: list[str], services: Services) -> Reply:
    args, scope = split_scope(args, request, services)
    args, window = split_window(args, services.settings)
    name = _one_name(args, "DB instance", "db orders-db 3h")
    return _reply("DB instance", read_db(name, window, scope, services), request, services, window, "workload")
