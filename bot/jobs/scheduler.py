"""The durable scheduler: hands each due nudge to the outbox exactly once, for the case's thread, from stored data.

A pass reads the agenda for dates up to today, claims each due nudge inside an atomic update of its case (so two
overlapping passes never both take it), queues it in the outbox under a key of its own (so queuing it again is
ignored), and records it as sent; the outbox delivers it, retrying while the channel is down. If several nudges of
one stage fell due while the bot was down, only the latest (the most urgent) is sent and the others are marked
superseded, except that the leads' nudge of a seriously overdue stage is never superseded: when it is due it is the
one sent (it reminds whoever must act as well). A newer nudge drops an older one still waiting in the outbox (but
not a leads' one). An overdue (or leads') nudge, once sent, plans the next overdue reminder in the same write that
records it as sent, so a stage that stays overdue is chased for as long as it is: one chain of reminders, each on a
working day. A duty's own nudge (a duty on a clock of its own) is sent beside whatever else is due, supersedes
nothing and drops nothing; one counted in hours goes at its time, on any day, and it is cancelled only once its duty
is done. A nudge claimed by a pass that then crashed is queued again under the same key once its lease expires, or at
once by the next process over an exclusive store (bot.jobs.claims): never lost, never twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.cases.book import CaseBook
from bot.cases.case import Case, Nudge, audit, thread_of
from bot.cases.messages import duty_lines
from bot.cases.roles import Roles, mention
from bot.cases.workflow import available_actions
from bot.dates.clock import Clock
from bot.dates.workdays import LONDON, calendar_of
from bot.jobs import nudges
from bot.jobs.agenda import Agenda
from bot.jobs.claims import Claimer
from bot.jobs.threads import Threads
from bot.types import Kind, Reply, ThreadRef
from policies.model import Policy
from storage.common import KeyedLocks

log = logging.getLogger(__name__)
KIND_ORDER = {"review": 0, "overall": 1, "before": 2, "due": 3, "overdue": 4, "lead": 5}


@dataclass(frozen=True)
class SentNudge:
    ref: str
    kind: str
    stage: int
    thread: ThreadRef
    text: str


class _Nothing(Exception):
    """No change to make: abort the update without writing."""


class Scheduler:
    def __init__(
        self,
        book: CaseBook,
        policies: Mapping[str, Policy],
        clock: Clock,
        threads: Threads,
        agenda: Agenda,
        roles: Roles,
        locks: KeyedLocks,
        *,
        send_time: time = time(9, 0),
        review_days: int = 10,
        lease: timedelta = timedelta(minutes=10),
        claimer: Claimer | None = None,
    ) -> None:
        self.book = book
        self.policies = policies
        self.clock = clock
        self.threads = threads
        self.agenda = agenda
        self.roles = roles
        self.send_time = send_time
        self.review_days = review_days
        self.lease = lease
        self.claimer = claimer or Claimer()
        self._cases = locks

    def holding(self, ref: str) -> asyncio.Lock:
        """The lock a pass holds while it reads a case's agenda day and nudges, and that whoever plans nudges and
        then writes the case holds across both: without it a pass could run between the agenda date being added
        and the case being written, find no nudge for that day and take the date off the agenda for good."""
        return self._cases(ref)

    async def opening(self, case: Case) -> None:
        """What a new case needs queued before it is stored: its root message, when its thread needs one."""
        if case.get("root_posted") is False:
            await self.threads.queue_root(case["ref"])

    async def plan(self, policy: Policy, case: Case, today: date) -> list[Nudge]:
        """Plan the current stage's nudges and put them on the agenda (before the caller writes the case)."""
        planned = nudges.plan(policy, case, today, self.review_days)
        await self.agenda.add(case["ref"], [n["date"] for n in planned])
        return planned

    async def resume_chases(self, now: datetime) -> list[str]:
        """Once per procedure, for a store upgraded from a version that sent one overdue nudge and then nothing:
        plan the chase of every open case whose stage has nothing planned (from today, on working days). The
        references it planned for."""
        today = now.astimezone(LONDON).date()
        resumed: list[str] = []
        for ref in await self.book.unchased_once(list(self.policies)):
            async with self.holding(ref):
                case = await self.book.get(ref)
                policy = self.policies.get(case["policy"]) if case else None
                if case is None or policy is None or case["status"] != "open":
                    continue
                await self.book.update(ref, _adding(await self.plan(policy, case, today)))
                resumed.append(ref)
        return resumed

    async def tick(self, now: datetime | None = None) -> list[SentNudge]:
        """One pass: send every nudge that is due at `now` (default: the clock's time)."""
        now = (now or self.clock.now()).astimezone(LONDON)
        sent: list[SentNudge] = []
        for day in await self.agenda.dates_up_to(now.date().isoformat()):
            for ref in await self.agenda.refs_on(day):
                try:
                    async with self.holding(ref):
                        sent += await self._process(ref, day, now)
                except Exception:
                    log.exception("nudge pass failed for %s; it will be retried", ref)
        return sent

    def _sending_now(self, policy: Policy, now: datetime) -> bool:
        return calendar_of(policy).is_working_day(now.date()) and now.time() >= self.send_time

    async def _process(self, ref: str, day: str, now: datetime) -> list[SentNudge]:
        case = await self.book.get(ref)
        if case is None:  # purged, or a crash came between adding the date and writing the case
            await self.agenda.remove(ref, day)
            return []
        policy = self.policies.get(case["policy"])
        if policy is None:
            return []  # a procedure not enabled in this process: its dates stay for when it is
        regular = self._sending_now(policy, now)  # else only time-of-day nudges (duties counted in hours) go
        timed = any(n.get("at") and n["status"] in ("pending", "sending") for n in case.get("nudges", []))
        if not regular and not timed:
            return []
        claimed: list[Nudge] = []

        def claim(current: Case) -> Case:
            updated, chosen = _claim(current, now, self.lease, self.claimer, regular)
            if not chosen and updated == current:
                raise _Nothing
            claimed[:] = chosen
            return updated

        try:  # (a case another replica is writing is skipped, not waited for: its nudges stay due for the next pass)
            case = await self.book.claim(ref, claim) or case
        except (_Nothing, KeyError):
            pass
        try:
            out: list[SentNudge | None] = [await self._send(policy, case, nudge, now) for nudge in claimed]
        finally:
            for nudge in claimed:
                self.claimer.release(nudge_key(ref, nudge["id"]))
        latest = await self.book.get(ref)
        if latest is not None and not any(
            n["status"] in ("pending", "sending") and n["date"] <= day for n in latest.get("nudges", [])
        ):
            await self.agenda.remove(ref, day)
        return [s for s in out if s is not None]

    async def _send(self, policy: Policy, case: Case, nudge: Nudge, now: datetime) -> SentNudge:
        """Hand the nudge to the outbox (the pass delivers it next, and the outbox retries it while its channel is
        down), then record it as sent. Nudges of the case still waiting there are dropped (this is the most urgent),
        except a leads' nudge (a later reminder does not tell the leads, so theirs is still delivered) and a duty's
        own nudge (about its duty, not the stage); a duty's own nudge drops nothing."""
        who = self.roles.addressees(policy, case)
        leads = self.roles.leads(policy, case) if nudge["kind"] == "lead" else ()
        head = (nudges.duty_text(case, nudge) if nudge["kind"] == "duty"
                else nudges.text(policy, case, nudge["kind"], who.names, who.next_contact, now.date(),
                                 tuple(p.name for p in leads)))
        text = "\n".join([head, *duty_lines(case)])
        mentions = (*who.mentions, *(mention(p) for p in leads if p.email not in {m.email for m in who.mentions}))
        reply = Reply(text, kind=Kind.NUDGE, case_ref=case["ref"], actions=available_actions(policy, case),
                      stage=case.get("stage"), mentions=mentions)
        for older in case.get("nudges", []) if nudge["kind"] != "duty" else []:  # (a duty's own nudge drops none)
            if older["status"] == "sent" and older["id"] != nudge["id"] and older["kind"] not in ("lead", "duty"):
                await self.threads.outbox.cancel(nudge_key(case["ref"], older["id"]))
        await self.threads.send(nudge_key(case["ref"], nudge["id"]), reply, case=case["ref"], now=False)
        follow_up = None
        if nudge["kind"] == "review":
            follow_up = nudges.next_review(policy, case, now.date(), self.review_days)
        elif nudge["kind"] in ("overdue", "lead"):  # chased again while the stage stays overdue
            follow_up = nudges.next_overdue(policy, case, now.date())
        if follow_up is not None:
            await self.agenda.add(case["ref"], [follow_up["date"]])
        await self._finish(case["ref"], nudge["id"], now, follow_up=follow_up)
        return SentNudge(case["ref"], nudge["kind"], nudge["stage"], thread_of(case), text)

    async def _finish(self, ref: str, nudge_id: str, now: datetime, follow_up: Nudge | None = None) -> None:
        def record(case: Case) -> Case:
            result: list[Nudge] = []
            for n in case["nudges"]:
                if n["id"] == nudge_id and n["status"] == "sending":
                    n = {**n, "status": "sent", "sent_at": now.isoformat()}
                result.append(n)
            extra = [follow_up] if follow_up and _follows({**case, "nudges": result}, follow_up) else []
            return {**case, "nudges": result + extra,
                    "events": [*case["events"], audit(now, None, "nudge_sent", nudge_id)]}

        try:
            await self.book.update(ref, record)
        except KeyError:
            pass


