"""Case work: opening cases, finding one for a person, and acting on it (resolve, escalate, extend, duties, harm,
contacts), each exactly once. What is said about it comes from bot.cases.messages; who may act from bot.cases.roles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Protocol

from bot.cases import messages, workflow
from bot.cases.book import CaseBook
from bot.cases.case import Case, Nudge, emergency_record, is_ref, make_ref, new_case
from bot.cases.roles import Roles
from bot.cases.trail import log_event
from bot.dates.clock import Clock
from bot.dates.workdays import london_today
from bot.types import Kind, Reply, ThreadRef, UserRef
from policies.model import Policy
from storage.base import Store

log = logging.getLogger(__name__)
ACTIONS = ("resolve", "escalate", "extend")
MENTIONED = (Kind.ESCALATE, Kind.EXTEND)  # changes after which whoever must act is @mentioned


class Planner(Protocol):
    """Plans a case's nudges and queues what a new case needs (bot.jobs.scheduler.Scheduler is one), before the
    case is written (so a crash never leaves a case nobody will remind or start a thread for): `holding` is held
    across planning and writing the case, so no scheduler pass runs in between."""

    def holding(self, ref: str) -> Any: ...

    async def opening(self, case: Case) -> None: ...

    async def plan(self, policy: Policy, case: Case, today: date) -> list[Nudge]: ...


class CaseDesk:
    def __init__(self, book: CaseBook, store: Store, policies: Mapping[str, Policy], clock: Clock, roles: Roles,
                 planner: Planner) -> None:
        self.book = book
        self.store = store
        self.policies = policies
        self.clock = clock
        self.roles = roles
        self.planner = planner

    # --- opening ----------------------------------------------------------------------------------------------
    async def allocate_ref(self, idem: str) -> str:
        """The reference for one opening, allocated once per idempotency key."""
        held = await self.book.opening(idem)
        if held is not None:
            return held
        year = london_today(self.clock.now()).year
        return await self.book.hold_opening(idem, make_ref(year, await self.store.next_sequence(f"case-{year}")))

    async def open_case(self, idem: str, policy: Policy, answers: Mapping[str, Any], user: UserRef, home: ThreadRef,
                        opened_in: ThreadRef, roots: bool = True) -> tuple[Case, Reply]:
        """Open the case these answers describe, once per `idem`: the case, and what to tell the raiser. Its thread
        will be in `home` (`roots`: once a root message starts it there; else it is the conversation itself)."""
        now = self.clock.now()
        ref = await self.allocate_ref(idem)
        case = await self.book.get(ref)
        if case is None:
            me = self.roles.person(user)
            if me is not None:  # who raised it, as the directory has them now (for the record and the summary)
                answers = {**answers, "raiser_agency": me.agency, "raiser_role": me.role}
            fresh = new_case(ref, policy, answers, user, home, now, opened_in)
            fresh["root_posted"] = not roots
            sides = self.roles.counterparts(policy, fresh)
            # The two agencies as the directory names them (None if not in it): the summary shows only these. A
            # raiser outside the directory is placed by the agency they gave, when it is one the directory has.
            directory = self.roles.people.directory
            mine = me.agency if me is not None else directory.match_agency(str(answers.get("raiser_agency") or ""))
            fresh["agencies"] = {"raiser": mine, "other": sides.other_agency}
            async with self.planner.holding(ref):  # agenda dates and root, then the case, with no pass in between
                fresh["nudges"] = await self.planner.plan(policy, fresh, london_today(now))
                await self.planner.opening(fresh)
                await self.book.create(fresh)
            case = await self.book.get(ref)
            assert case is not None
            log.info("case opened: %s (%s)", ref, policy.id)
        text = messages.case_opened(policy, case, london_today(now), self.roles.counterparts(policy, case),
                                    self.roles.viewer(user, case))
        return case, Reply(text, kind=Kind.CASE_OPENED, case_ref=ref, stage=case["stage"])

    async def emergency(self, idem: str, policy: Policy, user: UserRef, thread: ThreadRef) -> Reply:
        """Record (once per `idem`) that the immediate-harm route was given, and give it."""
        ref = await self.allocate_ref(idem)
        now = self.clock.now()
        record = emergency_record(ref, policy, user, thread, now)
        async with self.planner.holding(ref):  # a duty's own nudges (BCSSP: 24 hours) on the agenda, then the record
            record["nudges"] = await self.planner.plan(policy, record, london_today(now))
            if await self.book.create(record):
                log.info("immediate-harm route given: %s (%s)", ref, policy.id)
        stored = await self.book.get(ref) or record
        return Reply("\n".join([messages.emergency(policy, ref), *messages.duty_lines(stored)]), kind=Kind.EMERGENCY,
                     case_ref=ref)

    # --- looking ----------------------------------------------------------------------------------------------
    async def find(self, user: UserRef, ref: str, stage: int | None = None,
                   doing: str = "") -> tuple[Case, Policy] | Reply:
        """The case and its policy if `user` may act on it (now, or at `stage`, the stage they acted on: they are
        then told what has happened since), else a refusal that does not reveal whether the case exists. A refusal
        is written to the audit log when `doing` names what was asked (who, when, what; the case only if the
        reference is a real one, never what was typed)."""
        found = await self.entitled(user, ref, stage)
        if found is not None:
            return found
        if doing:
            await self.refused(user, doing, await self.book.get(ref) if is_ref(ref) else None)
        shown = ref.upper() if is_ref(ref) else "with that reference"
        return Reply(f"I cannot find a case {shown} that you can act on. Check the reference; only the people "
                     "involved and safeguarding leads can see a case.", kind=Kind.REFUSED)

    async def refused(self, user: UserRef, doing: str, case: Case | None = None) -> None:
        """Write a refusal to the audit log: who, when, what was asked, and the case only when it is a real one."""
        await log_event(self.store, {"at": self.clock.now().isoformat(), "by": user.key, "action": "access_refused",
                                     "ref": case["ref"] if case else "", "policy": case["policy"] if case else "",
                                     "detail": doing})

    async def entitled(self, user: UserRef, ref: str, stage: int | None = None) -> tuple[Case, Policy] | None:
        """The case and its policy if `user` may act on it (now, or at `stage`), else None; nothing is written."""
        case = await self.book.get(ref) if is_ref(ref) else None
        policy = self.policies.get(case["policy"]) if case else None
        if case is None or policy is None or not (
            self.roles.may_act(user, case, policy) or (stage is not None and self.roles.may_act(user, case, policy,
                                                                                               stage))
        ):
            return None
        return case, policy

    async def status(self, user: UserRef, ref: str) -> Reply:
        """The case's status for someone on it. Each read is written to the audit log (who, when, which case), as a
        record download is, and a refusal too (by `find`); not to the case's own events, which are its chronology
        of what was done, and which a read never writes."""
        found = await self.find(user, ref, doing="status")
        if isinstance(found, Reply):
            return found
        case, policy = found
        await log_event(self.store, {"at": self.clock.now().isoformat(), "by": user.key, "action": "status_viewed",
                                     "ref": case["ref"], "policy": policy.id, "detail": "status"})
        text = self._status(user, policy, case)
        if case["status"] == "open" and case.get("actors", {}).get("other_recorded"):
            text += f"\nContact given by the other agency: {self.roles.recorded_contact(case)}"
        return Reply(text, case_ref=case["ref"], actions=workflow.available_actions(policy, case),
                     stage=case.get("stage"))

    def _status(self, user: UserRef, policy: Policy, case: Case) -> str:
        """The case's status as `user` reads it: "you" where it means them, everyone else by name."""
        today = london_today(self.clock.now())
        sides = self.roles.counterparts(policy, case) if case["status"] == "open" else None
        outcome: Mapping[str, Any] = case.get("outcome") or {}
        by = self.roles.name_of(case, outcome["by"]) if outcome.get("by") else ""
        raiser = self.roles.raiser(case)
        raised_by = raiser.name if raiser is not None else case["raised_by"].get("name", "")
        return messages.status(policy, case, today, sides, self.roles.viewer(user, case), by, raised_by)

    def refusal(self, action: str, case: Case, policy: Policy, stage: int | None) -> Reply | None:
        """Why `action` cannot be taken on the case at `stage` now (None if it can)."""
        try:
            workflow.check_open(case, policy, stage, self._names(case))
        except workflow.Refused as refused:
            return Reply(str(refused), kind=Kind.REFUSED, case_ref=case["ref"])
        current = case["stage"]
        assert current is not None
        if action == "escalate" and policy.next_stage(current) is None:
            return Reply(f"{case['ref']} is already at the final stage ({policy.stage_title(current)}): "
                         f"{policy.final_stage.description} Record its decision with resolve.",
                         kind=Kind.REFUSED, case_ref=case["ref"])
        if action == "extend" and not policy.extension.allows(current):
            return Reply(f"{case['ref']}: {workflow.extension_refused(policy, current)}", kind=Kind.REFUSED,
                         case_ref=case["ref"])
        return None

    # --- acting -----------------------------------------------------------------------------------------------
    async def perform(self, user: UserRef, action: str, ref: str, expected_stage: int | None,
                      answers: Mapping[str, Any], event_id: str = "") -> Reply:
        """Apply resolve / escalate / extend exactly once; a repeat or a late second actor is told what happened.
        The same chat event (`event_id`, a form's id) handled again, after a restart say, gets the answer it got."""
        if action not in ACTIONS:
            return Reply(f"{action!r} is not something that can be done to a case.", kind=Kind.REFUSED, case_ref=ref)
        found = await self.find(user, ref, expected_stage, doing=action)
        if isinstance(found, Reply):
            return found
        case, policy = found
        if event_id and self.applied(case, event_id):
            return self._done(action, policy, case)
        change = self._tagged(self._change(action, policy, user, expected_stage, answers), event_id)
        try:
            preview = change(case)  # refuses early, and tells the agenda about the new stage's nudges first
            async with self.planner.holding(case["ref"]):  # agenda dates, then the case, with no pass between
                planned = await self.planner.plan(policy, preview, london_today(self.clock.now()))
                updated = await self.book.update(case["ref"], lambda current: _with_planned(change(current), planned))
        except workflow.Refused as refused:
            return Reply(str(refused), kind=Kind.REFUSED, case_ref=case["ref"])
        log.info("case %s: %s by %s", case["ref"], action, user.channel)
        return self._done(action, policy, updated)

    def _names(self, case: Case) -> workflow.Names:
        """How a refusal names whoever acted before ("Lena Okafor"), never by a raw chat id."""
        return lambda key: self.roles.name_of(case, key)

    @staticmethod
    def applied(case: Case, event_id: str) -> bool:
        """Whether the chat event `event_id` (a form's id) made a change to this case already."""
        return any(e.get("event") == event_id for e in case["events"])

    def _done(self, action: str, policy: Policy, case: Case) -> Reply:
        """What is said once an action is applied (mentioning whoever must act after an escalation or extension)."""
        kind = Kind(action)
        mentions = self.roles.addressees(policy, case).mentions if kind in MENTIONED else ()
        return Reply(self._after(action, policy, case), kind=kind, case_ref=case["ref"], stage=case.get("stage"),
                     actions=workflow.available_actions(policy, case), mentions=mentions)

    @staticmethod
    def _tagged(change: Callable[[Case], Case], event_id: str) -> Callable[[Case], Case]:
        """The change, its audit entry naming the chat event that made it."""
        def tagged(case: Case) -> Case:
            updated = change(case)
            if event_id:
                updated["events"] = [*updated["events"][:-1], {**updated["events"][-1], "event": event_id}]
            return updated

        return tagged

    def _change(self, action: str, policy: Policy, user: UserRef, expected_stage: int | None,
                answers: Mapping[str, Any]) -> Callable[[Case], Case]:
        now = self.clock.now()

        def change(current: Case) -> Case:
            names = self._names(current)
            if action == "resolve":
                return workflow.resolve(current, policy, user, answers.get("outcome", ""),
                                        answers.get("follow_up", ""), now, expected_stage, names)
            if action == "escalate":
                return workflow.escalate(current, policy, user, answers.get("reason", ""), now, expected_stage,
                                         names)
            new_due = answers.get("new_due")
            return workflow.extend(current, policy, user,
                                   date.fromisoformat(new_due) if new_due else london_today(now),
                                   answers.get("agreed_here", ""), answers.get("agreed_other", ""),
                                   answers.get("reason", ""), now, expected_stage, names)

        return change

    def _after(self, action: str, policy: Policy, case: Case) -> str:
        if action == "resolve":
            return messages.resolved(policy, case)
        return messages.moved(policy, case, action, self.roles.counterparts(policy, case),
                              london_today(self.clock.now()))

    async def simple(self, user: UserRef, ref: str, what: str, arg: str = "") -> Reply:
        """The one-line actions: harm REF, done REF N, contact REF TEXT."""
        found = await self.find(user, ref, doing=what)
        if isinstance(found, Reply):
            return found
        case, policy = found
        now, ref = self.clock.now(), case["ref"]
        try:
            if what == "harm":
                preview = workflow.declare_harm(case, policy, user, now)
                async with self.planner.holding(ref):  # the harm duties' own nudges, then the case
                    planned = await self.planner.plan(policy, preview, london_today(now))
                    updated = await self.book.update(
                        ref, lambda c: _with_planned(workflow.declare_harm(c, policy, user, now), planned))
                fresh = frozenset(d["id"] for d in updated["duties"]) - {d["id"] for d in case["duties"]}
                return Reply("\n".join([messages.emergency(policy, ref, on_case=True),
                                         *messages.duty_lines(updated, fresh)]),
                             kind=Kind.EMERGENCY, case_ref=ref)
            if what == "done":
                if not (arg.isascii() and arg.isdigit()):
                    return Reply(f"Which duty? For example: done {ref} 1 (numbers as listed in status).")
                updated = await self.book.update(ref, lambda c: workflow.duty_done(c, int(arg), user, now))
                marked = next((d for d in updated["duties"] if d["id"] == updated["events"][-1]["detail"]), None)
                what = f" notify {marked['notify']} ({marked['cite']})" if marked else ""
                return Reply(f"Marked as done:{what}.\n{self._status(user, policy, updated)}", case_ref=ref)
            updated = await self.book.update(ref, lambda c: workflow.record_contact(c, policy, user, arg, now,
                                                                                    self._names(c)))
            return Reply(f"Recorded the other agency's contact for {ref}: {self.roles.recorded_contact(updated)}.",
                         case_ref=ref)
        except workflow.Refused as refused:
            return Reply(str(refused), kind=Kind.REFUSED, case_ref=ref)


def _with_planned(updated: Case, planned: list[Nudge]) -> Case:
    """The changed case with the new stage's nudges added (any already there, live, are kept as they are)."""
    live = {n["id"] for n in updated.get("nudges", []) if n["status"] in ("pending", "sending", "sent")}
    return {**updated, "nudges": [*updated.get("nudges", []), *(n for n in planned if n["id"] not in live)]}
