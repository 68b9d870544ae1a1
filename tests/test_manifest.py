"""slack-manifest.yml creates an app that works with this code, and asks a workspace admin for no more.

Slack accepts a manifest only if it matches its schema, and an app missing a scope fails at run time
with ``missing_scope`` in the middle of an incident; an app with extra scopes is harder to get approved.
So: the manifest validates against Slack's own JSON schema (vendored in tests/data, MIT, see
tests/data/README.md), and its bot scopes are exactly those needed by the Web API methods the code calls
and the listeners it registers, both read from the source.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "slack-manifest.yml"
SCHEMA = ROOT / "tests" / "data" / "slack-manifest.schema.json"
SHARED_SCHEMA = ROOT.parent / "shared" / "data" / "slack" / "manifest.schema.json"
SLACK_SOURCES = sorted((ROOT / "bot").rglob("*.py"))

# Web API method -> bot scopes it needs (any one of a set is enough for one channel type, but the bot
# works in public and private channels, so it needs all of them). Methods on the app-level token
# (apps.connections.open: connections:write) and auth.test need no bot scope.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "apps.connections.open": set(),
    "chat.postMessage": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    # chat:write since Slack's 2026-03-05 changelog (assistant:write was accepted during the transition).
    "assistant.threads.setStatus": {"chat:write"},
    # Streamed answers (docs.slack.dev/reference/methods/chat.startStream and …appendStream/…stopStream).
    "chat.startStream": {"chat:write"},
    "chat.appendStream": {"chat:write"},
    "chat.stopStream": {"chat:write"},
    "conversations.replies": {"channels:history", "groups:history"},
    "conversations.history": {"channels:history", "groups:history"},
    "usergroups.users.list": {"usergroups:read"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
}
# slack_sdk helpers that call several Web API methods.
SDK_HELPERS = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
# Listener kind (and name) -> bot scopes. The `message` listener answers direct messages (it ignores
# channel messages, which mentions cover), so it needs im:history and only the message.im subscription.
# A shortcut is invoked like a command and needs `commands`; buttons and app_home_opened need no scope.
LISTENER_SCOPES: dict[tuple[str, str], set[str]] = {
    ("command", "*"): {"commands"},
    ("shortcut", "*"): {"commands"},
    ("event", "app_mention"): {"app_mentions:read"},
    ("event", "message"): {"im:history"},
    ("event", "app_home_opened"): set(),
    ("action", "*"): set(),
}
# Event listener -> the bot_events subscriptions that deliver it.
EVENT_SUBSCRIPTIONS = {"app_mention": {"app_mention"}, "message": {"message.im"},
                       "app_home_opened": {"app_home_opened"}}
METHOD_NAME = re.compile(r"^[a-z]+(\.[a-zA-Z]+)+$")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def called_methods() -> dict[str, list[str]]:
    """Web API methods the bot's code calls -> where, from literals, WebClient methods and Socket Mode."""
    from slack_sdk import WebClient
    from slack_sdk.web.base_client import BaseClient

    sdk_methods = {n for n in dir(WebClient) if "_" in n and not n.startswith("_") and n not in dir(BaseClient)}
    out: dict[str, list[str]] = {}
    for path in SLACK_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                first = node.args[0] if node.args else None
                if (node.func.attr in {"call", "api_call"} and isinstance(first, ast.Constant)
                        and isinstance(first.value, str) and METHOD_NAME.match(first.value)):
                    out.setdefault(first.value, []).append(where)
                elif node.func.attr in SDK_HELPERS:
                    for method in SDK_HELPERS[node.func.attr]:
                        out.setdefault(method, []).append(where)
                elif node.func.attr in sdk_methods:
                    out.setdefault(node.func.attr.replace("_", "."), []).append(where)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "SocketModeHandler":
                out.setdefault("apps.connections.open", []).append(where)
    return out


def registered_listeners() -> set[tuple[str, str]]:
    """(kind, name) of every listener bot.slack.app.configure registers (its own and each feature's),
    recorded by running it against a stand-in for Bolt's App; the dependencies are only used when a
    listener runs, so none are needed here."""
    from bot.slack import app as app_module

    out: set[tuple[str, str]] = set()

    class Recorder:
        def __getattr__(self, kind: str) -> Any:
            def register(name: str) -> Any:
                out.add((kind, name))
                return lambda fn: fn
            return register

    app_module.configure(cast(Any, Recorder()), cast(Any, None), cast(Any, None), cast(Any, None), cast(Any, None))
    assert out, "bot.slack.app.configure registered no listener"
    return out


def _listener_scopes(kind: str, name: str) -> set[str]:
    for key in ((kind, name), (kind, "*")):
        if key in LISTENER_SCOPES:
            return LISTENER_SCOPES[key]
    raise AssertionError(f"listener ({kind}, {name}) is not in LISTENER_SCOPES: say which scopes it needs")


def test_manifest_matches_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_vendored_schema_is_the_published_one() -> None:
    if not SHARED_SCHEMA.exists():
        pytest.skip("no ../shared copy of the schema next to this clone to compare with")
    assert json.loads(SCHEMA.read_text()) == json.loads(SHARED_SCHEMA.read_text())


