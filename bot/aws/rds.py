"""RDS gatherers: one DB instance's status and its recent events (reboots, failovers, storage, backups)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.aws.session import AwsClients
from bot.errors import NotFoundError, UserInputError

DB_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
EVENTS = 10


@dataclass(frozen=True)
class DbInstance:
    identifier: str
    engine: str
    instance_class: str
    status: str
    multi_az: bool
    storage_gb: int
    endpoint: str


def db_instance(aws: AwsClients, identifier: str) -> DbInstance:
    if not DB_ID.match(identifier):
        raise UserInputError(f"{identifier[:60]!r} is not a DB instance identifier", "e.g. `/cloudops db orders-db`")
    try:
        page = aws.call("rds", "DescribeDBInstances", DBInstanceIdentifier=identifier)
    except NotFoundError:
        page = {}
    found = page.get("DBInstances", [])
    if not found:
        raise NotFoundError(f"no DB instance named {identifier!r} in {aws.region}", "check the identifier")
    raw = found[0]
    endpoint = raw.get("Endpoint") or {}
    return DbInstance(identifier=raw["DBInstanceIdentifier"], engine=f"{raw.get('Engine', '')} "
                      f"{raw.get('EngineVersion', '')}".strip(), instance_class=raw.get("DBInstanceClass", ""),
                      status=raw.get("DBInstanceStatus", ""), multi_az=bool(raw.get("MultiAZ")),
                      storage_gb=raw.get("AllocatedStorage", 0),
                      endpoint=f"{endpoint.get('Address', '')}:{endpoint.get('Port', '')}" if endpoint else "")


def db_events(aws: AwsClients, identifier: str, window_s: int) -> list[tuple[datetime | None, str]]:
    """Newest first: what RDS itself says happened (reboot, failover, low storage) in the window."""
    page = aws.call("rds", "DescribeEvents", SourceIdentifier=identifier, SourceType="db-instance",
                    Duration=max(1, window_s // 60), MaxRecords=100)
    events = [(e.get("Date"), str(e.get("Message", ""))) for e in page.get("Events", [])]
    events.sort(key=lambda e: e[0].timestamp() if e[0] else 0.0, reverse=True)
    return events[:EVENTS]
