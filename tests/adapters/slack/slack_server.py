"""A real bot server on 127.0.0.1 with Slack mounted, talking to a fake Slack Web API.

Fixtures: `slack_bot` (case threads in the cases channel C0CASES01) and `slack_bot_dm` (no SLACK_CASES_CHANNEL: the
case thread is a direct message with the practitioner). Import them explicitly from this module.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from conftest import CHILD_DOB, CHILD_NAME, audit_entries
from fakes.slack_api import FakeSlack
from slack_support import SECRET, TOKEN, signed_headers, slash_command, view_submission

from bot.app import CORE, build_app
from bot.config import read_settings
from bot.dates.clock import FixedClock
from bot.dates.workdays import LONDON
from storage.memory_store import MemoryStore

CASES_CHANNEL = "C0CASES01"
JORDAN = "U0DEMO0001"  # practitioner@example.org: Jordan Ellis, the practitioner
LENA = "U0DEMO0002"  # Lena Okafor, Jordan's line manager (who must act at Surrey stage 1)
CHRIS = "U0DEMO0004"  # Chris Walker, police DC
SAM = "U0DEMO0005"  # Sam Patel, police DI and safeguarding lead
EMMA = "U0DEMO0006"  # Emma Clarke, an unrelated school teacher

# A complete, valid Surrey Stage 1 form (the disagreement arose on Monday 23 November 2026, the clock's day).
ANSWERS: dict[str, Any] = {
    "arose_on": "2026-11-23", "other_agency": "Northshire Police", "other_professional": "Chris Walker",
    "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed referral",
    "impact": "Risk continues", "desired_change": "Strategy discussion", "discussed_line_manager": "yes",
    "discussed_other": "yes", "child_status": "none", "child_name": CHILD_NAME, "child_dob": CHILD_DOB,
}


async def shown(check: Callable[[], Any], what: str, fake: FakeSlack, rounds: int) -> Any:
    """`check()`'s first true result, tried every 10 ms up to `rounds` times (then the test fails, naming `what` and
    the calls the fake Slack had)."""
    for _ in range(rounds):
        result = check()
        if result:
            return result
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}; calls: {[c.method for c in fake.calls]}")


class SlackBot:
    def __init__(self, url: str, fake: FakeSlack, app: Any, clock: FixedClock, store: MemoryStore,
                 cases_channel: str) -> None:
        self.url = url
        self.fake = fake
        self.app = app
        self.clock = clock
        self.store = store
        self.cases_channel = cases_channel
        self.session = aiohttp.ClientSession()
        self._views = 0

    @property
    def core(self) -> Any:
        return self.app[CORE]

    async def post(self, body: str, content_type: str = "application/x-www-form-urlencoded",
                   headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        headers = headers if headers is not None else signed_headers(body, content_type)
        async with self.session.post(self.url + "/slack/events", data=body.encode(), headers=headers) as response:
            await response.read()
            return response

    async def post_json(self, body: str, **kw: Any) -> tuple[int, Any]:
        headers = kw.get("headers") or signed_headers(body, "application/x-www-form-urlencoded")
        async with self.session.post(self.url + "/slack/events", data=body.encode(), headers=headers) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

    async def until(self, check: Callable[[], Any], what: str) -> Any:
        """Wait (bounded) for work bolt runs after its ack to show up at the fake Slack."""
        return await shown(check, what, self.fake, rounds=300)

    async def settle(self, rounds: int = 10) -> None:
        """Let work that runs after an ack finish (used before asserting that nothing more happened)."""
        before = -1
        for _ in range(rounds):
            now = len(self.fake.calls)
            if now == before:
                return
            before = now
            await asyncio.sleep(0.05)

    async def restart(self, aiohttp_server: Any) -> None:
        """Stop the bot as a deploy would (its server closes, its store with it) and start a new one over the same
        store: nothing held in memory survives."""
        from policies.loader import load_policies

        await self.server.close()
        self.app = build_app(self.store, load_policies(ids=(self.policy,)), self.settings, self.clock,
                             run_scheduler=False)
        self.server = await aiohttp_server(self.app)
        self.url = f"http://127.0.0.1:{self.server.port}"

    def view_id(self) -> str:
        self._views += 1
        return f"V{self._views:04d}"

    def posts(self, **match: Any) -> list[dict[str, Any]]:
        """chat.postMessage calls whose arguments include every `match` item."""
        return [c for c in self.fake.called("chat.postMessage") if all(c.get(k) == v for k, v in match.items())]

    def snapshot(self) -> str:
        """Everything stored but the audit log and its head (a refusal is written there), as text: to show that a
        request changed nothing."""
        kept = {k: v for k, v in self.store._data.items() if k != "audit_log" and v}
        if "meta" in kept:
            kept["meta"] = {k: v for k, v in kept["meta"].items() if k != "audit-head"}
        return json.dumps(kept, sort_keys=True)

    async def refusals(self) -> list[dict[str, Any]]:
        """The refusals the audit log holds, oldest first."""
        logged = [doc for doc in await audit_entries(self.store) if doc["action"] == "access_refused"]
        return sorted(logged, key=lambda d: d["at"])

    async def start_modal(self, user: str = JORDAN) -> dict[str, Any]:
        """/escalate, then the start modal the bot opened with the trigger id."""
        count = len(self.fake.called("views.open"))
        response = await self.post(slash_command(user))
        assert response.status == 200
        opened = await self.until(lambda: self.fake.called("views.open")[count:], "views.open")
        return opened[0]["view"]

    async def intake_modal(self, user: str = JORDAN) -> dict[str, Any]:
        start = await self.start_modal(user)
        status, ack = await self.post_json(view_submission(user, start, {"immediate_risk": "no"}, self.view_id()))
        assert status == 200 and ack["response_action"] == "update", ack
        return ack["view"]

    async def open_case(self, user: str = JORDAN, answers: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole intake through Slack; returns the stored case once its root message has been posted."""
        intake = await self.intake_modal(user)
        count = len(self.fake.called("chat.postMessage"))
        status, ack = await self.post_json(view_submission(user, intake, answers or ANSWERS, self.view_id()))
        assert status == 200 and not ack, ack
        await self.until(lambda: len(self.fake.called("chat.postMessage")) >= count + 2, "root and confirmation")
        await self.core.work.settle()  # the deliveries have recorded themselves as sent
        cases = await self.store.scan("cases")
        return cases[-1][1]

    async def tick(self, at: datetime) -> list[Any]:
        """Move the clock and run one scheduler pass (with its deliveries); the nudges it queued."""
        self.clock.set(at)
        report = await self.core.tick(at, expire=False)
        await self.core.work.settle()
        return list(report.sent)

    def everything(self) -> str:
        """Every call the bot made to Slack, as text (to scan for what must never be sent)."""
        return json.dumps([c.args for c in self.fake.calls], ensure_ascii=False)


