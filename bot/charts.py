"""PNG charts of CloudWatch series for Slack threads.

Look: a solid light card (near-white plot on a light grey frame) with dark text. Slack
shows images as they are on both its light and dark themes, so a transparent chart would
need colours that contrast with white *and* near-black, which thin lines and small text
do not manage; an opaque light card reads the same everywhere and looks like a pasted
dashboard panel on the dark theme. Series use the Okabe-Ito colour-blind-safe palette
without its vermillion, so red means only one thing: the dashed alarm threshold.

Cost: importing matplotlib takes a noticeable fraction of a second and most requests never
draw, so it is imported on the first chart. Only ``Figure`` and the Agg canvas are used,
never pyplot, so no global backend or figure registry is touched. Matplotlib still does
not promise thread safety (shared text and font caches), so drawing is serialised by a
lock; one chart takes tens of milliseconds, so concurrent requests queue briefly.

Read-only root filesystem: matplotlib writes a font cache on import. When the cache
directory cannot be written and ``MPLCONFIGDIR`` is unset, it is pointed at a private
temporary directory for the import only (matplotlib resolves it once) and the environment
is restored afterwards.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

from bot.models import ChartSpec

__all__ = ["ChartsUnavailable", "Series", "render_chart", "render_series_png", "warm_up"]

_DPI = 100
_FRAME = "#EEF0F3"  # card around the plot
_PLOT = "#FFFFFF"
_TEXT = "#1D1C1D"  # Slack's own text colour
_MUTED = "#5E6166"
_GRID = "#D5D8DD"
_RED = "#D62728"
_MARKER = "#4B3F72"  # the vertical "breach" marker: dark, clearly not a series colour
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
_MAX_TITLE = 90
_LONE_POINT_PAD = timedelta(minutes=30)
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 84, 26, 34, 46  # px: y labels, edge, title, x labels
_ENG_ABOVE = 100_000  # larger values get SI prefixes (1.2 M) so tick labels fit the margin
_DRAW_LOCK = threading.Lock()
_IMPORT_LOCK = threading.Lock()


def _cache_dir_writable() -> bool:
    """Whether matplotlib's default cache directory (or the parent it would create) is writable."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    target = Path(base) / "matplotlib"
    while not target.exists() and target != target.parent:
        target = target.parent
    return os.access(target, os.W_OK)


class Series(Protocol):
    """What a line needs. ``bot.aws.records.MetricSeries`` has this shape; so does a ChartSpec's line
    once it carries the chart's unit. A protocol, not an import: this module sits beside bot.aws, not
    above it, so the Slack edge can draw the transport-free ``ChartSpec`` without reaching into AWS."""

    @property
    def label(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def timestamps(self) -> Sequence[datetime]: ...
    @property
    def values(self) -> Sequence[float]: ...


@dataclass(frozen=True)
class _Line:
    label: str
    unit: str
    timestamps: Sequence[datetime]
    values: Sequence[float]


class ChartsUnavailable(RuntimeError):
    """matplotlib is an optional extra; callers fall back to the text sparkline without it."""


@functools.cache
def _mpl() -> SimpleNamespace:
    """Import matplotlib once, on first use, with a writable config/cache directory."""
    with _IMPORT_LOCK:
        redirect = "MPLCONFIGDIR" not in os.environ and not _cache_dir_writable()
        if redirect:
            os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="cloudops-mpl-")
        try:
            # Imported here, not at module level: see the module docstring.
            import matplotlib
            from matplotlib import dates, ticker
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            from matplotlib.transforms import blended_transform_factory

            matplotlib.get_cachedir()  # resolved and remembered while the redirect is in place
            matplotlib.get_configdir()
        except ImportError as exc:  # optional: pip install 'smart-cloudops-ai[charts]'
            raise ChartsUnavailable("charts need matplotlib: install the 'charts' extra") from exc
        finally:
            if redirect:
                del os.environ["MPLCONFIGDIR"]
    return SimpleNamespace(Figure=Figure, Canvas=FigureCanvasAgg, dates=dates, ticker=ticker,
                           blended=blended_transform_factory)


def warm_up() -> bool:
    """Import matplotlib now rather than on the first chart (~0.6 s), for a process that will draw soon
    and would rather not make its first user wait (the demo). False without the ``charts`` extra."""
    try:
        _mpl()
    except ChartsUnavailable:
        return False
    return True


def _plain(text: str) -> str:
    """Matplotlib reads ``$…$`` as math; names like ``$LATEST`` must print literally."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def _utc(ts: datetime) -> datetime:
    """Naive timestamps are UTC (that is what CloudWatch returns); aware ones are converted."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def render_chart(spec: ChartSpec, *, width_px: int = 900, height_px: int = 360) -> bytes:
    """The PNG for a reply's ``ChartSpec``: every line in the spec's unit, threshold and marker as given."""
    lines = [_Line(s.label, spec.unit, s.timestamps, s.values) for s in spec.series]
    return render_series_png(lines, title=spec.title, threshold=spec.threshold, threshold_label=spec.threshold_label,
                             mark_at=spec.mark_at, width_px=width_px, height_px=height_px)


