"""From what the text names to the resources it means: the inventory round, then name, tag, alias and
alarm-dimension matching (an ALB alarm on ``app/api-prod-alb/…`` implies ``/ecs/api-prod``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.aws import cloudwatch, ec2
from bot.aws import logs as cwlogs
from bot.aws.records import Alarm, Instance, InstanceHealth
from handlers.alarm_map import log_groups_for
from handlers.services import Services
from handlers.status import problems
from handlers.triage.mentions import Mentions

_SPLIT = re.compile(r"[/_.\-\[\]$:\s]+")
_GENERIC = frozenset({"aws", "lambda", "ecs", "prod", "production", "staging", "stage", "dev", "log", "logs", "var",
                      "app", "net", "service", "svc", "high", "low", "alarm", "latest", "cluster"})
_LB_SUFFIX = re.compile(r"-(?:alb|nlb|elb|lb|tg)$")
_NUMBERED = re.compile(r"-\d+$")
LIST_GROUPS_CAP = 50  # bot.aws.logs.list_groups' default page


@dataclass
class Inventory:
    """One account/region's listing calls, read at once: what exists, so mentions can be matched."""

    alarms: list[Alarm] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    health: dict[str, InstanceHealth] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


def read_inventory(services: Services) -> Inventory:
    got = services.parallel.run({
        "alarms": lambda: cloudwatch.describe_alarms(services.aws, "ALARM"),
        "instances": lambda: ec2.describe_instances(services.aws),
        "health": lambda: ec2.instance_health(services.aws),
        "groups": lambda: cwlogs.list_groups(services.aws),
    })
    inv = Inventory()
    for key, value in got.items():
        if isinstance(value, Exception):
            inv.unread.append({"alarms": "alarms", "instances": "EC2 instances", "health": "EC2 status checks",
                               "groups": "log group names"}[key])
        else:
            setattr(inv, key, value)
    return inv


@dataclass(frozen=True)
class Resolved:
    groups: tuple[str, ...]
    instances: tuple[tuple[Instance, InstanceHealth | None], ...]
    alarms: tuple[Alarm, ...]
    dimensions: dict[str, tuple[str, ...]]


def resolve(m: Mentions, inv: Inventory, services: Services) -> Resolved:
    """The resources ``m`` names or implies, most specific first, capped by the triage settings."""
    s = services.settings
    words = set(m.words)
    instances = [i for i in inv.instances if i.instance_id in m.instance_ids or _names_instance(i, words)]
    alarms = [a for a in inv.alarms if _related_alarm(a, words, m.http_codes, instances)]
    named = bool(m.instance_ids or m.groups or instances or alarms)
    if not alarms and not named:
        alarms = list(inv.alarms)  # nothing named: whatever is firing is the lead
    by_id = {i.instance_id: i for i in inv.instances}
    for a in alarms:
        iid = a.dimensions.get("InstanceId")
        if iid in by_id and by_id[iid] not in instances:
            instances.append(by_id[iid])
    if not instances and not named:
        instances = [i for i in inv.instances if problems(i, inv.health.get(i.instance_id))]
    aliased = set(s.log_aliases.values())
    capped = len(inv.groups) >= LIST_GROUPS_CAP or not inv.groups  # the listing may not show every group
    groups = [g for g in m.groups if g in inv.groups or g in aliased or capped]  # "/api/cart" is a path, not a group
    groups += [g for g in inv.groups if words & _parts(g)]
    for a in alarms:
        implied = log_groups_for(a, services)
        groups += [g for g in implied if g in inv.groups or not inv.groups]
        for value in a.dimensions.values():
            stem = _stem(value)
            groups += [g for g in inv.groups if len(stem) >= 3 and stem in g.lower()]
    for inst in instances:
        stem = _NUMBERED.sub("", inst.name.lower())
        groups += [g for g in inv.groups if stem and stem in _parts(g)]
    dims: dict[str, list[str]] = {}
    for a in alarms:
        for k, v in a.dimensions.items():
            dims.setdefault(k, []).append(v)
    pairs = tuple((i, inv.health.get(i.instance_id)) for i in instances[: s.triage_max_instances])
    return Resolved(tuple(dict.fromkeys(groups))[: s.triage_max_groups], pairs,
                    tuple(alarms[: s.triage_max_alarms]), {k: tuple(dict.fromkeys(v)) for k, v in dims.items()})


def _parts(name: str) -> set[str]:
    return {p for p in _SPLIT.split(name.lower()) if p and p not in _GENERIC}


def _stem(value: str) -> str:
    """``app/api-prod-alb/50dc…`` → ``api-prod``; ``orders-events`` → ``orders-events``."""
    parts = value.split("/")
    name = parts[1] if len(parts) >= 3 and parts[0] in {"app", "net"} else parts[-1]
    return _LB_SUFFIX.sub("", name.lower())


def _names_instance(inst: Instance, words: set[str]) -> bool:
    if inst.name and (inst.name.lower() in words or _NUMBERED.sub("", inst.name.lower()) in words):
        return True
    tags = {k: v.lower() for k, v in inst.tags.items() if k not in {"Name", "env"} and ":" not in k}
    return bool(words & set(tags.values()))


def _related_alarm(a: Alarm, words: set[str], codes: tuple[str, ...], instances: list[Instance]) -> bool:
    dims = {p for v in a.dimensions.values() for p in _parts(_stem(v))}
    if a.name.lower() in words or words & _parts(a.name) or words & dims:
        return True
    if a.dimensions.get("InstanceId") in {i.instance_id for i in instances}:
        return True
    metric = f"{a.metric_name} {a.name}".lower()
    return any(c[0] + "xx" in metric or c in metric for c in codes)