def answers_for(intake: dict[str, Any], **given: Any) -> dict[str, Any]:
    """A valid answer for every input of an intake modal (for any procedure): ANSWERS where the modal offers them,
    else the first option, a date, "yes" or some text."""
    out: dict[str, Any] = {}
    for block in intake["blocks"]:
        if block.get("type") != "input":
            continue
        qid, element = block["block_id"], block["element"]
        wanted = given.get(qid, ANSWERS.get(qid))
        options = [o["value"] for o in element.get("options", [])]
        if options:
            out[qid] = wanted if wanted in options else options[0]
        elif element["type"] == "datepicker":
            out[qid] = wanted or "2026-11-23"
        else:
            out[qid] = wanted or "Some details."
    return out


async def start_bot(aiohttp_server: Any, cases_channel: str = CASES_CHANNEL, policy: str = "surrey") -> SlackBot:
    fake = FakeSlack(token=TOKEN)
    fake_server = await aiohttp_server(fake.app())
    env = {
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{fake_server.port}/api/", "BOT_POLICY": policy,
    }
    if cases_channel:
        env["SLACK_CASES_CHANNEL"] = cases_channel
    settings = read_settings(env)
    clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))
    from policies.loader import load_policies

    store = MemoryStore()
    app = build_app(store, load_policies(ids=(policy,)), settings, clock, run_scheduler=False)
    server = await aiohttp_server(app)
    bot = SlackBot(f"http://127.0.0.1:{server.port}", fake, app, clock, store, cases_channel)
    bot.server, bot.settings, bot.policy = server, settings, policy
    return bot


@pytest.fixture
async def slack_bot(aiohttp_server):
    bot = await start_bot(aiohttp_server)
    yield bot
    await bot.session.close()


@pytest.fixture
async def slack_bot_dm(aiohttp_server):
    bot = await start_bot(aiohttp_server, cases_channel="")
    yield bot
    await bot.session.close()
