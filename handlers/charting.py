"""What to chart: the series a metrics answer or an alarm's evidence pack already fetched, as ChartSpecs.

Handlers describe the chart (data, threshold, breach time) in the transport-free vocabulary of
``bot.models``; only the Slack edge turns it into pixels, so the sidecar and the CLI pay nothing for it.
A chart with no datapoints at all is left out: the text already says "no datapoints".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.aws.records import Alarm, MetricSeries
from bot.models import ChartSeries, ChartSpec
from handlers.alarms import condition


def series_chart(title: str, series: Sequence[MetricSeries]) -> tuple[ChartSpec, ...]:
    """One chart with every series of one metric kind (they share a unit: CPU %, bytes, counts)."""
    if not any(s.values for s in series):
        return ()
    units = list(dict.fromkeys(s.unit for s in series if s.unit))
    lines = tuple(ChartSeries(s.label, s.timestamps, s.values) for s in series)
    return (ChartSpec(title=title, series=lines, unit=" / ".join(units)),)


def alarm_chart(alarm: Alarm, series: MetricSeries, scrub: Callable[[str], str]) -> tuple[ChartSpec, ...]:
    """The alarm's metric around the breach, its threshold as the red line and the breach time marked."""
    if not series.values:
        return ()
    label = condition(alarm).strip()
    spec = ChartSpec(title=scrub(f"{alarm.name} — {alarm.metric}"), unit=series.unit,
                     series=(ChartSeries(series.label, series.timestamps, series.values),),
                     threshold=alarm.threshold, threshold_label=scrub(label), mark_at=alarm.updated)
    return (spec,)
