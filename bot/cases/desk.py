"""Case work: opening cases, acting on them (resolve, escalate, extend, duties, harm), who may act and who to ask."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from bot.cases import messages, workflow
from bot.cases.case import emergency_record, make_ref, new_case
from bot.dates.clock import Clock
from bot.dates.workdays import london_today
from bot.jobs.scheduler import Scheduler
from bot.people.directory import Counterparts, Directory, Person, counterparts, named_professional
from bot.types import Reply, ThreadRef, UserRef
from policies.model import Policy
from storage.base import Store

log = logging.getLogger(__name__)
Case = dict[str, Any]
ACTIONS = ("resolve", "escalate", "extend")


class CaseDesk:
    def __init__(self, store: Store, policies: Mapping[str, Policy], clock: Clock, scheduler: Scheduler,
                 directory: Callable[[], Directory]) -> None:
        self.store = store
        self.policies = policies
        self.clock = clock
        self.scheduler = scheduler
        self._directory = directory

    @property
    def directory(self) -> Directory:
        return self._directory()

    # --- who is who -------------------------------------------------------------------------------------------
    def person(self, user: UserRef) -> Person | None:
        return self.directory.by_chat_id(user.channel, user.id) or (
            self.directory.find(user.email) if user.email else None
        )

    def raiser(self, case: Case) -> Person | None:
        raised = case["raised_by"]
        return self.directory.by_chat_id(raised["channel"], raised["id"]) or (
            self.directory.find(raised["email"]) if raised.get("email") else None
        )

    def counterparts(self, policy: Policy, case: Case, stage: int | None = None) -> Counterparts:
        details = case["details"]
        return counterparts(self.directory, policy, stage or case["stage"], self.raiser(case),
                            details.get("raiser_agency", ""), details.get("other_agency", ""),
                            details.get("other_professional", ""))

    def may_act(self, user: UserRef, case: Case, policy: Policy, at_stage: int | None = None) -> bool:
        """The raiser, their managers, whoever must act at the stage (the current one unless `at_stage`) on either
        side, or a safeguarding lead of either agency or of the partnership."""
        raised = case["raised_by"]
        if raised["channel"] == user.channel and raised["id"] == user.id:
            return True
        me = self.person(user)
        if me is None:
            return False
        raiser = self.raiser(case)
        if raiser is not None and me in self.directory.chain(raiser):
            return True
        if case["status"] == "immediate_harm" or case.get("stage") is None:
            return False
        number = at_stage if at_stage is not None and policy.stage(at_stage) else case["stage"]
        sides = self.counterparts(policy, case, number)
        agencies = {raiser.agency if raiser else case["details"].get("raiser_agency", ""), sides.other_agency}
        if "safeguarding_lead" in me.contact_for and self.directory.serves(me, policy.id) and (
            me.agency in agencies or me.tier == "partnership"
        ):
            return True
        if me in (sides.raiser_side, sides.other_side):
            return True
        # In the other agency: the professional the raiser named and their line of management (whom the stages
        # climb); if they are not in the directory, the counterpart the bot named and their line. Never anyone
        # else in that agency merely for being senior enough: they have no part in this child's case.
        stage = policy.stage(number)
        if stage is None or stage.other_tier == "none" or not sides.other_agency or me.agency != sides.other_agency:
            return False  # (an internal stage: the other agency has no part in it yet)
        named = named_professional(self.directory, policy, sides.other_agency,
                                   case["details"].get("other_professional", ""))
        line = named or sides.other_side
        return line is not None and me in self.directory.chain(line)

    async def addressees(self, policy: Policy, case: Case) -> tuple[str, tuple[str, ...], str]:
        """Names (and emails to mention) of whoever must act now, and the next tier's counterpart sentence."""
        sides = self.counterparts(policy, case)
        people = [p for p in (sides.raiser_side, sides.other_side) if p is not None]
        names = " and ".join(p.name for p in people)
        following = policy.next_stage(case["stage"])
        nxt = ""
        if following:
            ahead = self.counterparts(policy, case, following.number)
            nxt = messages.contacts_line(policy, following.number, ahead)
        return names, tuple(p.email for p in people), nxt

    # --- opening ----------------------------------------------------------------------------------------------
    async def allocate_ref(self, idem: str) -> str:
        """The reference for one opening, allocated once per idempotency key."""
        held = await self.store.get("openings", idem)
        if held is not None:
            return str(held["ref"])
        year = london_today(self.clock.now()).year
        ref = make_ref(year, await self.store.next_sequence(f"case-{year}"))
        if not await self.store.create("openings", idem, {"ref": ref}):
            held = await self.store.get("openings", idem)
            assert held is not None
            return str(held["ref"])
        return ref

    async def open_case(self, idem: str, policy: Policy, answers: Mapping[str, Any], user: UserRef,
                        thread: ThreadRef) -> Reply:
        now = self.clock.now()
        ref = await self.allocate_ref(idem)
        case = await self.store.get("cases", ref)
        if case is None:
            me = self.person(user)
            if me is not None:  # who raised it, as the directory has them now (for the record and the summary)
                answers = {**answers, "raiser_agency": me.agency, "raiser_role": me.role}
            case = new_case(ref, policy, answers, user, thread, now)
            sides = self.counterparts(policy, case)
            # The two agencies as the directory names them (None if not in it): the summary shows only these.
            case["agencies"] = {"raiser": me.agency if me is not None else None, "other": sides.other_agency}
            async with self.scheduler.holding(ref):  # agenda dates, then the case, with no pass in between
                case["nudges"] = await self.scheduler.plan(policy, case, london_today(now))
                await self.store.create("cases", ref, case)
            case = await self.store.get("cases", ref)
            assert case is not None
            log.info("case opened: %s (%s)", ref, policy.id)
        text = messages.case_opened(policy, case, london_today(now))
        text += "\n" + messages.contacts_line(policy, case["stage"], self.counterparts(policy, case))
        return Reply(text, kind="case_opened", case_ref=ref, stage=case["stage"])

    async def emergency(self, idem: str, policy: Policy, user: UserRef, thread: ThreadRef) -> Reply:
        ref = await self.allocate_ref(idem)
        await self.store.create("cases", ref, emergency_record(ref, policy, user, thread, self.clock.now()))
        log.info("immediate-harm route given: %s (%s)", ref, policy.id)
        return Reply(messages.emergency(policy, ref), kind="emergency", case_ref=ref)

    # --- looking and acting -----------------------------------------------------------------------------------
    async def find(self, user: UserRef, ref: str, stage: int | None = None) -> tuple[Case, Policy] | Reply:
        """The case and its policy if `user` may act on it (now, or at `stage`, the stage they acted on: they are
        then told what has happened since), else a refusal that does not reveal whether the case exists."""
        case = await self.store.get("cases", ref.upper()) if ref else None
        policy = self.policies.get(case["policy"]) if case else None
        if case is None or policy is None or not (
            self.may_act(user, case, policy) or (stage is not None and self.may_act(user, case, policy, stage))
        ):
            return Reply(f"I cannot find a case {ref.upper()} that you can act on. Check the reference; only the "
                         "people involved and safeguarding leads can see a case.", kind="refused")
        return case, policy

    async def status(self, user: UserRef, ref: str) -> Reply:
        found = await self.find(user, ref)
        if isinstance(found, Reply):
            return found
        case, policy = found
        text = messages.status(policy, case)
        if case["status"] == "open":
            text += "\n" + messages.contacts_line(policy, case["stage"], self.counterparts(policy, case))
            if case.get("actors", {}).get("other_recorded"):
                text += f"\nContact given by the other agency: {case['actors']['other_recorded']}"
        return Reply(text, case_ref=case["ref"], actions=workflow.available_actions(policy, case),
                     stage=case.get("stage"))

    async def perform(self, user: UserRef, action: str, ref: str, expected_stage: int | None,
                      answers: Mapping[str, Any]) -> Reply:
        """Apply resolve / escalate / extend exactly once; a repeat or a late second actor is told what happened."""
        if action not in ACTIONS:
            return Reply(f"{action!r} is not something that can be done to a case.", kind="refused", case_ref=ref)
        found = await self.find(user, ref, expected_stage)
        if isinstance(found, Reply):
            return found
        case, policy = found
        now = self.clock.now()
        today = london_today(now)

        def change(current: Case) -> Case:
            if action == "resolve":
                return workflow.resolve(current, policy, user, answers.get("outcome", ""),
                                        answers.get("follow_up", ""), now, expected_stage)
            if action == "escalate":
                return workflow.escalate(current, policy, user, answers.get("reason", ""), now, expected_stage)
            new_due = answers.get("new_due")
            return workflow.extend(current, policy, user, date.fromisoformat(new_due) if new_due else today,
                                   answers.get("agreed_here", ""), answers.get("agreed_other", ""),
                                   answers.get("reason", ""), now, expected_stage)

        try:
            preview = change(case)  # refuses early, and tells the agenda about the new stage's nudges first

            def apply(current: Case | None) -> Case:
                assert current is not None
                updated = change(current)
                ids = {n["id"] for n in updated["nudges"] if n["status"] in ("pending", "sending", "sent")}
                return {**updated, "nudges": updated["nudges"] + [n for n in planned if n["id"] not in ids]}

            async with self.scheduler.holding(case["ref"]):  # agenda dates, then the case, with no pass between
                planned = await self.scheduler.plan(policy, preview, today) if preview["status"] == "open" else []
                updated = await self.store.update("cases", case["ref"], apply)
        except workflow.Refused as refused:
            return Reply(str(refused), kind="refused", case_ref=case["ref"])
        log.info("case %s: %s by %s", case["ref"], action, user.channel)
        return Reply(self._after(action, policy, updated), kind=action, case_ref=case["ref"],
                     stage=updated.get("stage"), actions=workflow.available_actions(policy, updated))

    def _after(self, action: str, policy: Policy, case: Case) -> str:
        if action == "resolve":
            return messages.resolved(policy, case)
        text = messages.moved(policy, case, action)
        return text + "\n" + messages.contacts_line(policy, case["stage"], self.counterparts(policy, case))

    async def simple(self, user: UserRef, ref: str, what: str, arg: str = "") -> Reply:
        """The one-line actions: harm REF, done REF N, contact REF TEXT."""
        found = await self.find(user, ref)
        if isinstance(found, Reply):
            return found
        case, policy = found
        now = self.clock.now()
        try:
            if what == "harm":
                await self.store.update("cases", case["ref"], lambda c: workflow.declare_harm(c or case, policy,
                                                                                              user, now))
                return Reply(messages.emergency(policy, case["ref"]), kind="emergency", case_ref=case["ref"])
            if what == "done":
                if not (arg.isascii() and arg.isdigit()):
                    return Reply(f"Which duty? For example: done {case['ref']} 1 (numbers as listed in status).")
                updated = await self.store.update("cases", case["ref"],
                                                  lambda c: workflow.duty_done(c or case, int(arg), user, now))
                return Reply(f"Marked as done.\n{messages.status(policy, updated)}", case_ref=case["ref"])
            updated = await self.store.update("cases", case["ref"],
                                              lambda c: workflow.record_contact(c or case, policy, user, arg, now))
            return Reply(f"Recorded the other agency's contact for {case['ref']}: {arg.strip()}",
                         case_ref=case["ref"])
        except workflow.Refused as refused:
            return Reply(str(refused), kind="refused", case_ref=case["ref"])
