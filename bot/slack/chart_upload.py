"""Charts under an answer: each ChartSpec of a Reply is drawn to a PNG and uploaded into its thread.

After the answer, never before it or instead of it: the answer's text already carries the numbers and
a sparkline, so a chart that cannot be drawn (matplotlib is the optional ``charts`` extra; or a drawing
bug) or uploaded costs one line in the thread saying so — never the answer, never a traceback in Slack.
Drawing runs on the request's worker thread (tens of ms; the first chart of a process also imports
matplotlib); ``bot.charts`` serialises matplotlib itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import structlog

from bot.charts import ChartsUnavailable, render_chart
from bot.models import ChartSpec
from bot.slack.poster import Poster, PostError

log = structlog.get_logger("cloudops.slack")
UNAVAILABLE = ":bar_chart: Chart unavailable: {why}. The numbers above are complete."
NO_MATPLOTLIB = "this install has no matplotlib (the `charts` extra)"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def post_charts(poster: Poster, channel: str, thread_ts: str, charts: Sequence[ChartSpec]) -> int:
    """Upload each chart into the thread; on any failure post one line saying why. Returns charts posted."""
    posted, why = 0, ""
    for spec in charts:
        start = time.perf_counter()
        try:
            png = render_chart(spec)
        except ChartsUnavailable:
            why = NO_MATPLOTLIB
            break  # the same for every chart of this reply
        except Exception:  # a chart must never cost the answer; the traceback goes to our log only
            log.exception("chart_render_failed", title=spec.title, points=spec.points)
            why = why or "it could not be drawn"
            continue
        render_ms = round((time.perf_counter() - start) * 1000)
        try:
            poster.upload(channel, thread_ts, filename=filename(spec), title=spec.title, content=png,
                          alt_txt=alt_text(spec))
        except PostError as exc:
            log.warning("chart_upload_failed", title=spec.title, error=str(exc))
            why = why or "Slack did not accept the image upload"
            continue
        posted += 1
        log.info("chart_posted", title=spec.title, points=spec.points, png_bytes=len(png), render_ms=render_ms)
    if why:
        try:
            poster.post_text(channel, UNAVAILABLE.format(why=why), thread_ts)
        except PostError as exc:
            log.error("chart_note_failed", channel=channel, error=str(exc))
    return posted


def filename(spec: ChartSpec) -> str:
    """A readable, filesystem-safe name: ``cpu-api-1-i-0abc-last-1h.png``."""
    slug = _SLUG.sub("-", spec.title).strip("-.").lower()[:80]
    return f"{slug or 'chart'}.png"


def alt_text(spec: ChartSpec) -> str:
    """What a screen reader says instead of the picture: each line's range and last value, the threshold."""
    unit = f" {spec.unit}" if spec.unit else ""
    parts = [f"Line chart: {spec.title}."]
    for s in spec.series:
        if s.values:
            parts.append(f"{s.label}: {len(s.values)} points from {min(s.values):.4g} to {max(s.values):.4g}{unit}, "
                         f"last {s.values[-1]:.4g}.")
    if spec.threshold is not None:
        parts.append(f"Threshold {spec.threshold_label or f'{spec.threshold:g}'}{unit}.")
    return " ".join(parts)