def test_socket_mode_without_public_urls(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in json.dumps(manifest), "Socket Mode apps need no public request URL"
    for command in manifest["features"]["slash_commands"]:
        assert "url" not in command


def test_the_slash_command_is_the_one_the_code_listens_for(manifest: dict[str, Any]) -> None:
    from bot.slack.app import SLASH_COMMAND

    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [SLASH_COMMAND]
    assert commands[0]["description"] and commands[0]["usage_hint"]
    for verb in ("status", "logs", "alarms", "metrics", "ask", "help"):
        assert verb in commands[0]["usage_hint"], f"the usage hint a user sees does not mention {verb}"


def test_every_called_method_has_a_known_scope() -> None:
    methods = called_methods()
    unknown = {m: where for m, where in methods.items() if m not in METHOD_SCOPES}
    assert not unknown, f"Web API methods with no entry in METHOD_SCOPES (say which scopes they need): {unknown}"
    for expected in ("auth.test", "chat.postMessage", "conversations.replies", "apps.connections.open"):
        assert expected in methods, f"the scan no longer finds {expected}: has the Slack edge moved?"


def test_bot_scopes_are_exactly_what_the_code_needs(manifest: dict[str, Any]) -> None:
    needed: set[str] = set()
    for method in called_methods():
        needed |= METHOD_SCOPES.get(method, set())
    for kind, name in registered_listeners():
        needed |= _listener_scopes(kind, name)
    scopes = manifest["oauth_config"]["scopes"]
    granted = scopes["bot"]
    assert len(granted) == len(set(granted))
    assert not scopes.get("user"), "the bot acts as itself; it needs no user-token scopes"
    assert needed - set(granted) == set(), f"missing (Slack would answer missing_scope): {needed - set(granted)}"
    assert set(granted) - needed == set(), f"requested but never used: {set(granted) - needed}"


def test_event_subscriptions_match_the_listeners(manifest: dict[str, Any]) -> None:
    listened = {name for kind, name in registered_listeners() if kind == "event"}
    unknown = listened - set(EVENT_SUBSCRIPTIONS)
    assert not unknown, f"event listeners with no entry in EVENT_SUBSCRIPTIONS: {unknown}"
    needed = set().union(*(EVENT_SUBSCRIPTIONS[e] for e in listened))
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert subscribed == needed, f"subscribed {sorted(subscribed)}, listeners need {sorted(needed)}"
    assert not subscribed & {"message.channels", "message.groups", "message.mpim"}, (
        "channel message events would deliver every message in every channel to the bot")


def test_shortcuts_and_the_messages_tab_match_the_code(manifest: dict[str, Any]) -> None:
    shortcuts = {name for kind, name in registered_listeners() if kind == "shortcut"}
    declared = {s["callback_id"] for s in manifest["features"].get("shortcuts", [])}
    assert declared == shortcuts, f"manifest shortcuts {declared}, code listens for {shortcuts}"
    listened = {name for kind, name in registered_listeners() if kind == "event"}
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is ("message" in listened), (
        "direct messages are answered only if users can write to the bot")


def test_interactivity_is_on_exactly_when_buttons_are_handled(manifest: dict[str, Any]) -> None:
    has_actions = any(kind in {"action", "shortcut", "view"} for kind, _ in registered_listeners())
    assert manifest["settings"]["interactivity"]["is_enabled"] is has_actions


def test_agent_view_describes_the_agent_and_offers_the_prompts_the_bot_lists(manifest: dict[str, Any]) -> None:
    """Slack's agent messaging experience: a description and one-click prompts in the Messages tab. The
    prompts are the bot's own list (the welcome shows them too) and each one reaches the `ask` path."""
    from bot.models import Request, Source
    from bot.slack.conversations import SUGGESTED_PROMPTS, WELCOME
    from handlers.router import resolve

    agent = manifest["features"]["agent_view"]
    description = agent["agent_description"]
    assert 40 <= len(description) <= 300 and "read-only" in description.lower()
    prompts = [(p["title"], p["message"]) for p in agent["suggested_prompts"]]
    assert prompts == list(SUGGESTED_PROMPTS), "slack-manifest.yml and bot/slack/conversations.py disagree"
    assert 1 <= len(prompts) <= 4 and all(title and len(title) <= 40 for title, _ in prompts)
    messages = [message for _, message in prompts]
    assert {"What is alarming right now?", "Summarise errors in the API logs"} <= set(messages)
    for message in messages:
        assert f"• {message}" in WELCOME
        route, args = resolve(Request(text=message, source=Source.MENTION))
        assert (route.verb, args) == ("ask", [message]), f"{message!r} would not reach the ask path"
    # The agent view is the Messages tab: a prompt arrives as a direct message, the tab's opening as
    # app_home_opened; both are already subscribed, so the block needs no scope or event of its own.
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert {("event", "message"), ("event", "app_home_opened")} <= registered_listeners()
    assert {"message.im", "app_home_opened"} <= set(manifest["settings"]["event_subscriptions"]["bot_events"])
