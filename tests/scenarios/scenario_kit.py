"""A small world for scenario tests: one engine over the demo directory, a recording console sender, named people.

The people are the fictional ones in bot/people/demo/directory.csv. Jordan Ellis (a Northshire Children's Services
social worker) raises every case, about a decision of Chris Walker (a detective constable in Northshire Police):

    Northshire Children's Services: Jordan Ellis -> Lena Okafor (team manager) -> David Hughes (service manager)
                                    -> Ruth Adeyemi (head of service)
    Northshire Police:              Chris Walker (DC) -> Priya Nair (DS) -> Sam Patel (DI, safeguarding lead, SLO)
                                    -> Helen Brooks (head of public protection)
    Partnership:                    Kim Fraser (business unit)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conftest import POLICY_IDS, Chat  # (POLICY_IDS: every procedure in the policy folder)

from bot.app import build_core
from bot.config import read_settings
from bot.dates.clock import FixedClock
from bot.dates.workdays import LONDON
from bot.jobs.outbox import ChannelInfo, SendError
from bot.jobs.scheduler import SentNudge
from bot.people.directory_csv import demo_directory
from bot.types import Event, Reply, ThreadRef
from policies.model import Policy
from storage.base import Store

JORDAN = "practitioner@example.org"
LENA = "lena.okafor@northshire-council.example.org"
DAVID = "david.hughes@northshire-council.example.org"
RUTH = "ruth.adeyemi@northshire-council.example.org"
CHRIS = "chris.walker@northshire-police.example.org"
PRIYA = "priya.nair@northshire-police.example.org"
SAM = "sam.patel@northshire-police.example.org"
HELEN = "helen.brooks@northshire-police.example.org"
KIM = "business.unit@northshire-partnership.example.org"
LUCY = "lucy.bennett@northshire-police.example.org"  # a DC in another police team, not part of the case
EMMA = "emma.clarke@northshire-primary.example.net"  # a teacher with nothing to do with the case
OLIVIA = "olivia.grant@northshire-primary.example.net"  # her line manager, a line manager in another agency
STRANGER = "someone@elsewhere.example.com"  # not in the directory at all

NAMES = {
    JORDAN: "Jordan Ellis", LENA: "Lena Okafor", DAVID: "David Hughes", RUTH: "Ruth Adeyemi",
    CHRIS: "Chris Walker", PRIYA: "Priya Nair", SAM: "Sam Patel", HELEN: "Helen Brooks", KIM: "Kim Fraser",
}

# What Jordan answers in the Stage 1 dialog (the rest come from conftest.DEFAULT_ANSWERS).
OPENING = {"other_agency": "Northshire Police", "other_professional": "Chris Walker",
           "other_role": "Detective Constable"}
CASE_THREAD = ThreadRef("console", JORDAN)


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A London wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


class RecordingSender:
    """The console channel's sender in tests: keeps every delivery; `fail_next(n)` makes the next n sends fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[ThreadRef, Reply]] = []
        self.failures = 0
        self.attempts = 0

    def fail_next(self, times: int = 1) -> None:
        self.failures = times

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None, key: str = "") -> ThreadRef:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise SendError("the console connection is down")
        self.sent.append((thread, reply))
        return thread

    def nudges(self) -> list[Reply]:
        return [reply for _, reply in self.sent if reply.kind == "nudge"]


class World:
    """One core running some procedures, with the demo directory and a recording console sender. `settings` are
    environment variables (e.g. BOT_REVIEW_DAYS)."""

    def __init__(self, store: Store, policies: Mapping[str, Policy], clock: FixedClock, **settings: str):
        self.store = store
        self.clock = clock
        self.policies = dict(policies)
        self.sender = RecordingSender()
        self.core = build_core(store, self.policies, clock, directory=demo_directory(POLICY_IDS),
                               settings=read_settings(settings))
        self.core.outbox.register(ChannelInfo("console", roots=False), self.sender)
        self._chats: dict[str, Chat] = {}

    def person(self, email: str) -> Chat:
        """The same Chat (and transcript) each time for one person."""
        return self._chats.setdefault(email, Chat(self.core, email))

    def set_time(self, when: datetime) -> None:
        self.clock.set(when)

    async def open_case(self, **answers: str) -> Reply:
        """Jordan runs the Stage 1 dialog; the final reply (the case opened)."""
        reply = await self.person(JORDAN).escalate(**{**OPENING, **answers})
        assert reply.kind == "case_opened", reply.text
        return reply

    async def act(self, email: str, command: str, ref: str, *answers: str) -> Reply:
        """`command REF` typed by someone, then their answers one by one; the last reply."""
        chat = self.person(email)
        replies = await chat.say(f"{command} {ref}")
        for answer in answers:
            assert replies, "no reply"
            if replies[-1].question is None:
                return replies[-1]  # refused before any question was asked
            replies = await chat.say(answer)
        assert replies, "no reply"
        return replies[-1]

    async def escalate(self, email: str, ref: str, reason: str = "Still unresolved: no strategy discussion.") -> Reply:
        return await self.act(email, "escalate", ref, reason)

    async def resolve(self, email: str, ref: str, outcome: str = "Strategy discussion held; plan agreed.",
                      follow_up: str = "Both team managers review the plan in two weeks.") -> Reply:
        return await self.act(email, "resolve", ref, outcome, follow_up)

    async def click(self, email: str, action: str, ref: str, stage: int | None, form: Mapping[str, Any],
                    event_id: str = "") -> list[Reply]:
        """A button on a case (Slack modal / Teams card): the whole action's form at once, taken on `stage`."""
        chat = self.person(email)
        event = Event(chat.user, chat.thread, form=form, action=action, case_ref=ref, stage=stage, event_id=event_id)
        replies = await self.core.door.handle(event)
        chat.transcript += replies
        return replies

    async def case(self, ref: str) -> dict[str, Any]:
        case = await self.store.get("cases", ref)
        assert case is not None
        return case

    async def tick(self, when: datetime | None = None) -> list[SentNudge]:
        """One scheduler pass at `when` (the nudges it queued, each then delivered or kept for the next pass)."""
        if when is not None:
            self.clock.set(when)
        report = await self.core.jobs.run_pass(self.clock.now(), expire=False)
        await self.core.work.settle()
        return report.sent

    async def settle(self) -> None:
        """Let what is being delivered in the background finish."""
        await self.core.work.settle()


def events(case: Mapping[str, Any], action: str) -> list[dict[str, str]]:
    return [e for e in case["events"] if e["action"] == action]


def duty_ids(case: Mapping[str, Any]) -> list[str]:
    return [d["id"] for d in case["duties"]]


def nudge_status(case: Mapping[str, Any]) -> dict[str, str]:
    """Nudge id -> status, e.g. {"2:before:2026-12-29": "sent"}."""
    return {n["id"]: n["status"] for n in case["nudges"]}