def _adding(planned: list[Nudge]) -> Callable[[Case], Case]:
    """A change adding planned nudges to a case (those it has already are left as they are)."""
    def add(case: Case) -> Case:
        known = {n["id"] for n in case.get("nudges", [])}
        return {**case, "nudges": [*case.get("nudges", []), *(n for n in planned if n["id"] not in known)]}

    return add


def _follows(case: Case, follow_up: Nudge) -> bool:
    """Whether the next reminder of a chain is still wanted as the case is now: open at the same stage, nothing of the
    same kind already waiting for it (one chain of overdue reminders, however many nudges were sent), and, for an
    overdue reminder, the stage still overdue on its day."""
    if case["status"] != "open" or case.get("stage") != follow_up["stage"]:
        return False
    if any(n["id"] == follow_up["id"] or (n["kind"] == follow_up["kind"] and n["stage"] == follow_up["stage"]
                                          and n["status"] in ("pending", "sending"))
           for n in case.get("nudges", [])):
        return False
    return follow_up["kind"] != "overdue" or (case.get("stage_due") or "9999") < follow_up["date"]


def nudge_key(ref: str, nudge_id: str) -> str:
    """The outbox key of a case's nudge: the same nudge is queued once however often its pass runs."""
    return f"nudge:{ref}:{nudge_id}"


