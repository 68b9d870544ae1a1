"""Charts in Slack threads, through the emulator and moto: a metrics answer is followed by a PNG of its
series in the same thread; without matplotlib, or when Slack refuses the upload, the answer still posts
and one line says the chart is unavailable."""

from __future__ import annotations

import io
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from matplotlib import image as mpimg

import bot.charts
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import Running, running_bot, text_of

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def charts_bot(incident: SeededIncident) -> Iterator[Running]:
    with SlackEmulator() as slack, running_bot(slack, None) as running:
        yield running


@pytest.fixture
def no_matplotlib(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on an install without the `charts` extra: `import matplotlib` raises ImportError. The import
    is remembered after the first chart, so that memo is reset on the way in and out."""
    bot.charts._mpl.cache_clear()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    yield
    monkeypatch.undo()
    bot.charts._mpl.cache_clear()


def png_size(content: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, decoded for real (a truncated or corrupt file raises)."""
    assert content.startswith(PNG_SIGNATURE)
    pixels = mpimg.imread(io.BytesIO(content), format="png")
    return pixels.shape[1], pixels.shape[0]


def _everything(thread: list[dict[str, Any]]) -> str:
    return "\n".join(text_of(m) for m in thread)


def test_metrics_answer_is_followed_by_a_png_chart_in_its_thread(charts_bot: Running,
                                                                  incident: SeededIncident) -> None:
    slack = charts_bot.slack
    parent, replies = charts_bot.command(f"metrics {incident.spiking_instance} cpu 1h", channel="C-chart",
                                         replies=2)
    answer, upload = replies[0], replies[1]
    assert "CPUUtilization" in text_of(answer) and not answer.get("files")  # the answer comes first
    assert upload["thread_ts"] == parent["ts"] and len(upload["files"]) == 1
    shared = upload["files"][0]
    assert shared["mimetype"] == "image/png" and shared["name"].endswith(".png")
    assert shared["title"].startswith("cpu — ") and incident.spiking_instance in shared["title"]
    stored = next(f for f in slack.files() if f.file_id == shared["id"])
    assert (stored.channel_id, stored.thread_ts) == ("C-chart", parent["ts"])
    with urllib.request.urlopen(shared["url_private"], timeout=5) as download:  # what a user's client fetches
        assert png_size(download.read()) == (900, 360)
    alt = slack.calls("files.getUploadURLExternal")[-1].params.get("alt_txt", "")
    assert "CPUUtilization (average)" in alt and "points from" in alt  # screen readers get the numbers
    time.sleep(0.3)
    assert len(slack.thread("C-chart", parent["ts"])) == 3, "one answer and one chart, nothing else"


def test_without_matplotlib_the_answer_posts_and_one_line_says_the_chart_is_unavailable(
        charts_bot: Running, incident: SeededIncident, no_matplotlib: None) -> None:
    slack = charts_bot.slack
    uploads = len(slack.files())
    parent, replies = charts_bot.command(f"metrics {incident.spiking_instance} cpu 1h", channel="C-nochart",
                                         replies=2)
    answer = text_of(replies[0])
    assert "CPUUtilization" in answer and any(bar in answer for bar in "▁▂▃▄▅▆▇█")  # the text sparkline stays
    note = text_of(replies[1])
    assert "Chart unavailable" in note and "`charts` extra" in note
    assert len(slack.files()) == uploads
    time.sleep(0.3)
    thread = slack.thread("C-nochart", parent["ts"])
    assert len(thread) == 3 and "Traceback" not in _everything(thread)


def test_a_refused_upload_costs_one_line_not_the_answer(charts_bot: Running, incident: SeededIncident) -> None:
    slack = charts_bot.slack
    slack.fail("files.completeUploadExternal", "internal_error")
    parent, replies = charts_bot.command(f"metrics {incident.spiking_instance} network 1h", channel="C-refused",
                                         replies=2)
    assert "NetworkIn" in text_of(replies[0])
    assert "Chart unavailable" in text_of(replies[1]) and "upload" in text_of(replies[1])
    assert not any(m.get("files") for m in slack.thread("C-refused", parent["ts"]))


def test_no_datapoints_means_no_chart(charts_bot: Running, incident: SeededIncident) -> None:
    """The text already says "no datapoints": an empty picture would add nothing."""
    slack = charts_bot.slack
    uploads = len(slack.files())
    # The sandbox records CPU and network only: EBS byte counts have no datapoints.
    parent, replies = charts_bot.command(f"metrics {incident.spiking_instance} disk 1h", channel="C-empty")
    assert "no datapoints" in text_of(replies[0]).lower()
    time.sleep(0.5)
    assert len(slack.thread("C-empty", parent["ts"])) == 2 and len(slack.files()) == uploads
