"""Shared fixtures: the real policy files, a fake clock in London, and a conversation driver."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core, build_core
from bot.dates.clock import FixedClock
from bot.dates.workdays import LONDON
from bot.types import Event, Reply, ThreadRef, UserRef
from policies.loader import POLICY_DIR, load_policies
from policies.model import Policy, Question
from storage.memory_store import MemoryStore

# The policy folder the tests read: policies/, or BOT_POLICY_DIR when set (a copy with a partnership's own file beside
# the five). Tests that go through every procedure take their list from it (POLICY_IDS), never from a list of the
# five: tests/policies/test_sixth_procedure.py runs them over a sixth. Tests of one named procedure's own rules name it.
POLICY_FOLDER = Path(os.environ.get("BOT_POLICY_DIR") or POLICY_DIR)
POLICIES: dict[str, Policy] = load_policies(POLICY_FOLDER)
POLICY_IDS: tuple[str, ...] = tuple(POLICIES)
SEED_IDS = ("surrey", "bcssp", "lincolnshire", "medway", "gloucestershire")  # the five built from the seeds

CHILD_NAME = "Tallulah Quenby-Marsh"
CHILD_DOB = "2015-02-03"

# Answers a practitioner gives, by question id; anything else gets a sensible answer for its kind.
DEFAULT_ANSWERS: dict[str, str] = {
    "immediate_risk": "no",
    "arose_on": "today",
    "other_agency": "Northshire Police",
    "other_professional": "DS Jane Doe",
    "other_role": "Detective Sergeant",
    "disputed": "The referral was closed without a strategy discussion.",
    "impact": "The child remains exposed to domestic abuse at home.",
    "desired_change": "A strategy discussion this week.",
    "discussed_line_manager": "yes",
    "discussed_other": "yes",
    "child_status": "none",
    "agency_reference": "NS-4471",
    "child_name": CHILD_NAME,
    "child_dob": CHILD_DOB,
    "child_address": "12 Acacia Avenue, Northtown",
    "review": "confirm",  # the answers shown back before the case opens
}


@pytest.fixture(scope="session")
def all_policies() -> dict[str, Policy]:
    return load_policies(POLICY_FOLDER)


@pytest.fixture
def clock() -> FixedClock:
    # Monday 23 November 2026, 10:00 in London.
    return FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    async with MemoryStore() as memory:
        yield memory


def answer_for(question: Question, answers: Mapping[str, str]) -> str:
    if question.id in answers:
        return answers[question.id]
    if question.kind == "choice":
        return "1"
    if question.kind == "yes_no":
        return "no"
    if question.kind == "date":
        return "today"
    return "skip" if not question.required else "Some details."


def core_for(store, policies: Mapping[str, Policy], clock, **options: Any) -> Core:
    """The core as the composition root builds it (options: `directory`, `settings`)."""
    return build_core(store, policies, clock, **options)


class Chat:
    """One user talking to the core through its door, as a scenario test reads: say, then look at the replies."""

    def __init__(self, core: Core, email: str = "pat@example.org") -> None:
        self.core = core
        self.user = UserRef("console", email, email=email)
        self.thread = ThreadRef("console", email)
        self.transcript: list[Reply] = []

    async def say(self, text: str, event_id: str = "") -> list[Reply]:
        replies = await self.core.door.handle(Event(self.user, self.thread, text=text, event_id=event_id))
        self.transcript += replies
        return replies

    async def submit(self, form: Mapping[str, Any], event_id: str = "") -> list[Reply]:
        replies = await self.core.door.handle(Event(self.user, self.thread, form=form, event_id=event_id))
        self.transcript += replies
        return replies

    async def escalate(self, policy_id: str | None = None, **answers: str) -> Reply:
        """Run the whole Stage 1 dialog; return the final reply (case opened, or the emergency route)."""
        wanted = {**DEFAULT_ANSWERS, **answers}
        replies = await self.say("escalate")
        for _ in range(60):
            last = replies[-1]
            if last.question is None:
                return last
            if last.question.id == "policy":
                assert policy_id, "several policies are enabled: say which"
                replies = await self.say(policy_id)
            else:
                replies = await self.say(answer_for(last.question, wanted))
        raise AssertionError("the dialog did not finish")

    def all_text(self) -> str:
        return "\n".join(r.text for r in self.transcript)


async def audit_entries(store: Any) -> list[dict[str, Any]]:
    """The audit log's entries as an operator reads them: in order, without the chain's own fields (`seq`, `prev`,
    `mac`) and without the cases' openings (the chain's record that each case exists)."""
    return [{k: v for k, v in doc.items() if k not in ("seq", "prev", "mac")}
            for _, doc in sorted(await store.scan("audit_log")) if doc.get("action") != "case_opened"]
