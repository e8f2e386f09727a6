"""The bot as it is deployed, for tests that stop it the hard way: `python -m bot serve` in a process of its own on
127.0.0.1, over a TinyDB data directory that outlives it, with fakes of Slack's Web API and the Bot Connector in
another process (they outlive the bot too, so what it posted before a kill can be counted after).

The store is read while the bot runs as a guest (`TinyDBStore(shared=True)`), as an operator's export would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.dates.workdays import LONDON
from bot.types import ThreadRef
from storage.base import Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SECRET = "deployment-signing-secret"
TOKEN = "xoxb-deployment-token"
CASES_CHANNEL = "C0CASES01"
JORDAN = "U0DEMO0001"  # practitioner@example.org in the demo directory (Slack)
TEAMS_JORDAN = ("29:demo-jordan-ellis", "Jordan Ellis")  # the same person in Teams
TEAMS_CASES = "19:cases0001@thread.tacv2"
TEAMS_CHAT = f"a:personal-{TEAMS_JORDAN[0]}"
MASTER_KEY = "dGVzdHMtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzLSE"  # (32 bytes: every replica of a deployment holds the same)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signed(body: str, content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def slash_command(user: str, text: str = "", trigger: str = "") -> str:
    return urlencode({"command": "/escalate", "text": text, "user_id": user, "user_name": user.lower(),
                      "channel_id": CASES_CHANNEL, "team_id": "T111",
                      "trigger_id": trigger or f"trigger-{time.time_ns()}"})


def view_submission(user: str, view: dict[str, Any], answers: dict[str, Any], view_id: str) -> str:
    """The real view_submission payload (tests/fixtures/slack) carrying `view` with Slack-shaped answers."""
    payload = json.loads((FIXTURES / "slack" / "view_submission.json").read_text())
    payload["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"}
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input" or block["block_id"] not in answers:
            continue
        value, kind = answers[block["block_id"]], block["element"]["type"]
        if kind in ("radio_buttons", "static_select"):
            field: dict[str, Any] = {"type": kind, "selected_option": {"value": value}}
        elif kind == "datepicker":
            field = {"type": kind, "selected_date": value}
        else:
            field = {"type": kind, "value": value}
        state[block["block_id"]] = {"answer": field}
    payload["view"] = {**payload["view"], "callback_id": view["callback_id"],
                       "private_metadata": view["private_metadata"], "blocks": view["blocks"], "id": view_id,
                       "state": {"values": state}}
    return urlencode({"payload": json.dumps(payload)})


def teams_activity(service_url: str, *, text: str = "", value: dict[str, Any] | None = None,
                   reply_to: str = "", activity_id: str = "") -> dict[str, Any]:
    """A message in Jordan's personal chat with the bot (the real fixture's shape): typed text, or a card's submit."""
    activity = json.loads((FIXTURES / "teams" / "teams_personal_message.json").read_text())
    activity.update(id=activity_id or f"m{time.time_ns()}", serviceUrl=service_url, text=text, attachments=[],
                    recipient={"id": "28:escalation-bot", "name": "Escalation bot"})
    activity["from"] = {"id": TEAMS_JORDAN[0], "name": TEAMS_JORDAN[1]}
    activity["conversation"] = {"conversationType": "personal", "id": TEAMS_CHAT}
    if value is not None:
        activity.update(value=value, replyToId=reply_to)
    return activity


def submit_data(card: dict[str, Any]) -> dict[str, Any]:
    """What a card's (first) submit button sends back."""
    return dict(card["actions"][0]["data"])


