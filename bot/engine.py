"""The conversation core: adapters hand it neutral Events; dialogs decide; it stores, and returns Replies."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any

from bot import messages
from bot.cases import audit, emergency_record, make_ref, new_case
from bot.clock import Clock
from bot.types import Event, Reply, ThreadRef, UserRef
from bot.workdays import london_today
from dialogs import intake
from policies.model import Policy
from storage.base import Store

log = logging.getLogger(__name__)
REF_PATTERN = re.compile(r"^ESC-\d{4}-\d{4,}$", re.IGNORECASE)


class Engine:
    """One conversation core behind every channel. Events from one user are handled one at a time."""

    def __init__(self, store: Store, policies: Mapping[str, Policy], clock: Clock) -> None:
        if not policies:
            raise ValueError("at least one policy is needed")
        self.store = store
        self.policies = dict(policies)
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def handle(self, event: Event) -> list[Reply]:
        """Answer one event. A repeated event id (a platform retry) has no second effect."""
        async with self._lock(event.user.key):
            if event.event_id and await self.store.get("events", event.event_id) is not None:
                log.info("duplicate event ignored")
                return []
            replies = await self._dispatch(event)
            if event.event_id:
                await self.store.put("events", event.event_id, {"at": self.clock.now().isoformat()})
            return replies

    async def _dispatch(self, event: Event) -> list[Reply]:
        key = dialog_key(event.user, event.thread)
        dialog = await self.store.get("dialogs", key)
        if dialog is not None and dialog.get("step") == "done":
            # A restart interrupted opening this dialog's case: finish that first, exactly once.
            finished = await self._finish(key, dialog, event)
            return [finished, *await self._dispatch(event)]
        if event.form is not None:
            return await self._submit_form(event)
        text = event.text.strip()
        command, _, rest = text.lstrip("/").partition(" ")
        command = command.lower()
        if command == "escalate" and not rest.strip():
            if dialog is not None:
                question = intake.current_question(dialog, self.policies)
                return [Reply("You already have an escalation in progress. Answer below, or type cancel.", question)]
            outcome = intake.start(self.policies, self.clock.now().isoformat())
            await self.store.put("dialogs", key, outcome.state or {})
            return list(outcome.replies)
        if command == "escalate":
            command, _, rest = rest.strip().partition(" ")
            command = command.lower()
        if dialog is not None:
            return await self._answer(key, dialog, event)
        if command in ("help", "?", ""):
            return [Reply(messages.HELP)]
        if command == "status":
            return [await self._status(event.user, rest.strip())]
        if command in intake.CANCEL_WORDS:
            return [Reply("There is nothing to cancel. Type escalate to start.")]
        return [Reply("Sorry, I did not understand that. Type escalate to start, or help to see what I can do.")]

    async def _answer(self, key: str, dialog: dict[str, Any], event: Event) -> list[Reply]:
        today = london_today(self.clock.now())
        outcome = intake.handle_text(dialog, event.text, self.policies, today)
        if outcome.effect == "open_case":
            assert outcome.state is not None
            await self.store.put("dialogs", key, outcome.state)
            return [await self._finish(key, outcome.state, event)]
        if outcome.effect == "immediate_harm":
            reply = await self._emergency(f"dialog:{key}:{dialog.get('started_at')}", outcome.policy_id, event)
            await self.store.delete("dialogs", key)
            return [reply]
        if outcome.state is None:
            await self.store.delete("dialogs", key)
        else:
            await self.store.put("dialogs", key, outcome.state)
        return list(outcome.replies)

    async def _finish(self, key: str, dialog: Mapping[str, Any], event: Event) -> Reply:
        """Open the case a completed dialog describes (exactly once), then forget the dialog."""
        policy = self.policies[dialog["policy"]]
        reply = await self._open_case(
            f"dialog:{key}:{dialog.get('started_at')}", policy, dialog["answers"], event.user, event.thread
        )
        await self.store.delete("dialogs", key)
        return reply

    async def _submit_form(self, event: Event) -> list[Reply]:
        assert event.form is not None
        form = dict(event.form)
        policy = self.policies.get(str(form.get("policy") or "")) if len(self.policies) > 1 else None
        policy = policy or (next(iter(self.policies.values())) if len(self.policies) == 1 else None)
        if policy is None:
            question = intake.policy_question(self.policies)
            return [Reply("Please choose the partnership.", form=(question,), errors={"policy": "Required."})]
        outcome = intake.submit_form(policy, form, london_today(self.clock.now()))
        idem = f"form:{event.event_id or event.user.key + ':' + self.clock.now().isoformat()}"
        if outcome.effect == "immediate_harm":
            return [await self._emergency(idem, policy.id, event)]
        if outcome.effect == "open_case":
            return [await self._open_case(idem, policy, outcome.answers, event.user, event.thread)]
        return list(outcome.replies)

    async def _allocate_ref(self, idem: str) -> tuple[str, bool]:
        """The reference for one opening, allocated once per idempotency key. True if newly allocated."""
        held = await self.store.get("openings", idem)
        if held is not None:
            return str(held["ref"]), False
        year = london_today(self.clock.now()).year
        ref = make_ref(year, await self.store.next_sequence(f"case-{year}"))
        if not await self.store.create("openings", idem, {"ref": ref}):
            held = await self.store.get("openings", idem)
            assert held is not None
            return str(held["ref"]), False
        return ref, True

    async def _open_case(
        self, idem: str, policy: Policy, answers: Mapping[str, Any], user: UserRef, thread: ThreadRef
    ) -> Reply:
        now = self.clock.now()
        ref, _ = await self._allocate_ref(idem)
        await self.store.create("cases", ref, new_case(ref, policy, answers, user, thread, now))
        case = await self.store.get("cases", ref)
        assert case is not None
        log.info("case opened: %s (%s)", ref, policy.id)
        return Reply(messages.case_opened(policy, case, london_today(now)), kind="case_opened", case_ref=ref)

    async def _emergency(self, idem: str, policy_id: str, event: Event) -> Reply:
        policy = self.policies[policy_id]
        ref, _ = await self._allocate_ref(idem)
        record = emergency_record(ref, policy, event.user, event.thread, self.clock.now())
        await self.store.create("cases", ref, record)
        log.info("immediate-harm route given: %s (%s)", ref, policy.id)
        return Reply(messages.emergency(policy, ref), kind="emergency", case_ref=ref)

    async def _status(self, user: UserRef, ref: str) -> Reply:
        if not ref:
            return Reply("Which case? For example: status ESC-2026-0001")
        if not REF_PATTERN.match(ref):
            return Reply(f"{ref} is not a case reference; they look like ESC-2026-0001.")
        case = await self.store.get("cases", ref.upper())
        if case is None or not self._may_see(user, case):
            return Reply(f"I cannot find a case {ref.upper()} that you can see. Check the reference.")
        return Reply(messages.status(self.policies.get(case["policy"]), case), case_ref=case["ref"])

    def _may_see(self, user: UserRef, case: Mapping[str, Any]) -> bool:
        raised = case["raised_by"]
        return bool(raised["channel"] == user.channel and raised["id"] == user.id)

    async def record(self, ref: str, user: UserRef | None, action: str, detail: str = "") -> None:
        """Append an audit entry to a case."""
        entry = audit(self.clock.now(), user, action, detail)

        def add(case: dict[str, Any] | None) -> dict[str, Any]:
            if case is None:
                raise KeyError(ref)
            return {**case, "events": [*case["events"], entry]}

        await self.store.update("cases", ref, add)


def dialog_key(user: UserRef, thread: ThreadRef) -> str:
    """One dialog per user per conversation."""
    return f"{user.key}|{thread.channel}:{thread.conversation}"
