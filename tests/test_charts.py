"""Charts posted to Slack: real PNGs of the asked size, a visible red threshold, safe with threads."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.aws.records import MetricSeries
from bot.charts import render_chart, render_series_png
from bot.models import ChartSeries, ChartSpec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def cpu(n: int = 36, *, label: str = "CPUUtilization (average)", phase: float = 0.0) -> MetricSeries:
    ts = tuple(START + timedelta(minutes=5 * i) for i in range(n))
    return MetricSeries(label, "%", ts, tuple(50 + 30 * math.sin(i / 5 + phase) for i in range(n)))


def decode(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def count(image: Image.Image, near: tuple[int, int, int], tolerance: int = 40) -> int:
    """Pixels within ``tolerance`` (per channel) of the colour ``near``."""
    pixels = np.asarray(image, dtype=np.int16)
    return int(np.all(np.abs(pixels - np.array(near, dtype=np.int16)) <= tolerance, axis=-1).sum())


def reddish(image: Image.Image) -> int:
    r, g, b = np.moveaxis(np.asarray(image, dtype=np.int16), -1, 0)
    return int(((r > 170) & (g < 90) & (b < 90)).sum())


@pytest.mark.parametrize(("width", "height"), [(900, 360), (640, 240), (333, 129)])
def test_chart_is_a_png_of_the_requested_size(width: int, height: int) -> None:
    image = decode(render_series_png([cpu()], title="cpu i-0abc", width_px=width, height_px=height))
    assert image.size == (width, height)


def test_threshold_draws_a_red_line_that_a_chart_without_it_lacks() -> None:
    plain = decode(render_series_png([cpu()], title="high-cpu"))
    alarm = decode(render_series_png([cpu()], title="high-cpu", threshold=70.0, threshold_label="> 70 %"))
    assert reddish(plain) == 0  # red means only "threshold": no series is drawn in red
    assert reddish(alarm) > 300  # a 2 px dashed line across the plot, plus its label


def test_breach_marker_and_several_series_show_up_in_their_own_colours() -> None:
    image = decode(render_series_png([cpu(), cpu(label="CPUUtilization (maximum)", phase=1.0)],
                                     title="cpu", mark_at=START + timedelta(minutes=60)))
    assert count(image, (0x00, 0x72, 0xB2)) > 500  # first series: blue
    assert count(image, (0xE6, 0x9F, 0x00)) > 500  # second series: orange
    assert count(image, (0x4B, 0x3F, 0x72), tolerance=30) > 100  # the dotted vertical marker


@pytest.mark.parametrize("series", [[], [MetricSeries("NetworkIn (sum)", "bytes", (), ())]],
                         ids=["no-series", "empty-series"])
def test_no_datapoints_gives_an_image_saying_so(series: list[MetricSeries]) -> None:
    image = decode(render_series_png(series, title="network i-0abc", threshold=5.0))
    assert image.size == (900, 360)
    width, height = image.size
    middle = image.crop((width // 3, height // 3, 2 * width // 3, 2 * height // 3))
    assert count(middle, (0x5E, 0x61, 0x66), tolerance=60) > 200  # the grey "no datapoints" text
    assert count(image, (0x00, 0x72, 0xB2)) == 0  # and no plotted line
    assert reddish(image) == 0  # nor a threshold on empty axes


def test_titles_and_labels_with_dollar_signs_print_literally() -> None:
    # "$" starts matplotlib math text; an odd number of them used to raise while drawing.
    png = render_series_png([MetricSeries("/aws/lambda/f:$LATEST cost $", "$", cpu().timestamps, cpu().values)],
                            title="Lambda $LATEST errors cost $5", threshold=1.0, threshold_label="$ limit")
    assert decode(png).size == (900, 360)


def test_one_datapoint_naive_and_non_utc_timestamps_render() -> None:
    naive = MetricSeries("StatusCheckFailed", "count", (datetime(2026, 5, 1, 12, 0),), (1.0,))
    cest = timezone(timedelta(hours=2))
    shifted = MetricSeries("cpu", "%", tuple(t.astimezone(cest) for t in cpu().timestamps), cpu().values)
    assert decode(render_series_png([naive], title="one point")).size == (900, 360)
    assert decode(render_series_png([shifted], title="cest", mark_at=datetime(2026, 5, 1, 13, 0))).size == (900, 360)


def test_rendering_from_eight_threads_gives_the_same_charts_as_one_thread() -> None:
    jobs = [([cpu(n=12 + i, phase=i / 3)], f"chart {i}", 40.0 + i, 480 + 20 * i) for i in range(8)]

    def render(job: tuple[list[MetricSeries], str, float, int]) -> bytes:
        series, title, threshold, width = job
        return render_series_png(series, title=title, threshold=threshold, width_px=width, height_px=240)

    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(render, jobs))
    for job, png in zip(jobs, concurrent, strict=True):
        assert decode(png).size == (job[3], 240)
        assert png == render(job)


def test_a_replys_chart_spec_draws_the_same_picture_as_the_series_it_came_from() -> None:
    """Handlers hand the Slack edge a transport-free ChartSpec; nothing (unit, threshold, marker) is lost."""
    a, b = cpu(), cpu(label="CPUUtilization (maximum)", phase=1.0)
    mark = START + timedelta(minutes=90)
    spec = ChartSpec(title="api-1-cpu-high", unit="%", threshold=80.0, threshold_label="Average > 80", mark_at=mark,
                     series=tuple(ChartSeries(s.label, s.timestamps, s.values) for s in (a, b)))
    direct = render_series_png([a, b], title="api-1-cpu-high", threshold=80.0, threshold_label="Average > 80",
                               mark_at=mark)
    assert render_chart(spec) == direct
    assert reddish(decode(direct)) > 300


def test_importing_is_cheap_and_a_read_only_home_gets_a_private_cache_dir(tmp_path: Path) -> None:
    """The container's root filesystem is read-only; matplotlib must not try to write under $HOME."""
    script = textwrap.dedent("""
        import os, sys
        import bot.charts as charts
        assert "matplotlib" not in sys.modules, "matplotlib imported before the first chart"
        charts._cache_dir_writable = lambda: False  # as on a read-only root filesystem
        png = charts.render_series_png([], title="x")
        import matplotlib
        assert os.path.basename(matplotlib.get_cachedir()).startswith("cloudops-mpl-"), matplotlib.get_cachedir()
        assert "MPLCONFIGDIR" not in os.environ, "the redirect leaked into the environment"
        print(len(png))
    """)
    env = {k: v for k, v in os.environ.items() if k not in {"MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"}}
    env["HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 1000
    assert "not writable" not in done.stderr  # matplotlib's own fallback warning never fires
