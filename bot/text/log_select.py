"""Choose which templates fill a view of at most N groups and B tokens.

The order encodes what an on-call engineer needs first: every error-bearing template,
then warnings, then the bulk alternating between the most frequent (what the system is
mostly doing) and the rarest (what is new or odd). Groups are taken first-fit so one
long example cannot starve the rest; when every template already fits, the spare room
splits templates that drain3 merged too eagerly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.text.log_lines import ERROR, NORMAL
from bot.text.log_mining import WILDCARD, Cluster

__all__ = ["choose", "priority_order"]

NOTABLE_MAX_SHARE, NOTABLE_MIN_COUNT = 0.01, 5
_MIN_LINE_TOKENS = 4  # "\n×1 x": no group line costs less, so stop looking below it


def _interleave(clusters: list[Cluster]) -> list[Cluster]:
    """Most frequent, rarest, second most frequent, second rarest, ...

    Ties go to the earlier first line, so the same input always gives the same order.
    """
    ranked = sorted(clusters, key=lambda c: (-c.count, c.first.first_line))
    rare = sorted(clusters, key=lambda c: (c.count, c.first.first_line))
    out: list[Cluster] = []
    seen: set[int] = set()
    for frequent, rarest in zip(ranked, rare, strict=True):
        for cluster in (frequent, rarest):
            if id(cluster) not in seen:
                seen.add(id(cluster))
                out.append(cluster)
        if len(out) == len(ranked):
            break
    return out


def priority_order(clusters: Sequence[Cluster]) -> list[Cluster]:
    """Errors, then warnings, then rare notable lines (a deploy, a config change), then the rest;
    each tier interleaved frequent/rare.

    A notable line earns its tier only while rare (at most NOTABLE_MAX_SHARE of the lines, or a
    handful): a deploy announced once says what changed; a "restarting" every second is the bulk.
    """
    total = sum(cluster.count for cluster in clusters)
    rare = max(NOTABLE_MIN_COUNT, int(total * NOTABLE_MAX_SHARE))
    tiers: dict[int, list[Cluster]] = {}
    for cluster in clusters:
        tier = 2 * cluster.severity + (1 if cluster.severity == NORMAL and cluster.count <= rare
                                       and cluster.notable else 0)
        tiers.setdefault(tier, []).append(cluster)
    return [c for tier in sorted(tiers, reverse=True) for c in _interleave(tiers[tier])]


def _merge(template: str, severity: int, parts: Sequence[Cluster]) -> Cluster:
    keys = sorted((key for part in parts for key in part.keys), key=lambda key: key.first_line)
    return Cluster(template, severity, keys)


def _near_duplicate(template: list[str], others: list[list[str]] | None) -> bool:
    """Same length and at most one token in eight differs: most likely one template
    that drain3 split on a variable word (a month name, a unit), so showing it adds
    little while something else goes unshown."""
    if len(template) < 4:
        return False
    allowed = max(1, len(template) // 8)
    return any(sum(a != b for a, b in zip(template, other, strict=True)) <= allowed for other in others or ())


def _variable_like(coarse: Cluster, parts: list[Cluster]) -> bool:
    """Whether the words that tell the parts apart look like values (a=b, x.y, /p).

    Parts told apart by plain words (LEADING/FOLLOWING, admin/root) are more often
    distinct messages than parts told apart by key=value or path tokens.
    """
    coarse_tokens = coarse.template.split()
    for part in parts:
        for general, word in zip(coarse_tokens, part.template.split(), strict=False):
            if general == WILDCARD and word != WILDCARD and not word.isalpha():
                return True
    return False


def choose(
    clusters: Sequence[Cluster],
    *,
    max_groups: int,
    budget: int,
    cost: Callable[[Cluster], int],
    split: Callable[[Cluster], list[Cluster]],
    short_chars: int = 160,
    max_parts: int = 8,
) -> list[Cluster]:
    """Return the clusters to show, in priority order; `budget` excludes the header.

    `cost` is the token cost of a cluster's rendered line (newline included), `split`
    its finer sub-templates; a group that does not fit is tried once more with its
    example cut to `short_chars`. The result's counts still add up: a partly split
    template keeps one group, under its coarse template, for the parts not shown.
    """
    chosen: list[Cluster] = []
    used = 0

    def take(cluster: Cluster) -> bool:
        """Add the cluster if it fits, with a shorter example if that is what it takes."""
        nonlocal used
        for candidate in (cluster, Cluster(cluster.template, cluster.severity, cluster.keys, short_chars)):
            line_cost = cost(candidate)
            if used + line_cost <= budget:
                chosen.append(candidate)
                used += line_cost
                return True
        return False

    shown_templates: dict[tuple[int, int], list[list[str]]] = {}
    deferred: list[Cluster] = []
    for cluster in priority_order(clusters):
        if len(chosen) >= max_groups or budget - used < _MIN_LINE_TOKENS:
            break
        tokens = cluster.template.split()
        if cluster.severity != ERROR and _near_duplicate(tokens, shown_templates.get((cluster.severity, len(tokens)))):
            deferred.append(cluster)
        elif take(cluster):
            shown_templates.setdefault((cluster.severity, len(tokens)), []).append(tokens)
    for cluster in deferred:
        if len(chosen) >= max_groups:
            break
        take(cluster)
    if len(chosen) < len(clusters) or len(chosen) >= max_groups:
        return chosen
    # Every template fits with room to spare: split the ones that look like merges,
    # those with few parts first (a user-name variable splits into many).
    splits = [(cluster, split(cluster)) for cluster in chosen]
    splits = [(c, parts) for c, parts in splits if 1 < len(parts) <= max_parts]
    splits.sort(key=lambda item: (_variable_like(*item), len(item[1]), -item[0].count))
    for cluster, parts in splits:
        room = max_groups - len(chosen)
        if room <= 0:
            break
        ordered = priority_order(parts)
        shown_count = len(parts) if room >= len(parts) - 1 else room
        while shown_count > 0:
            shown = ordered[:shown_count]
            rest = ordered[shown_count:]
            new = shown + ([_merge(cluster.template, cluster.severity, rest)] if rest else [])
            delta = sum(cost(c) for c in new) - cost(cluster)
            if used + delta <= budget:
                at = next(i for i, c in enumerate(chosen) if c is cluster)
                chosen[at : at + 1] = new
                used += delta
                break
            shown_count -= 1
    return chosen