class Fakes:
    """Slack's Web API and the Bot Connector, faked in a process of their own that keeps every call."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fakes" / "serve.py"), "--keep"],
                                     stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "NO_PROXY": "127.0.0.1"})
        assert self.proc.stdout is not None
        ports = dict(part.split("=") for part in self.proc.stdout.readline().split())
        self.slack = f"http://127.0.0.1:{ports['slack']}"
        self.connector = f"http://127.0.0.1:{ports['connector']}/"

    async def activities(self) -> list[dict[str, Any]]:
        """Every message delivered to the fake Bot Connector, in order (with its card and the id it was given)."""
        async with aiohttp.ClientSession() as session, session.get(self.connector + "_activities") as response:
            return list(await response.json())

    async def posts(self) -> list[dict[str, Any]]:
        """Every message posted to the fake Slack, in order."""
        async with aiohttp.ClientSession() as session, session.get(self.slack + "/_posts") as response:
            return list(await response.json())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Bot:
    """`python -m bot serve` over `data`, with Slack mounted (cases posted in CASES_CHANNEL)."""

    def __init__(self, data: Path, fakes: Fakes, logs: Path, policy: str = "", clock: str = "",
                 database: tuple[str, str] | None = None) -> None:
        self.database = database  # (a PostgreSQL URL and schema: a replica on that database, not on `data`)
        self.policy = policy
        self.clock = clock  # (an ISO time the process's clock starts from: tests/deploy/shifted)
        self.data = data
        self.fakes = fakes
        self.logs = logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.data.parent), "NO_PROXY": "127.0.0.1",
               "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_CASES_CHANNEL": CASES_CHANNEL,
               "SLACK_API_URL": self.fakes.slack + "/api/", "BOT_TICK_SECONDS": "5",
               "BOT_TEAMS_EMULATOR": "1", "TEAMS_CASES_CHANNEL": TEAMS_CASES, "BOT_MASTER_KEY": MASTER_KEY,
               **({"BOT_POLICY": self.policy} if self.policy else {}),
               **({"BOT_DATABASE_URL": self.database[0], "BOT_DATABASE_SCHEMA": self.database[1]}
                  if self.database else {}),
               **({"TEST_CLOCK_START": self.clock, "PYTHONPATH": str(ROOT / "tests" / "deploy" / "shifted")}
                  if self.clock else {})}
        log = (self.logs / f"run-{self.runs}.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(self.port), "--data",
                                      str(self.data)], stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT,
                                     env=env)
        log.close()
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "procedures:" in line:
                break
        else:
            raise AssertionError(f"the bot did not start: {self.log(self.runs)[-2000:]}")

    def kill(self) -> None:
        """kill -9: no warning, nothing finishes."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, seconds: float = 40) -> int:
        """SIGTERM, as a deploy does; its exit code once it has stopped."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=seconds)

    def log(self, run: int) -> str:
        return (self.logs / f"run-{run}.log").read_text()

    def tracebacks(self) -> list[str]:
        """Every run's log lines that start a traceback."""
        return [line for run in range(1, self.runs + 1) for line in self.log(run).splitlines()
                if "Traceback" in line]

    def store(self) -> Store:
        """The bot's store as an operator's command opens it, to read beside it (TinyDB: as a guest), its sealed
        fields opened with the deployment's master key."""
        from bot.config import deployment_store, read_settings

        if self.database:
            settings = read_settings({"BOT_DATABASE_URL": self.database[0], "BOT_DATABASE_SCHEMA": self.database[1],
                                      "BOT_MASTER_KEY": MASTER_KEY})
            return deployment_store(settings, self.data)
        return deployment_store(read_settings({"BOT_MASTER_KEY": MASTER_KEY}), self.data, shared=True)

    async def read(self, collection: str) -> list[tuple[str, dict[str, Any]]]:
        """A collection as stored now (read beside the running bot)."""
        async with self.store() as store:
            return await store.scan(collection)

    async def keys(self, collection: str) -> list[str]:
        async with self.store() as store:
            return await store.keys(collection)

    async def until_settled(self, seconds: float = 120) -> None:
        """Until nothing is left to handle or deliver: the inbox empty, no message waiting in the outbox."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            inbox, letters = await self.keys("inbox"), await self.keys("outbox_due")
            if not inbox and not letters:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"not settled: {len(inbox)} forms, {len(letters)} messages waiting")

    async def post(self, session: aiohttp.ClientSession, body: str) -> tuple[int, str]:
        async with session.post(self.url + "/slack/events", data=body.encode(), headers=signed(body)) as response:
            return response.status, await response.text()

    async def teams(self, session: aiohttp.ClientSession, activity: dict[str, Any]) -> int:
        async with session.post(self.url + "/api/messages", json=activity) as response:
            await response.read()
            return response.status

    async def intake_card(self, session: aiohttp.ClientSession) -> tuple[dict[str, Any], str]:
        """The Stage 1 card as the bot posts it in Teams, and its message id: "escalate", then "no immediate
        risk" on the first card."""
        async def card_after(count: int) -> tuple[dict[str, Any], str]:
            for _ in range(200):
                cards = [a for a in await self.fakes.activities() if a["card"] and a["card"].get("actions")]
                if len(cards) > count:
                    return cards[-1]["card"], cards[-1]["given"]
                await asyncio.sleep(0.05)
            raise AssertionError("no card")

        before = len([a for a in await self.fakes.activities() if a["card"] and a["card"].get("actions")])
        assert await self.teams(session, teams_activity(self.fakes.connector, text="escalate")) == 200
        start, start_id = await card_after(before)
        value = {**submit_data(start), "immediate_risk": "no"}
        assert await self.teams(session, teams_activity(self.fakes.connector, value=value, reply_to=start_id)) == 200
        return await card_after(before + 1)

    async def intake_view(self, session: aiohttp.ClientSession, user: str = JORDAN,
                          view_id: str = "VSTART") -> dict[str, Any]:
        """The Stage 1 form as the bot opens it for `user`: /escalate, then "no immediate risk" on the first modal
        (`view_id`: that modal's, each time another, so that the submission is not taken for a replay)."""
        async with session.get(self.fakes.slack + "/_views") as response:
            opened = len(await response.json())
        status, _ = await self.post(session, slash_command(user))
        assert status == 200
        start = None
        for _ in range(100):
            async with session.get(self.fakes.slack + "/_views") as response:
                views = await response.json()
            if len(views) > opened:
                start = views[-1]
                break
            await asyncio.sleep(0.05)
        assert start is not None, "views.open"
        status, text = await self.post(session, view_submission(user, start, {"immediate_risk": "no"}, view_id))
        assert status == 200, text
        return dict(json.loads(text)["view"])


