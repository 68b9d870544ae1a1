"""The Slack emulator, driven by the real slack_bolt App + SocketModeHandler and slack_sdk WebClient.

If these pass, the bot's own tests and the demo can trust that what the emulator shows
(threads, acks, ephemerals, reconnects, retries, rejections) is what the real SDK does
against Slack. One Bolt app is shared by the module because closing a handler costs ~3 s;
each test uses its own channel so their messages never mix.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from cloudops_demo.slack import SlackEmulator, blocks_to_text, render_thread

Seen = dict[str, list[Any]]


def build_app(emu: SlackEmulator, seen: Seen) -> App:
    """A small ChatOps app: the same listener shapes the product uses."""
    app = App(client=WebClient(token="xoxb-test", base_url=emu.api_url))

    @app.middleware
    def drop_first_reaction_delivery(body: dict[str, Any], request: Any, next: Any) -> Any:
        # Stands in for an app that crashed before acking: no next() means Bolt sends no ack.
        event = body.get("event") or {}
        if event.get("type") == "reaction_added" and request.headers.get("x-slack-retry-num") == ["0"]:
            return None
        return next()

    @app.command("/cloudops")
    def status(ack: Any, body: dict[str, Any], say: Any, client: WebClient, respond: Any) -> None:
        ack(text="Working on it")
        seen["command"].append(body)
        parent = say(f"Status requested by {body['user_name']} in #{body['channel_name']}")
        client.chat_postMessage(channel=body["channel_id"], thread_ts=parent["ts"], text="All green")
        respond("Posted in channel")

    @app.event("app_mention")
    def mention(event: dict[str, Any], say: Any) -> None:
        seen["mention"].append(event)
        say(text=f"On it, <@{event['user']}>", thread_ts=event.get("thread_ts") or event["ts"])

    @app.event("reaction_added")
    def reaction(body: dict[str, Any], request: Any) -> None:
        seen["reaction"].append((body["event_id"], request.headers["x-slack-retry-num"][0]))

    @app.action("ack_incident")
    def button(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        respond(replace_original=True, text=f"Acknowledged by <@{body['user']['id']}>")

    return app


@pytest.fixture(scope="module")
def emu() -> Iterator[SlackEmulator]:
    # Frequent server pings for the whole module: every test also proves the client keeps answering them.
    with SlackEmulator(redeliver_after_s=0.3, ping_interval_s=0.2) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def seen(emu: SlackEmulator) -> Iterator[Seen]:
    record: Seen = {"command": [], "mention": [], "reaction": []}
    handler = SocketModeHandler(build_app(emu, record), "xapp-test", ping_interval=0.5)
    handler.connect()  # type: ignore[no-untyped-call]
    emu.wait_connected()
    yield record
    handler.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def web(emu: SlackEmulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=emu.api_url)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


def test_slash_command_is_acked_and_its_threaded_reply_is_visible(emu: SlackEmulator, seen: Seen) -> None:
    emu.add_channel("C-slash", "ops")
    envelope_id = emu.send_slash_command("status", channel="C-slash")
    emu.wait_for(lambda: len(emu.channel_messages("C-slash")) == 1)
    parent = emu.channel_messages("C-slash")[0]
    replies = emu.wait_thread_replies("C-slash", parent["ts"], 1)
    emu.wait_for(lambda: len(emu.ephemerals("C-slash")) == 2)

    assert parent["text"] == "Status requested by useru1 in #ops"
    assert parent["bot_id"] == "BBOT"
    assert texts(replies) == ["All green"]
    assert emu.acks()[envelope_id].payload == {"text": "Working on it"}
    # both private notes reach the user; which the emulator records first is a race between the socket
    # thread (ack) and the listener's HTTP post (response_url), so the order is not asserted
    assert sorted((e["source"], e["text"], e["user"]) for e in emu.ephemerals("C-slash")) == [
        ("ack", "Working on it", "U1"),
        ("response_url", "Posted in channel", "U1"),
    ]


def test_mention_reaches_listener_and_replies_stay_in_the_thread(
    emu: SlackEmulator, seen: Seen, web: WebClient
) -> None:
    first = emu.send_mention("why is p99 high?", channel="C-mention")
    emu.wait_thread_replies("C-mention", first, 1)
    emu.send_mention("and now?", channel="C-mention", thread_ts=first)
    emu.wait_thread_replies("C-mention", first, 3)

    assert seen["mention"][-1]["thread_ts"] == first
    assert seen["mention"][-2]["text"] == "<@UBOT> why is p99 high?"
    assert [b["type"] for b in seen["mention"][-2]["blocks"]] == ["rich_text"]
    api_view = web.conversations_replies(channel="C-mention", ts=first)["messages"]
    thread = emu.thread("C-mention", first)
    assert (
        texts(api_view)
        == texts(thread)
        == [
            "<@UBOT> why is p99 high?",
            "On it, <@U1>",
            "<@UBOT> and now?",
            "On it, <@U1>",
        ]
    )
    page = web.conversations_replies(channel="C-mention", ts=first, limit=3)
    rest = web.conversations_replies(channel="C-mention", ts=first, cursor=page["response_metadata"]["next_cursor"])
    assert len(page["messages"]) == 3 and page["has_more"] and texts(rest["messages"]) == ["On it, <@U1>"]


def test_server_pings_are_answered_and_the_socket_stays_up(emu: SlackEmulator, seen: Seen) -> None:
    opened, pongs = emu.connections_opened, emu.pongs_received
    assert emu.wait_for(lambda: emu.pongs_received >= pongs + 3)
    assert (emu.connections_opened, emu.connected) == (opened, 1)


def reconnected(emu: SlackEmulator, opened_before: int) -> bool:
    return emu.connections_opened > opened_before and emu.connected == 1


def test_disconnect_message_makes_the_client_reconnect_and_keep_receiving(emu: SlackEmulator, seen: Seen) -> None:
    before, calls = emu.connections_opened, len(emu.calls("apps.connections.open"))
    emu.disconnect_all("refresh_requested")
    assert emu.wait_for(lambda: reconnected(emu, before), 10)
    assert len(emu.calls("apps.connections.open")) == calls + 1

    ts = emu.send_mention("still there?", channel="C-refresh")
    assert texts(emu.wait_thread_replies("C-refresh", ts, 1)) == ["On it, <@U1>"]


def test_dropped_tcp_connection_is_detected_and_replaced(emu: SlackEmulator, seen: Seen) -> None:
    before = emu.connections_opened
    emu.drop_sockets()
    assert emu.wait_for(lambda: reconnected(emu, before), 15)

    ts = emu.send_mention("after the drop", channel="C-drop")
    assert texts(emu.wait_thread_replies("C-drop", ts, 1)) == ["On it, <@U1>"]


def test_envelopes_sent_during_an_outage_arrive_after_reconnect(emu: SlackEmulator, seen: Seen) -> None:
    emu.refuse_connections(True)
    emu.drop_sockets()
    failed = len([c for c in emu.calls("apps.connections.open") if c.error])
    assert emu.wait_for(lambda: len([c for c in emu.calls("apps.connections.open") if c.error]) > failed, 15)
    ts = emu.send_mention("are you back?", channel="C-outage")
    assert emu.connected == 0
    emu.refuse_connections(False)
    assert texts(emu.wait_thread_replies("C-outage", ts, 1, timeout=15)) == ["On it, <@U1>"]


def test_unacked_event_is_redelivered_with_the_same_event_id(emu: SlackEmulator, seen: Seen) -> None:
    ts = emu.post_user_message("C-retry", "deploy done")
    event = {"type": "reaction_added", "user": "U1", "reaction": "eyes", "item": {"channel": "C-retry", "ts": ts}}
    first = emu.send_event(event, event_id="EvRETRY1")
    assert emu.wait_for(lambda: len(seen["reaction"]) == 1)
    second = next(e for e in emu.envelopes() if e.event_id == "EvRETRY1" and e.envelope_id != first)

    assert seen["reaction"] == [("EvRETRY1", "1")]
    assert (second.retry_attempt, second.retry_reason) == (1, "timeout")
    assert first not in emu.acks()
    assert emu.wait_for(lambda: second.envelope_id in emu.acks())

    third = emu.redeliver(second.envelope_id)
    assert emu.wait_for(lambda: len(seen["reaction"]) == 2)
    assert seen["reaction"][1] == ("EvRETRY1", "2") and emu.envelope(third).retry_attempt == 2


def test_button_click_replaces_the_original_message(emu: SlackEmulator, seen: Seen, web: WebClient) -> None:
    button = {"type": "button", "action_id": "ack_incident", "text": {"type": "plain_text", "text": "Ack"}}
    posted = web.chat_postMessage(channel="C-btn", text="Incident", blocks=[{"type": "actions", "elements": [button]}])
    emu.send_block_action(channel="C-btn", message_ts=posted["ts"], action_id="ack_incident", value="i-1", user="U7")
    assert emu.wait_for(lambda: emu.channel_messages("C-btn")[0]["text"] != "Incident")
    assert emu.channel_messages("C-btn")[0]["text"] == "Acknowledged by <@U7>"


def test_rate_limited_call_is_retried_by_the_sdk_handler(emu: SlackEmulator) -> None:
    retrying = WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=[RateLimitErrorRetryHandler()])
    emu.rate_limit("chat.postMessage", times=1, retry_after=0)
    retrying.chat_postMessage(channel="C-429", text="after a 429")
    emu.rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as plain:
        WebClient(token="xoxb-test", base_url=emu.api_url).chat_postMessage(channel="C-429", text="lost")

    assert [(c.status, c.error) for c in emu.calls("chat.postMessage") if c.params["channel"] == "C-429"] == [
        (429, "ratelimited"),
        (200, None),
        (429, "ratelimited"),
    ]
    assert plain.value.response.status_code == 429 and plain.value.response.headers["Retry-After"] == "7"
    assert texts(emu.channel_messages("C-429")) == ["after a 429"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_slack_limits_and_errors_are_enforced(emu: SlackEmulator, web: WebClient) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    rejected: dict[str, dict[str, Any]] = {
        "invalid_blocks": {"blocks": [section] * 51},
        "thread_not_found": {"text": "hi", "thread_ts": "1.000001"},
        "no_text": {},
    }
    for error, kwargs in rejected.items():
        with pytest.raises(SlackApiError) as exc:
            web.chat_postMessage(channel="C-limits", **kwargs)
        assert exc.value.response["error"] == error
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        web.chat_postMessage(channel="C-limits", text="t", blocks=[too_long])
    user_ts = emu.post_user_message("C-limits", "mine")
    with pytest.raises(SlackApiError, match="cant_update_message"):
        web.chat_update(channel="C-limits", ts=user_ts, text="hijacked")
    with pytest.raises(SlackApiError, match="unknown_method"):
        web.api_call("chat.teleport")
    emu.fail("reactions.add", "channel_not_found")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        web.reactions_add(channel="C-limits", timestamp=user_ts, name="eyes")
    web.reactions_add(channel="C-limits", timestamp=user_ts, name="eyes")  # only the next call was failed
    fail_fast = WebClient(token="xapp-test", base_url=emu.api_url)
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        fail_fast.chat_postMessage(channel="C-limits", text="wrong token")

    long = web.chat_postMessage(channel="C-limits", text="y" * 40_001)
    assert long["response_metadata"]["warnings"] == ["message_truncated"]
    assert [len(m["text"]) for m in emu.channel_messages("C-limits")] == [4, 40_000]
    assert emu.channel_messages("C-limits")[0]["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]


def test_streams_files_and_assistant_status_land_in_the_thread(emu: SlackEmulator, web: WebClient) -> None:
    root = emu.post_user_message("C-ai", "summarise the incident")
    web.assistant_threads_setStatus(channel_id="C-ai", thread_ts=root, status="is thinking…")
    assert emu.assistant_thread("C-ai", root)["status"] == "is thinking…"
    stream = web.chat_stream(channel="C-ai", thread_ts=root, buffer_size=8)
    for part in ("CPU spiked ", "at 09:00 ", "on i-123."):
        stream.append(markdown_text=part)
    stream.stop()
    web.files_upload_v2(channel="C-ai", thread_ts=root, content=b"ts,cpu\n1,99\n", filename="cpu.csv", title="CPU")

    replies = emu.thread("C-ai", root)[1:]
    assert replies[0]["text"] == "CPU spiked at 09:00 on i-123."
    assert replies[1]["files"][0]["title"] == "CPU"
    assert [(f.filename, f.content, f.thread_ts) for f in emu.files()] == [("cpu.csv", b"ts,cpu\n1,99\n", root)]
    assert emu.assistant_thread("C-ai", root)["status"] == ""
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        web.chat_appendStream(channel="C-ai", ts=replies[0]["ts"], markdown_text="late")


def test_sockets_get_hello_first_are_capped_at_ten_and_queued_envelopes_wait() -> None:
    async def scenario(url: str) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        async with aiohttp.ClientSession() as session:
            socks = [await session.ws_connect(url) for _ in range(10)]
            hellos = [json.loads((await s.receive()).data) for s in socks]
            queued = json.loads((await socks[0].receive()).data)
            await socks[0].send_str(json.dumps({"envelope_id": queued["envelope_id"]}))
            extra = await session.ws_connect(url)
            refusal = json.loads((await extra.receive()).data)
            for s in [*socks, extra]:
                await s.close()
            return hellos, queued, refusal

    with SlackEmulator() as emu:
        envelope_id = emu.send_slash_command("status")  # no socket yet: must wait, not vanish
        url = WebClient(token="xapp-1", base_url=emu.api_url).apps_connections_open(app_token="xapp-1")["url"]
        hellos, queued, refusal = asyncio.run(scenario(url))
        assert emu.wait_for(lambda: envelope_id in emu.acks())

    assert [h["num_connections"] for h in hellos] == list(range(1, 11))
    assert {h["type"] for h in hellos} == {"hello"}
    assert (queued["envelope_id"], queued["type"], queued["payload"]["text"]) == (
        envelope_id,
        "slash_commands",
        "status",
    )
    assert (refusal["type"], refusal["reason"]) == ("disconnect", "too_many_websockets")


def test_blocks_and_threads_render_as_a_user_reads_them() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "i-123 unhealthy"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*CPU* 99%"},
            "fields": [{"type": "mrkdwn", "text": "AZ a"}],
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "source: CloudWatch"}]},
        {"type": "image", "image_url": "http://127.0.0.1/x.png", "alt_text": "cpu graph"},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Ack"}},
                {"type": "button", "text": {"type": "plain_text", "text": "Runbook"}},
            ],
        },
    ]
    assert blocks_to_text(blocks).splitlines() == [
        "I-123 UNHEALTHY",
        "*CPU* 99%",
        "AZ a",
        "─" * 40,
        "source: CloudWatch",
        "[image: cpu graph]",
        "[Ack] [Runbook]",
    ]
    parent = {"ts": "1700000000.000100", "user": "U1", "text": "<@UBOT> status"}
    reply = {"ts": "1700000001.000100", "user": "UBOT", "bot_id": "B", "text": "fallback", "blocks": blocks[:2]}
    lines = render_thread([parent, reply], names={"U1": "alice"}).splitlines()
    assert lines[0].endswith("alice: <@UBOT> status")
    assert lines[1].startswith("  ↳ [") and lines[1].endswith("bot: I-123 UNHEALTHY")
    assert lines[2:] == ["      *CPU* 99%", "      AZ a"]
