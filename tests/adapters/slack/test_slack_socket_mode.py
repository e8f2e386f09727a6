"""Slack over Socket Mode, end to end against a fake Socket Mode server on 127.0.0.1: the same conversation as over
HTTP (the modal, the case and its thread), every envelope acknowledged before its slow work, a redelivered envelope
with one effect (across a restart too), reconnection after the socket drops (closed, `disconnect`, cut) with no
acknowledged work lost, the same polite answers, readiness and metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import aiohttp
from aiohttp import web
from conftest import CHILD_DOB, CHILD_NAME
from fakes.slack_socket import envelope
from slack_server import ANSWERS, CASES_CHANNEL, JORDAN, LENA
from slack_support import TOKEN
from socket_server import (  # noqa: F401  (socket_bot: a fixture)
    APP_TOKEN,
    SocketBot,
    click,
    command,
    mention,
    socket_bot,
    start_socket_bot,
    submission,
)
from test_slack_case_thread import RESOLVE, TUESDAY_9

from adapters.slack.gate import STALE_FORM, UNKNOWN_COMMAND
from adapters.slack.mount import SLACK_SOCKET
from adapters.slack.socket_mode import Redacted
from bot.app import build_app, channel_lines
from bot.config import read_settings
from storage.memory_store import MemoryStore


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


SLOW = 1.5  # seconds the fake Slack takes to answer the calls made after an ack


async def test_every_envelope_is_acked_before_its_slow_work_finishes(socket_bot):
    fake = socket_bot.fake
    fake.delay.update({"views.open": SLOW, "chat.postMessage": SLOW, "chat.postEphemeral": SLOW})
    await socket_bot.ask("slash_commands", command(JORDAN))
    assert not fake.finished("views.open").is_set()  # acked before the modal call came back
    (opened,) = await socket_bot.until(lambda: fake.called("views.open"), "views.open")
    await asyncio.wait_for(fake.finished("views.open").wait(), timeout=10)
    fake.delay.pop("views.open")

    ack = await socket_bot.ask("interactive", submission(JORDAN, opened["view"], {"immediate_risk": "no"}, "VS1"))
    ack = await socket_bot.ask("interactive", submission(JORDAN, ack.payload["view"], ANSWERS, "VS2"))
    assert ack.payload is None and not fake.finished("chat.postMessage").is_set()  # the root is still being posted

    await socket_bot.ask("events_api", mention(JORDAN, "help", "Ev0SLOW001"))  # an @mention: an Events API envelope
    assert not fake.finished("chat.postEphemeral").is_set()  # its private answer is still on its way
    await socket_bot.until(lambda: fake.finished("chat.postEphemeral").is_set(), "the answer to the mention")
    await asyncio.wait_for(fake.finished("chat.postMessage").wait(), timeout=10)
    fake.delay.clear()
    await socket_bot.until(lambda: len(socket_bot.posts()) >= 2, "root and confirmation")
    assert socket_bot.posts()[0]["channel"] == CASES_CHANNEL


async def test_a_button_in_the_thread_opens_its_form_over_the_socket(socket_bot):
    case, nudge = await socket_bot.nudged(TUESDAY_9)
    value = next(e for b in nudge["blocks"] if b["type"] == "actions" for e in b["elements"])["value"]
    socket_bot.fake.delay["views.open"] = SLOW
    ack = await socket_bot.ask("interactive", click(LENA, "case_resolve", value, CASES_CHANNEL, nudge["ts"],
                                                    nudge["text"]))
    assert ack.payload is None and not socket_bot.fake.finished("views.open").is_set()  # block_actions: acked first
    (modal,) = await socket_bot.until(lambda: socket_bot.fake.called("views.open")[1:], "the Resolve form")
    socket_bot.fake.delay.clear()
    ack = await socket_bot.ask("interactive", submission(LENA, modal["view"], RESOLVE, "VRESOLVE1"))
    assert ack.payload is None
    await socket_bot.until(lambda: [p for p in socket_bot.posts() if "is resolved" in p["text"]], "the outcome")
    stored = await socket_bot.store.get("cases", case["ref"])
    assert stored["status"] == "resolved"


async def test_a_redelivered_envelope_has_one_effect(socket_bot):
    intake = await socket_bot.intake_modal()
    sent = envelope("interactive", submission(JORDAN, intake, ANSWERS, "VONCE1"), envelope_id="env-once-1")
    await socket_bot.socket.send(sent)
    assert (await socket_bot.socket.ack_of("env-once-1")).payload is None
    await socket_bot.until(lambda: len(socket_bot.posts()) >= 2, "root and confirmation")
    again = {**sent, "retry_attempt": 1, "retry_reason": "timeout"}  # Slack sends it again: the same envelope id
    await socket_bot.socket.send(again)
    assert (await socket_bot.socket.ack_of("env-once-1", after=1)).payload is None
    await socket_bot.settle()
    assert len(await socket_bot.store.scan("cases")) == 1 and len(socket_bot.posts()) == 2  # one case, one root

    # An event sent again under another envelope id (a retry after a missed ack) is known by its event id.
    told = len(socket_bot.fake.called("chat.postEphemeral"))
    await socket_bot.ask("events_api", mention(JORDAN, "help", "Ev0TWICE01"))
    await socket_bot.until(lambda: len(socket_bot.fake.called("chat.postEphemeral")) > told, "the answer")
    await socket_bot.ask("events_api", mention(JORDAN, "help", "Ev0TWICE01"), retry_attempt=1,
                         retry_reason="timeout")
    await socket_bot.settle()
    assert len(socket_bot.fake.called("chat.postEphemeral")) == told + 1


async def test_a_redelivery_after_a_restart_has_one_effect(socket_bot):
    intake = await socket_bot.intake_modal()
    sent = envelope("interactive", submission(JORDAN, intake, ANSWERS, "VRESTART1"), envelope_id="env-restart-1")
    await socket_bot.socket.send(sent)
    await socket_bot.socket.ack_of("env-restart-1")
    await socket_bot.until(lambda: len(socket_bot.posts()) >= 2, "root and confirmation")
    await socket_bot.settle()
    await socket_bot.restart()  # nothing held in memory survives: the store's once-only records must hold
    assert len(socket_bot.socket.opened) == 2
    await socket_bot.socket.send({**sent, "retry_attempt": 1, "retry_reason": "timeout"})
    await socket_bot.socket.ack_of("env-restart-1", after=1)
    command_payload = command(LENA, "harm ESC-2026-0001")
    await socket_bot.ask("slash_commands", command_payload)
    await socket_bot.settle()
    calls = len(socket_bot.fake.calls)
    await socket_bot.restart()
    await socket_bot.ask("slash_commands", command_payload)  # the same command (its trigger id) again
    await socket_bot.settle()
    assert [c.method for c in socket_bot.fake.calls[calls:]] == ["auth.test"]  # (bolt's first call): nothing else
    (case,) = [c for _, c in await socket_bot.store.scan("cases")]
    roots = [p for p in socket_bot.posts() if p["channel"] == CASES_CHANNEL and not p.get("thread_ts")]
    assert len(roots) == 1 and len(socket_bot.posts()) == 2  # one root, one confirmation
    assert [e["action"] for e in case["events"]].count("immediate_harm_route_given") == 1


async def test_the_bot_reconnects_after_the_socket_closes_or_slack_asks(socket_bot):
    socket = socket_bot.socket
    await socket.close()  # a WebSocket close
    await socket.connected(2)
    assert socket.opened == [f"Bearer {APP_TOKEN}"] * 2  # a new URL for each connection
    await socket_bot.ask("slash_commands", command(JORDAN))
    await socket_bot.until(lambda: socket_bot.fake.called("views.open"), "views.open after a reconnect")

    await socket.disconnect("refresh_requested")  # Slack retiring the connection
    await socket.connected(3)
    assert len(socket.opened) == 3
    ack = await socket_bot.ask("slash_commands", command(JORDAN, name="/other"))
    assert ack.payload == UNKNOWN_COMMAND  # (handled on the new connection)


async def test_the_bot_reconnects_after_the_connection_is_cut(aiohttp_server):
    bot = await start_socket_bot(aiohttp_server, ping=0.5)
    bot.socket.cut()  # no close, no word: noticed by the client's pings
    await bot.socket.connected(2)
    await bot.ask("slash_commands", command(JORDAN))
    await bot.until(lambda: bot.fake.called("views.open"), "views.open after a reconnect")


async def test_a_dropped_socket_loses_no_acknowledged_work(socket_bot):
    intake = await socket_bot.intake_modal()
    socket_bot.fake.delay["chat.postMessage"] = SLOW
    ack = await socket_bot.ask("interactive", submission(JORDAN, intake, ANSWERS, "VDROP1"))
    assert ack.payload is None
    await socket_bot.socket.close()  # while the case's root is being posted
    await socket_bot.socket.connected(2)
    socket_bot.fake.delay.clear()
    await socket_bot.until(lambda: len(socket_bot.posts()) >= 2, "root and confirmation")
    await socket_bot.settle()
    (case,) = [c for _, c in await socket_bot.store.scan("cases")]
    assert case["thread"]["thread"] and len(socket_bot.posts()) == 2


async def test_what_nothing_handles_gets_the_same_polite_answers_as_over_http(socket_bot):
    before = len(socket_bot.fake.calls)
    ack = await socket_bot.ask("slash_commands", command(JORDAN, name="/other"))
    assert ack.payload == UNKNOWN_COMMAND
    stale = submission(JORDAN, {"callback_id": "retired_form", "private_metadata": "{}", "blocks": []}, {}, "VOLD")
    ack = await socket_bot.ask("interactive", stale)
    assert ack.payload == {"response_action": "update", "view": STALE_FORM}
    ack = await socket_bot.ask("interactive", {"type": "view_closed", "user": {"id": JORDAN}})
    assert ack.payload is None
    broken = command(JORDAN)
    broken["user_id"] = {"id": JORDAN}  # not a payload Slack sends: acknowledged, and nothing done
    ack = await socket_bot.ask("slash_commands", broken)
    assert ack.payload is None
    await socket_bot.settle()
    assert len(socket_bot.fake.calls) == before  # nothing was called on Slack for any of them


async def test_too_much_in_flight_is_said_politely_or_left_unacked_to_be_sent_again(socket_bot):
    intake = await socket_bot.intake_modal()
    socket_bot.core.work.limit = 0
    ack = await socket_bot.ask("slash_commands", command(JORDAN))
    assert "very busy" in ack.payload["text"] and ack.payload["response_type"] == "ephemeral"
    sent = envelope("interactive", submission(JORDAN, intake, ANSWERS, "VBUSY1"), envelope_id="env-busy-1")
    await socket_bot.socket.send(sent)
    await socket_bot.ask("slash_commands", command(JORDAN))  # (answered after it: it has had its turn)
    assert socket_bot.socket.acked("env-busy-1") == []  # not acked: Slack sends it again
    assert await socket_bot.store.scan("cases") == []
    socket_bot.core.work.limit = 500
    await socket_bot.socket.send({**sent, "retry_attempt": 1, "retry_reason": "timeout"})
    assert (await socket_bot.socket.ack_of("env-busy-1")).payload is None
    await socket_bot.until(lambda: len(socket_bot.posts()) >= 2, "root and confirmation")


async def test_readiness_follows_the_connection_and_envelopes_are_counted(aiohttp_server, caplog):
    caplog.set_level(logging.DEBUG)
    socket_bot = await start_socket_bot(aiohttp_server, ping=0.5)
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{socket_bot.server.port}"
        async with session.get(url + "/readyz") as ready:
            assert ready.status == 200, await ready.text()
        socket_bot.socket.refuse = "internal_error"  # Slack will not give a new URL for a while
        await socket_bot.socket.close()
        await socket_bot.socket.until(lambda: len(socket_bot.socket.opened) >= 2, "a reconnection attempt")
        async with session.get(url + "/readyz") as ready:
            assert ready.status == 503
            assert any("Socket Mode" in r for r in (await ready.json())["reasons"])
        socket_bot.socket.refuse = ""
        await socket_bot.socket.connected(2)
        await socket_bot.until(lambda: len(socket_bot.socket.opened) >= 3, "a new URL")
        await socket_bot.ask("slash_commands", command(JORDAN))
        async with session.get(url + "/readyz") as ready:
            assert ready.status == 200, await ready.text()
        async with session.get(url + "/metrics") as metrics:
            text = await metrics.text()
    assert 'escalation_requests_total{route="socket_mode",status="200"} 1.0' in text
    assert 'escalation_ack_seconds_count{route="socket_mode"} 1.0' in text
    # What the bot logged (not the fake's access log): never a token, nor a connection URL's one-time ticket.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "has been established" in logged
    assert APP_TOKEN not in logged and TOKEN not in logged
    assert "ticket=" not in logged.replace("ticket=[redacted]", "")


async def test_a_stop_closes_the_socket_before_the_store(socket_bot):
    socket, store = socket_bot.socket, socket_bot.store
    seen_open: list[bool] = []
    close = store.close

    async def closing() -> None:
        seen_open.append(socket.sockets[-1].closed)  # the socket was closed when the store began to close
        await close()

    store.close = closing
    await socket_bot.server.close()
    assert seen_open == [True]


def test_serve_says_slack_is_live_over_socket_mode():
    settings = read_settings({"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN,
                              "SLACK_CASES_CHANNEL": CASES_CHANNEL})
    lines = channel_lines("127.0.0.1", 3978, "data", settings)
    (slack,) = [line for line in lines if line.strip().startswith("Slack:")]
    assert "live over Socket Mode (no public address needed" in slack and "/slack/events" not in slack
    assert CASES_CHANNEL in slack and APP_TOKEN not in "\n".join(lines)


def test_the_sdk_log_never_carries_a_connection_tickets_or_its_traceback():
    try:
        raise ConnectionError("404, message='Invalid response status', url='wss://x/link/?ticket=abc123&app_id=A1'")
    except ConnectionError:
        record = logging.LogRecord("adapters.slack.socket_sdk", logging.ERROR, __file__, 1,
                                   "Failed to connect (error: %s); Retrying...", ("url='wss://x/link/?ticket=abc123'",),
                                   sys.exc_info())
    assert Redacted().filter(record)
    assert record.getMessage() == ("Failed to connect (error: url='wss://x/link/?ticket=[redacted]'); Retrying... "
                                   "(ConnectionError)")
    assert record.exc_info is None


async def test_an_operators_command_sends_through_slack_but_opens_no_socket(aiohttp_server):
    """`tick` and the like connect the channels to deliver what they send (build_app with serving=False): they must
    take no envelopes, so no Socket Mode connection is opened."""
    bot = await start_socket_bot(aiohttp_server)
    from policies.loader import load_policies

    app = build_app(MemoryStore(), load_policies(ids=("surrey",)), bot.settings, bot.clock, run_scheduler=False,
                    serving=False)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await asyncio.sleep(0.2)
        assert len(bot.socket.opened) == 1  # the serving bot's only
        assert app[SLACK_SOCKET].client is None
    finally:
        await runner.cleanup()


async def test_readiness_says_why_slack_refuses_the_first_connection(aiohttp_server):
    socket_bot = SocketBot(aiohttp_server, MemoryStore(), None)
    socket_bot.socket.refuse = "invalid_auth"  # (a token pasted wrong, or Socket Mode off in the app's settings)
    await socket_bot.start(wait=False)
    await socket_bot.socket.until(lambda: len(socket_bot.socket.opened) >= 1, "a first attempt")
    url = f"http://127.0.0.1:{socket_bot.server.port}/readyz"
    async with aiohttp.ClientSession() as session:
        for _ in range(100):  # (the reason is kept once the refusal is read)
            async with session.get(url) as ready:
                reasons = (await ready.json()).get("reasons", [])
            if any("invalid_auth" in reason for reason in reasons):
                break
            await asyncio.sleep(0.02)
        assert ready.status == 503
        assert "the Slack Socket Mode connection is not open (Slack refused it: invalid_auth; check SLACK_APP_TOKEN)" \
            in reasons
        socket_bot.socket.refuse = ""
        await socket_bot.socket.connected(1)  # (tried again a second later)
        async with session.get(url) as ready:
            assert ready.status == 200, await ready.text()
    await socket_bot.server.close()