# --- what the tests over a deployed bot share -----------------------------------------------------------------
@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[Bot]:
    """The bot as deployed, over TinyDB with Slack mounted (the surrey procedure), stopped after the test."""
    fakes = Fakes()
    (tmp_path / "logs").mkdir()
    bot = Bot(tmp_path / "data", fakes, tmp_path / "logs", policy="surrey")
    yield bot
    if bot.proc is not None and bot.proc.poll() is None:
        bot.stop()
    fakes.close()


TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)  # a working day, after nudges' 09:00


def answers(arose: date) -> dict[str, str]:
    """A complete Surrey Stage 1 form, the disagreement arising on `arose`."""
    return {"arose_on": arose.isoformat(), "other_agency": "Northshire Police", "other_professional": "Chris Walker",
            "other_role": "Detective Constable", "category": "safeguarding_decision", "disputed": "Closed referral",
            "impact": "Risk continues", "desired_change": "Strategy discussion", "discussed_line_manager": "yes",
            "discussed_other": "yes", "child_status": "none", "child_name": "Tallulah Quenby-Marsh",
            "child_dob": "2015-02-03"}


class Unreachable:
    """The cases were opened before the bot served Slack: their messages wait in the outbox for it."""

    def reaches(self, thread: ThreadRef) -> bool:
        return False

    async def post(self, thread: ThreadRef, reply: Any, via: Any = None, key: str = "") -> ThreadRef:
        raise AssertionError("not reachable")


async def open_cases_weeks_ago(store: Store, count: int) -> None:
    """`count` Surrey cases opened through Slack into `store` (not yet open) four weeks before TUESDAY_10: their
    nudges are all due then."""
    from bot.app import build_core
    from bot.config import read_settings
    from bot.dates.clock import FixedClock
    from bot.jobs.outbox import ChannelInfo
    from bot.people.directory_csv import demo_directory
    from bot.types import Event, UserRef
    from policies.loader import load_policies

    weeks_ago = TUESDAY_10 - timedelta(weeks=4)
    settings = read_settings({"SLACK_CASES_CHANNEL": CASES_CHANNEL})
    async with store:
        core = build_core(store, load_policies(ids=("surrey",)), FixedClock(weeks_ago),
                          directory=demo_directory(["surrey"]), settings=settings)
        core.door.connect(ChannelInfo("slack", forms=True, command="/escalate", cases_place=CASES_CHANNEL),
                          Unreachable())
        me = ThreadRef("slack", JORDAN)
        for i in range(count):
            event = Event.submitted(UserRef("slack", JORDAN), me, answers(weeks_ago.date()),
                                    {"step": "intake", "policy": "surrey"}, event_id=f"seed-{i}", reply_to=me)
            taken = await core.door.submit(event)
            assert taken.ticket, taken
            await core.door.process(taken.ticket)
