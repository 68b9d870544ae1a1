"""Which ids an answer names that the evidence never showed: invented instance ids, log groups, ARNs and
`backticked` resource names. A model that makes up ``i-0abc…`` is the worst kind of wrong for on-call."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PATTERNS = (
    re.compile(r"\b(?:i|vol|sg|subnet|eni|ami|vpc|snap)-[0-9a-f]{8,17}\b"),
    re.compile(r"\barn:aws[\w-]*:[\w-]+:[\w-]*:\d{0,12}:[\w/:.+=@-]+"),
    re.compile(r"(?<![\w/.:])/(?:aws|ecs|eks|var|app|lambda)/[\w.#/\[\]$-]+"),
)
_BACKTICKED = re.compile(r"`([^`\s]{3,120})`")
_RESOURCE_LIKE = re.compile(r"^[A-Za-z0-9][\w.:/-]*[-/][\w.:/-]*$")
_COMMAND = re.compile(r"^/?cloudops\b|^[a-z]+:[A-Z]\w+$")  # a command or an IAM action is no resource id


def cited_ids(answer: str) -> list[str]:
    found = [m.group(0).rstrip(".,;:)") for p in _PATTERNS for m in p.finditer(answer)]
    found += [t for t in _BACKTICKED.findall(answer) if _RESOURCE_LIKE.match(t) and not _COMMAND.match(t)]
    return list(dict.fromkeys(found))


def invented_ids(answer: str, known: Iterable[str], seen_text: str) -> list[str]:
    """Ids in ``answer`` that are neither ``known`` resources nor anywhere in the evidence text it saw."""
    names = set(known)
    return [i for i in cited_ids(answer) if i not in names and i not in seen_text]
