"""Dialogs in progress, stored as they go (one per person per conversation), for channels of plain words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.dates.clock import Clock
from bot.types import ThreadRef, UserRef
from dialogs import actions, intake
from policies.model import Policy, Question
from storage.base import Store
from storage.collections import DIALOGS


class Dialogs:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def key(user: UserRef, thread: ThreadRef) -> str:
        """One dialog per user per conversation."""
        return f"{user.key}|{thread.channel}:{thread.conversation}"

    @staticmethod
    def idem(key: str, dialog: Mapping[str, Any]) -> str:
        """The key of what this dialog opens (a case, an immediate-harm record): the same however often it is tried."""
        return f"dialog:{key}:{dialog.get('started_at')}"

    async def get(self, key: str) -> dict[str, Any] | None:
        return await self.store.get(DIALOGS, key)

    async def save(self, key: str, state: Mapping[str, Any]) -> None:
        """Keep a dialog's state, stamped with when it was last touched (bot.jobs.expiry expires abandoned ones)."""
        await self.store.put(DIALOGS, key, {**state, "touched_at": self.clock.now().isoformat()})

    async def forget(self, key: str) -> None:
        await self.store.delete(DIALOGS, key)


def current_question(dialog: Mapping[str, Any], policies: Mapping[str, Policy]) -> Question | None:
    """The question a stored dialog waits on."""
    if dialog.get("dialog") == actions.DIALOG:
        asked = actions.questions(dialog["action"], policies[dialog["policy"]], dialog["expected_stage"])
        return next((q for q in asked if q.id == dialog["step"]), None)
    return intake.current_question(dialog, policies)
