"""Typed records the AWS gatherers return, so handlers never touch botocore dictionaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Instance:
    instance_id: str
    name: str
    state: str
    instance_type: str
    az: str
    launch_time: datetime | None
    private_ip: str = ""
    tags: dict[str, str] = field(default_factory=dict, compare=False)
    state_reason: str = ""


@dataclass(frozen=True)
class InstanceHealth:
    instance_id: str
    instance_status: str  # ok | impaired | initializing | insufficient-data | not-applicable
    system_status: str
    events: tuple[str, ...] = ()  # scheduled events, e.g. "system-reboot at 2026-11-26 03:00"


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    message: str
    stream: str


@dataclass(frozen=True)
class LogQueryResult:
    group: str
    events: tuple[LogEvent, ...]
    capped: bool  # stopped at the configured cap; older events of the window were not read
    pages: int
    window_start_ms: int = 0
    window_end_ms: int = 0
    read_from_ms: int = 0  # the oldest instant read: the events cover [read_from_ms, window_end_ms]
    skipped_at_least: int = 0  # events seen before the first instant read or scanned, left out (a lower bound)
    scanned_from_ms: int = 0  # before read_from_ms, events back to here were scanned for what matters
    scanned_events: int = 0  # events read in that scan
    scanned_kept: int = 0  # of which kept (errors, warnings, notable lines); they are in ``events`` too

    @property
    def complete(self) -> bool:
        """Every event of the window was read."""
        return not self.capped


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str
    reason: str
    updated: datetime | None
    metric: str  # "AWS/EC2 CPUUtilization"
    dimensions: dict[str, str]
    threshold: float | None
    comparison: str
    statistic: str
    period_s: int
    namespace: str = ""
    metric_name: str = ""
    arn: str = ""


@dataclass(frozen=True)
class MetricSeries:
    label: str
    unit: str
    timestamps: tuple[datetime, ...]  # oldest first
    values: tuple[float, ...]

    @property
    def empty(self) -> bool:
        return not self.values
