"""A real bot server on 127.0.0.1 with Teams mounted (no app id: the Emulator's mode), and a fake Bot Connector.

Fixtures: `teams_bot` (case threads in the cases channel), `teams_bot_dm` (no TEAMS_CASES_CHANNEL: the case thread is
the practitioner's personal chat) and `teams_jwt` (MICROSOFT_APP_ID set: every request's token is checked, against
locally generated signing keys). Import them explicitly from this module.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from conftest import CHILD_DOB, CHILD_NAME
from fakes.bot_connector import Call, FakeConnector
from teams_support import (
    APP_ID,
    CASES_CHANNEL,
    JORDAN,
    TENANT,
    SigningKeys,
    card_submit,
    patch_openid,
    personal_chat,
    personal_message,
)

from adapters.teams.files import Consent
from adapters.teams.mount import TEAMS_BOT
from bot.app import CORE, build_app
from bot.config import read_settings
from bot.dates.clock import FixedClock
from bot.dates.workdays import LONDON
from policies.loader import load_policies
from storage.memory_store import MemoryStore

# A complete, valid Surrey Stage 1 form (the disagreement arose on Monday 23 November 2026, the clock's day).
ANSWERS: dict[str, str] = {
    "arose_on": "2026-11-23", "other_agency": "Northshire Police", "other_professional": "Chris Walker",
    "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed referral",
    "impact": "Risk continues", "desired_change": "Strategy discussion", "discussed_line_manager": "yes",
    "discussed_other": "yes", "child_status": "none", "child_name": CHILD_NAME, "child_dob": CHILD_DOB,
}
TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=LONDON)  # one working day before the stage 1 due date


def inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every input of a card, in order (inside containers too)."""
    found: list[dict[str, Any]] = []
    for item in card.get("body", []):
        if item.get("type", "").startswith("Input."):
            found.append(item)
        found += inputs({"body": item.get("items", [])})
    return found


def submit_data(card: dict[str, Any], title: str | None = None) -> dict[str, Any]:
    """The data of the card's submit button (the one titled `title`, else the first)."""
    actions = [a for a in card.get("actions", []) if title is None or a["title"] == title]
    return dict(actions[0]["data"])


class TeamsHarness:
    def __init__(self, url: str, fake: FakeConnector, connector_url: str, app: Any, clock: FixedClock,
                 store: MemoryStore) -> None:
        self.url = url
        self.fake = fake
        self.connector = connector_url
        self.app = app
        self.clock = clock
        self.store = store
        self.session = aiohttp.ClientSession()

    @property
    def core(self) -> Any:
        return self.app[CORE]

    async def post(self, activity: dict[str, Any] | None = None, *, raw: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, str]:
        data = raw if raw is not None else json.dumps(activity).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        async with self.session.post(self.url + "/api/messages", data=data, headers=sent) as response:
            return response.status, await response.text()

    async def deliver(self, activity: dict[str, Any]) -> list[Call]:
        """Post an activity (expecting success); return the calls the bot made to the connector meanwhile, those it
        made after answering (what the core delivers in the background) included."""
        before = len(self.fake.calls)
        status, body = await self.post(activity)
        assert status == 200, (status, body)
        await self.core.work.settle()
        return self.fake.calls[before:]

    async def say(self, user: tuple[str, str], text: str) -> list[Call]:
        return await self.deliver(personal_message(user, text, self.connector))

    async def submit(self, user: tuple[str, str], conversation: str, reply_to: Call | str,
                     value: dict[str, Any]) -> list[Call]:
        message_id = reply_to if isinstance(reply_to, str) else reply_to.given
        return await self.deliver(card_submit(user, value, self.connector, conversation, message_id))

    async def start_card(self, user: tuple[str, str] = JORDAN) -> Call:
        (sent,) = await self.say(user, "escalate")
        assert sent.card is not None
        return sent

    async def intake_card(self, user: tuple[str, str] = JORDAN) -> Call:
        start = await self.start_card(user)
        assert start.card is not None
        calls = await self.submit(user, personal_chat(user), start,
                                  {**submit_data(start.card), "immediate_risk": "no"})
        (intake,) = [c for c in calls if c.method == "reply" and c.card and inputs(c.card)]
        return intake

    async def open_case(self, user: tuple[str, str] = JORDAN, answers: dict[str, str] | None = None) -> dict[str, Any]:
        """The whole intake through Teams; returns the stored case once its root message has been posted."""
        intake = await self.intake_card(user)
        assert intake.card is not None
        await self.submit(user, personal_chat(user), intake, {**submit_data(intake.card), **(answers or ANSWERS)})
        cases = await self.store.scan("cases")
        return cases[-1][1]

    async def tick(self, at: datetime) -> list[Any]:
        """Move the clock and run one scheduler pass (with its deliveries); the nudges it queued."""
        self.clock.set(at)
        report = await self.core.tick(at, expire=False)
        await self.core.work.settle()
        return list(report.sent)

    def snapshot(self) -> str:
        """Everything stored about cases, as text: to show that a request changed nothing."""
        return json.dumps({k: v for k, v in self.store._data.items() if k in ("cases", "openings", "dialogs")},
                          sort_keys=True, default=str)


async def start_bot(aiohttp_server: Any, monkeypatch: Any, cases_channel: str = CASES_CHANNEL,
                    app_id: str = "", identity: dict[str, str] | None = None) -> TeamsHarness:
    """`app_id`: a single-tenant bot with a client secret (the default app type), unless `identity` gives the
    MICROSOFT_APP_* settings beside the app id."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    fake = FakeConnector()
    fake_server = await aiohttp_server(fake.app(), host="127.0.0.1")
    env = {"BOT_POLICY": "surrey", "BOT_TEAMS_EMULATOR": "1"}
    if cases_channel:
        env["TEAMS_CASES_CHANNEL"] = cases_channel
    if app_id:
        env["MICROSOFT_APP_ID"] = app_id
        env.update(identity or {"MICROSOFT_APP_PASSWORD": "not-a-real-secret", "MICROSOFT_APP_TENANT_ID": TENANT})
    settings = read_settings(env)
    clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))
    store = MemoryStore()
    app = build_app(store, load_policies(ids=("surrey",)), settings, clock, run_scheduler=False)
    # The one upload place allowed besides OneDrive / SharePoint: the fake's, for the file-consent tests.
    app[TEAMS_BOT].consent = Consent((f"http://127.0.0.1:{fake_server.port}/upload/",))
    server = await aiohttp_server(app, host="127.0.0.1")
    return TeamsHarness(f"http://127.0.0.1:{server.port}", fake, f"http://127.0.0.1:{fake_server.port}/", app,
                        clock, store)


@pytest.fixture
async def teams_bot(aiohttp_server, monkeypatch):
    bot = await start_bot(aiohttp_server, monkeypatch)
    yield bot
    await bot.session.close()


@pytest.fixture
async def teams_bot_dm(aiohttp_server, monkeypatch):
    bot = await start_bot(aiohttp_server, monkeypatch, cases_channel="")
    yield bot
    await bot.session.close()


@pytest.fixture
async def teams_jwt(aiohttp_server, monkeypatch):
    keys = SigningKeys()
    patch_openid(monkeypatch, keys)
    bot = await start_bot(aiohttp_server, monkeypatch, app_id=APP_ID)
    bot.keys = keys  # type: ignore[attr-defined]
    yield bot
    await bot.session.close()


def no_child_identifiers(fake: FakeConnector) -> None:
    everything = fake.everything()
    assert CHILD_NAME not in everything and CHILD_DOB not in everything
    assert "03/02/2015" not in everything and "3 February 2015" not in everything
