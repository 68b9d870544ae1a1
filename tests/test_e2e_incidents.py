"""Alarm-driven incident threads through the Slack emulator and moto: set_alarm_state transitions drive
the whole life cycle (the evidence pack with a chart of the alarm's metric and threshold); a restart posts
nothing new; buttons arrive as block_actions and take effect."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from matplotlib import image as mpimg

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from cloudops_demo.slack import SlackEmulator
from tests.harness import Running, running_bot, text_of

CH = "C-incidents"
NAMES = ("inc-test-cpu", "inc-test-disk")


@pytest.fixture(scope="module")
def cw(aws: tuple[MotoSandbox, SeededIncident]) -> Iterator[Any]:
    client = boto3.client("cloudwatch", endpoint_url=aws[0].endpoint_url, region_name="us-east-1")
    for name in NAMES:
        client.put_metric_alarm(AlarmName=name, Namespace="AWS/EC2", MetricName="CPUUtilization",
                                Dimensions=[{"Name": "InstanceId", "Value": aws[1].instances["api-1"]}],
                                Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=80.0,
                                ComparisonOperator="GreaterThanThreshold")
    yield client
    client.delete_alarms(AlarmNames=list(NAMES))


def _set(cw: Any, name: str, state: str) -> None:
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"test moved it to {state} <!channel>")
    time.sleep(0.01)  # StateUpdatedTimestamp must move forward between transitions


def _polled_once(run: Running) -> None:
    """The watcher's own thread polls once as it starts; a test drives transitions after that poll has read
    the alarms, or the two polls race (the thread opening the incident the test's poll is asserted to open)."""
    polls = lambda: run.bot.metrics.registry.get_sample_value("cloudops_alarm_poll_duration_seconds_count") or 0  # noqa: E731
    assert run.slack.wait_for(lambda: polls() >= 1, 20), "the watcher's start-up poll never ran"


def _parents(slack: SlackEmulator, name: str) -> list[dict[str, Any]]:
    return [m for m in slack.channel_messages(CH) if name in str(m.get("text", ""))]


def _assert_alarm_chart(slack: SlackEmulator, message: dict[str, Any], alarm: str) -> None:
    """The evidence pack's chart: a real PNG of the alarm's metric with its threshold drawn in red."""
    assert len(message.get("files") or []) == 1, text_of(message)
    shared = message["files"][0]
    assert shared["mimetype"] == "image/png" and alarm in shared["title"]
    png = next(f for f in slack.files() if f.file_id == shared["id"]).content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = mpimg.imread(io.BytesIO(png), format="png")  # decodes for real: a corrupt file raises
    assert pixels.shape[:2] == (360, 900)
    red = (pixels[..., 0] > 0.67) & (pixels[..., 1] < 0.35) & (pixels[..., 2] < 0.35)
    assert red.sum() > 300, "no red threshold line"  # red is reserved for the threshold in bot.charts
    alt = next(c.params for c in reversed(slack.calls("files.getUploadURLExternal")))
    assert "Threshold Average > 80" in str(alt.get("alt_txt"))


def test_incident_life_cycle_restart_and_buttons(cw: Any, incident: SeededIncident) -> None:
    name = NAMES[0]
    with SlackEmulator() as slack:
        settings = {"alarm_channel": CH, "alarm_poll_s": 3600.0, "alarm_reopen_s": 3600}
        with running_bot(slack, None, **settings) as run:
            watcher = run.bot.slack.incidents
            _polled_once(run)
            _set(cw, name, "ALARM")
            watcher.poll_once()
            parents = _parents(slack, name)
            assert len(parents) == 1
            parent = parents[0]
            assert parent["metadata"]["event_type"] == "cloudops_incident"
            assert "&lt;!channel&gt;" in text_of(parent)  # the alarm reason is data, escaped
            evidence, chart = slack.wait_thread_replies(CH, parent["ts"], 2, 20)[:2]
            assert "Evidence pack" in text_of(evidence) and "CPUUtilization" in text_of(evidence)
            assert incident.instances["api-1"] in text_of(evidence)  # EC2 status of the alarm's instance
            _assert_alarm_chart(slack, chart, name)

            watcher.poll_once()  # still in ALARM: deduplicated, nothing new
            assert len(_parents(slack, name)) == 1 and len(slack.thread(CH, parent["ts"])) == 3

            _set(cw, name, "OK")
            watcher.poll_once()
            replies = slack.wait_thread_replies(CH, parent["ts"], 3, 10)
            assert "ALARM → OK" in text_of(replies[-1])
            assert "State: *OK*" in text_of(slack.thread(CH, parent["ts"])[0])  # parent updated in place

            _set(cw, name, "ALARM")
            watcher.poll_once()  # within the re-open window: same thread
            replies = slack.wait_thread_replies(CH, parent["ts"], 4, 10)
            assert "re-opened" in text_of(replies[3])
            assert len(_parents(slack, name)) == 1

            slack.send_block_action(channel=CH, message_ts=parent["ts"], action_id="incident_ack", value=name,
                                    user="U-oncall")
            assert slack.wait_for(lambda: "acknowledged by <@U-oncall>" in text_of(slack.thread(CH, parent["ts"])[0]))
            assert slack.wait_for(lambda: any("Acknowledged by <@U-oncall>" in text_of(m)
                                              for m in slack.thread(CH, parent["ts"])))
            slack.send_block_action(channel=CH, message_ts=parent["ts"], action_id="incident_investigate",
                                    value=name, user="U-oncall")
            assert slack.wait_for(lambda: any("No model configured" in text_of(m)
                                              for m in slack.thread(CH, parent["ts"])), 20)
        before = len(slack.calls("chat.postMessage"))
        with running_bot(slack, None, **settings) as run:  # a restart mid-incident
            assert run.bot.slack.incidents.find(name) is not None  # read back from the parent's metadata
            run.bot.slack.incidents.poll_once()
            time.sleep(0.5)
            assert len(_parents(slack, name)) == 1
            new_posts = [c for c in slack.calls("chat.postMessage")[before:] if c.params.get("channel") == CH]
            assert new_posts == [], "a restart re-posted an incident"


def test_two_alarms_get_two_threads_and_a_late_alarm_opens_a_new_incident(cw: Any) -> None:
    for name in NAMES:  # not in the ALARM another test may have left them in, when the watcher first looks
        _set(cw, name, "OK")
    with SlackEmulator() as slack, running_bot(slack, None, alarm_channel=CH, alarm_poll_s=3600.0,
                                               alarm_reopen_s=1) as run:
        watcher = run.bot.slack.incidents
        _polled_once(run)
        watcher.poll_once()
        for name in NAMES:
            _set(cw, name, "ALARM")
        watcher.poll_once()
        assert [len(_parents(slack, n)) for n in NAMES] == [1, 1]
        first = _parents(slack, NAMES[1])[0]
        slack.send_block_action(channel=CH, message_ts=first["ts"], action_id="incident_mute", value=NAMES[1])
        assert slack.wait_for(lambda: any("muted" in text_of(m) for m in slack.thread(CH, first["ts"])))
        _set(cw, NAMES[0], "OK")
        watcher.poll_once()
        time.sleep(1.2)  # past the 1 s re-open window
        _set(cw, NAMES[0], "ALARM")
        watcher.poll_once()
        assert len(_parents(slack, NAMES[0])) == 2, "ALARM after the window should open a new incident"
        metric = run.bot.metrics.registry.get_sample_value
        assert metric("cloudops_incidents_total", {"event": "opened"}) >= 3