def _claim(case: Case, now: datetime, lease: timedelta, claimer: Claimer,
           regular: bool = True) -> tuple[Case, list[Nudge]]:
    """Pick what to send now: the latest due nudge of the current stage (older ones are superseded), any due
    overall-cap nudge and every due duty nudge; nudges of a stage the case has left, or of a closed case, are
    cancelled, but a duty's own nudge only once its duty is done. `regular`: whether it is a working day's sending
    time (else only nudges with a time of their own, `at`, may go)."""
    today = now.date().isoformat()
    open_stage = case["status"] == "open"
    open_duties = {d["id"] for d in case.get("duties", []) if d["status"] == "open"}
    due: list[Nudge] = []
    result: list[Nudge] = []
    for n in case.get("nudges", []):
        if n["kind"] == "duty":
            gone = n.get("duty") not in open_duties
        else:
            gone = not open_stage or n["stage"] != case["stage"]
        if n["status"] in ("pending", "sending") and gone:
            n = {**n, "status": "cancelled"}
        elif n["status"] == "sending" and not claimer.live(dict(n), now, lease, nudge_key(case["ref"], n["id"])):
            n = {**n, "status": "pending"}  # claimed by a pass that never finished
        at = n.get("at")
        time_come = datetime.fromisoformat(at) <= now if at else regular and n["date"] <= today
        if n["status"] == "pending" and time_come and (
            not n.get("retry_at") or datetime.fromisoformat(n["retry_at"]) <= now
        ):
            due.append(n)
        result.append(n)
    if not due:
        return {**case, "nudges": result}, []
    duties = [n for n in due if n["kind"] == "duty"]
    due = [n for n in due if n["kind"] != "duty"]
    stage_due = [n for n in due if n["kind"] != "overall"]
    leads = [n for n in stage_due if n["kind"] == "lead"]  # the leads hear of it whatever else fell due
    latest = max(leads or stage_due, key=lambda n: (n["date"], KIND_ORDER[n["kind"]])) if stage_due else None
    # An overall-cap nudge says "one working day left": once the cap itself has passed (the bot was down), it would
    # be wrong, so it is superseded; the stage's own overdue nudge still goes.
    cap_passed = bool(case.get("overall_due")) and (case.get("overall_due") or "") < today
    overall = [n for n in due if n["kind"] == "overall" and not cap_passed]
    chosen_ids = {id(n) for n in overall + duties} | ({id(latest)} if latest is not None else set())
    final: list[Nudge] = []
    chosen: list[Nudge] = []
    for n in result:
        if id(n) in chosen_ids:
            n = {**n, "status": "sending", **claimer.stamp(now, nudge_key(case["ref"], n["id"]))}  # type: ignore[typeddict-item]
            chosen.append(n)
        elif any(n is d for d in due):
            n = {**n, "status": "superseded"}
        final.append(n)
    return {**case, "nudges": final}, chosen
