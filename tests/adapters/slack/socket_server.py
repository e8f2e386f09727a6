"""A real bot on 127.0.0.1 with Slack over Socket Mode, connected to a fake Socket Mode server
(tests/fakes/slack_socket.py) that shares its port with the fake Slack Web API. Payloads are the real fixtures'
(tests/fixtures/slack), in envelopes.

Fixture: `socket_bot` (case threads in C0CASES01). Import it explicitly from this module.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
from fakes.slack_api import FakeSlack
from fakes.slack_socket import Ack, FakeSocketMode, envelope
from slack_server import ANSWERS, CASES_CHANNEL, JORDAN, shown
from slack_support import TOKEN, button_click, fixture, view_submission

from adapters.slack.mount import SLACK_SOCKET
from bot.app import CORE, build_app
from bot.config import read_settings
from bot.dates.clock import FixedClock
from bot.dates.workdays import LONDON
from storage.memory_store import MemoryStore

APP_TOKEN = "xapp-1-A111-fake-app-level-token"
TRIGGERS = itertools.count(1)


def command(user: str, text: str = "", name: str = "/escalate", channel: str = CASES_CHANNEL,
            trigger: str = "") -> dict[str, Any]:
    """The real Socket Mode slash command's payload, with our command, user and text."""
    payload = fixture("socket_mode_slash_commands_envelope.json")["payload"]
    payload.update(command=name, text=text, user_id=user, user_name=user.lower(), channel_id=channel,
                   trigger_id=trigger or f"111.222.socket{next(TRIGGERS)}")
    return payload


def submission(user: str, view: dict[str, Any], answers: dict[str, Any], view_id: str) -> dict[str, Any]:
    """The real view_submission payload carrying our modal and answers (as over HTTP, without the form around it)."""
    return json.loads(parse_qs(view_submission(user, view, answers, view_id))["payload"][0])


def click(user: str, action_id: str, value: str, channel: str, message_ts: str, text: str) -> dict[str, Any]:
    """The real block_actions payload for one of our buttons in a case thread."""
    return json.loads(parse_qs(button_click(user, action_id, value, channel, message_ts, text))["payload"][0])


def mention(user: str, text: str, event_id: str, channel: str = CASES_CHANNEL) -> dict[str, Any]:
    """The real Socket Mode app_mention callback's payload, with our user, words and event id."""
    payload = fixture("socket_mode_events_api_envelope.json")["payload"]
    payload["event_id"] = event_id
    payload["event"].update(user=user, text=f"<@UBOT> {text}", channel=channel)
    return payload


class SocketBot:
    def __init__(self, aiohttp_server: Any, store: MemoryStore, ping: float | None) -> None:
        self.aiohttp_server = aiohttp_server
        self.store = store
        self.ping = ping
        self.fake = FakeSlack(token=TOKEN)
        self.socket = FakeSocketMode(APP_TOKEN, self.fake)
        self.clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))
        self.server: Any = None
        self.app: Any = None

    async def start(self, wait: bool = True) -> None:
        """Start the bot (`wait`: until its socket is connected)."""
        fake_server = await self.aiohttp_server(self.socket.app())
        self.settings = read_settings({
            "SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_CASES_CHANNEL": CASES_CHANNEL,
            "SLACK_API_URL": f"http://127.0.0.1:{fake_server.port}/api/", "BOT_POLICY": "surrey"})
        await self.boot(wait)

    async def boot(self, wait: bool = True) -> None:
        from policies.loader import load_policies

        connections = len(self.socket.sockets)
        self.app = build_app(self.store, load_policies(ids=("surrey",)), self.settings, self.clock,
                             run_scheduler=False)
        if self.ping is not None:
            self.app[SLACK_SOCKET].ping_seconds = self.ping
        self.server = await self.aiohttp_server(self.app)
        if wait:
            await self.socket.connected(connections + 1)

    async def restart(self) -> None:
        """Stop the bot as a deploy would (its socket closes, then its store) and start a new one over the same store:
        nothing held in memory survives."""
        await self.server.close()
        await self.boot()

    @property
    def core(self) -> Any:
        return self.app[CORE]

    async def ask(self, kind: str, payload: dict[str, Any], **kw: Any) -> Ack:
        """Send an envelope; its ack."""
        sent = envelope(kind, payload, **kw)
        before = len(self.socket.acked(sent["envelope_id"]))
        await self.socket.send(sent)
        return await self.socket.ack_of(sent["envelope_id"], after=before)

    async def until(self, check: Callable[[], Any], what: str) -> Any:
        """Wait (bounded) for work the bot does after an ack to show up at the fake Slack."""
        return await shown(check, what, self.fake, rounds=1000)

    async def settle(self) -> None:
        """Let work that runs after an ack finish (before asserting that nothing more happened)."""
        await self.core.work.settle()
        before = -1
        while before != len(self.fake.calls):
            before = len(self.fake.calls)
            await asyncio.sleep(0.05)

    def posts(self) -> list[dict[str, Any]]:
        return self.fake.called("chat.postMessage")

    async def start_modal(self, user: str = JORDAN) -> dict[str, Any]:
        count = len(self.fake.called("views.open"))
        ack = await self.ask("slash_commands", command(user))
        assert ack.payload is None
        return (await self.until(lambda: self.fake.called("views.open")[count:], "views.open"))[0]["view"]

    async def intake_modal(self, user: str = JORDAN) -> dict[str, Any]:
        start = await self.start_modal(user)
        ack = await self.ask("interactive", submission(user, start, {"immediate_risk": "no"}, "VSTART1"))
        assert ack.payload is not None and ack.payload["response_action"] == "update", ack
        return copy.deepcopy(ack.payload["view"])

    async def open_case(self, user: str = JORDAN) -> dict[str, Any]:
        """The whole intake over the socket; the stored case once its root and the confirmation are posted."""
        intake = await self.intake_modal(user)
        count = len(self.posts())
        ack = await self.ask("interactive", submission(user, intake, ANSWERS, "VINTAKE1"))
        assert ack.payload is None, ack
        await self.until(lambda: len(self.posts()) >= count + 2, "root and confirmation")
        await self.core.work.settle()
        return (await self.store.scan("cases"))[-1][1]

    async def nudged(self, at: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        """Open a case and run one scheduler pass at `at`; the case and the nudge posted in its thread."""
        case = await self.open_case()
        self.clock.set(at)
        await self.core.tick(at, expire=False)
        await self.core.work.settle()
        (nudge,) = [p for p in self.posts() if p.get("thread_ts") == case["thread"]["thread"]]
        return case, {**nudge, "ts": self.fake.ts_of(nudge)}


async def start_socket_bot(aiohttp_server: Any, ping: float | None = None) -> SocketBot:
    bot = SocketBot(aiohttp_server, MemoryStore(), ping)
    await bot.start()
    return bot


@pytest.fixture
async def socket_bot(aiohttp_server):
    return await start_socket_bot(aiohttp_server)