def render_series_png(
    series: Sequence[Series],
    *,
    title: str,
    threshold: float | None = None,
    threshold_label: str = "",
    mark_at: datetime | None = None,
    width_px: int = 900,
    height_px: int = 360,
) -> bytes:
    """Draw ``series`` on a UTC time axis and return the PNG, exactly ``width_px`` × ``height_px``.

    ``threshold`` draws the alarm line (dashed red, labelled ``threshold_label`` or its value);
    ``mark_at`` draws a vertical marker, e.g. when the alarm fired. With no datapoints at all
    the image says so instead of showing empty axes.
    """
    if width_px < 100 or height_px < 80:
        raise ValueError("chart must be at least 100x80 pixels")
    mpl = _mpl()
    with _DRAW_LOCK:
        # The small epsilon keeps int(inches * dpi) from rounding 359.99999 down to 359.
        fig = mpl.Figure(figsize=((width_px + 1e-3) / _DPI, (height_px + 1e-3) / _DPI), dpi=_DPI,
                         facecolor=_FRAME)
        mpl.Canvas(fig)
        ax = fig.add_subplot()
        _style(ax, title)
        drawn = [s for s in series if s.values]
        if drawn:
            _plot(mpl, ax, series, threshold, threshold_label, mark_at)
        else:
            _no_data(ax)
        # Fixed margins in pixels: tight_layout measured every label in an extra pass and doubled the cost.
        fig.subplots_adjust(left=_MARGIN_LEFT / width_px, right=1 - _MARGIN_RIGHT / width_px,
                            bottom=_MARGIN_BOTTOM / height_px, top=1 - _MARGIN_TOP / height_px)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=_DPI, facecolor=_FRAME, metadata={"Software": None})
    return out.getvalue()


def _style(ax: Any, title: str) -> None:
    ax.set_facecolor(_PLOT)
    short = title if len(title) <= _MAX_TITLE else title[: _MAX_TITLE - 1] + "…"
    ax.set_title(_plain(short), loc="left", color=_TEXT, fontsize=12, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(_MUTED)
    ax.tick_params(colors=_MUTED, labelcolor=_TEXT, labelsize=9)
    ax.grid(True, color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _no_data(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(0.5, 0.5, "no datapoints", transform=ax.transAxes, ha="center", va="center",
            color=_MUTED, fontsize=16)


def _plot(mpl: SimpleNamespace, ax: Any, series: Sequence[Series], threshold: float | None,
          threshold_label: str, mark_at: datetime | None) -> None:
    times: list[datetime] = []
    for i, s in enumerate(series):
        ts = [_utc(t) for t in s.timestamps[: len(s.values)]]
        times += ts
        label = _plain(s.label if s.values else f"{s.label} (no datapoints)")
        few = len(ts) <= 20  # a lone point is invisible as a line: mark each point when there are few
        ax.plot(ts, list(s.values[: len(ts)]), color=_PALETTE[i % len(_PALETTE)], linewidth=2.0,
                marker="o" if few else None, markersize=3.5, label=label)
    if threshold is not None:
        ax.axhline(threshold, color=_RED, linestyle=(0, (6, 4)), linewidth=1.8)
        ax.text(0.995, threshold, _plain(threshold_label or f"threshold {threshold:g}"), color=_RED,
                fontsize=9, fontweight="bold", ha="right", va="bottom",
                transform=mpl.blended(ax.transAxes, ax.transData),
                bbox={"facecolor": _PLOT, "edgecolor": "none", "alpha": 0.85, "pad": 1.5})
    if mark_at is not None:
        at = _utc(mark_at)
        ax.axvline(at, color=_MARKER, linestyle=":", linewidth=1.8)
        ax.text(at, 0.98, f" {at:%H:%M}", color=_MARKER, fontsize=9, ha="left", va="top",
                transform=mpl.blended(ax.transData, ax.transAxes))
    _time_axis(mpl, ax, times)
    _value_axis(mpl, ax, series)
    if len(series) > 1:
        legend = ax.legend(loc="best", fontsize=9, frameon=True, framealpha=0.9, labelcolor=_TEXT)
        legend.get_frame().set_edgecolor(_GRID)


def _time_axis(mpl: SimpleNamespace, ax: Any, times: list[datetime]) -> None:
    span_s = (max(times) - min(times)).total_seconds() if times else 0.0
    if times and span_s == 0:  # one timestamp: matplotlib would widen the axis to days of "00:00" ticks
        ax.set_xlim(times[0] - _LONE_POINT_PAD, times[0] + _LONE_POINT_PAD)
    fmt = "%H:%M" if span_s <= 86_400 else "%m-%d %H:%M"  # past a day, HH:MM alone is ambiguous
    ax.xaxis.set_major_locator(mpl.dates.AutoDateLocator(tz=UTC, minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(mpl.dates.DateFormatter(fmt, tz=UTC))
    ax.set_xlabel("UTC", color=_MUTED, fontsize=9)


def _value_axis(mpl: SimpleNamespace, ax: Any, series: Sequence[Series]) -> None:
    units = list(dict.fromkeys(s.unit for s in series if s.unit))
    if units:
        ax.set_ylabel(_plain(" / ".join(units)), color=_TEXT, fontsize=10)
    biggest = max((abs(v) for s in series for v in s.values if v == v), default=0.0)  # v == v: not NaN
    if units and all(u.lower().startswith("byte") for u in units):
        ax.yaxis.set_major_formatter(mpl.ticker.EngFormatter(unit="B"))  # 1.5 GB, not 1.5e9
    elif biggest >= _ENG_ABOVE:
        ax.yaxis.set_major_formatter(mpl.ticker.EngFormatter())
    else:
        formatter = mpl.ticker.ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        ax.yaxis.set_major_formatter(formatter)
