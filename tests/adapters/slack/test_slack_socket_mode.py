"""Slack over Socket Mode, end to end against a fake Socket Mode server on 127.0.0.1: the same conversation as over
HTTP (the modal, the case and its thread), every envelope acknowledged before its slow work, a redelivered envelope
with one effect (across a restart too), reconnection after the socket drops (closed, `disconnect`, cut) with no
acknowledged work lost, the same polite answers, readiness and metrics."""

from __future__ import annotations

import json

from conftest import CHILD_DOB, CHILD_NAME
from slack_server import ANSWERS, CASES_CHANNEL, JORDAN
from socket_server import APP_TOKEN, command, socket_bot, submission  # noqa: F401  (the fixture)


async def test_escalate_over_the_socket_opens_the_modal_then_a_case_thread(socket_bot):
    assert socket_bot.socket.opened == [f"Bearer {APP_TOKEN}"]  # apps.connections.open, with the app-level token
    ack = await socket_bot.ask("slash_commands", command(JORDAN))
    assert ack.payload is None
    (opened,) = await socket_bot.until(lambda: socket_bot.fake.called("views.open"), "views.open")
    start = opened["view"]
    assert start["callback_id"] == "escalate_start"
    assert [b["block_id"] for b in start["blocks"] if b["type"] == "input"] == ["immediate_risk"]

    ack = await socket_bot.ask("interactive", submission(JORDAN, start, {"immediate_risk": "no"}, "V1"))
    assert ack.payload["response_action"] == "update"
    intake = ack.payload["view"]
    ack = await socket_bot.ask("interactive", submission(JORDAN, intake, {**ANSWERS, "arose_on": "2026-12-25"}, "V2"))
    assert ack.payload["response_action"] == "errors" and "arose_on" in ack.payload["errors"]

    ack = await socket_bot.ask("interactive", submission(JORDAN, intake, ANSWERS, "V2"))
    assert ack.payload is None
    posts = await socket_bot.until(lambda: len(socket_bot.posts()) >= 2 and socket_bot.posts(), "root and confirmation")
    root = posts[0]
    assert root["channel"] == CASES_CHANNEL and "ESC-2026-0001" in root["text"]
    case = await socket_bot.store.get("cases", "ESC-2026-0001")
    assert case["thread"] == {"channel": "slack", "conversation": CASES_CHANNEL, "thread": "1700000000.000001"}
    everything = json.dumps([c.args for c in socket_bot.fake.calls])
    assert CHILD_NAME not in everything and CHILD_DOB not in everything
