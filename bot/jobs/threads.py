"""Case threads, and the delivery of every queued message (bot.jobs.outbox), decided here for every channel alike.

Each case's thread is started once, by its root message (reference, stage, due date, who must act, @mentioning
them), and every later message about the case goes into it: a message for a case whose root is not there yet posts
the root first, so reminders never land at a channel's top level and a case never gets two roots. Messages are
delivered at once in the background and again by every scheduler pass while they fail (after a restart too), one
case at a time; a channel that fails is not tried again in the same pass. A message given up (after a day) is
written to the audit log and the person it concerns is told, where there is someone to tell.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.cases import messages
from bot.cases.book import CaseBook
from bot.cases.case import Case, root_pending, thread_of
from bot.cases.roles import Roles
from bot.cases.trail import log_event
from bot.jobs.outbox import Letter, Outbox, SendError
from bot.jobs.work import Work
from bot.types import Kind, Reply, ThreadRef
from policies.model import Policy
from storage.common import KeyedLocks

log = logging.getLogger(__name__)
CASE_GRACE = timedelta(minutes=10)  # a message queued for a case not stored yet waits this long for it


def root_key(ref: str) -> str:
    return f"root:{ref}"


@dataclass(frozen=True)
class Sent:
    """How a message stood when its sender stopped waiting: "sent", "pending" (being tried again: `error` says
    why not yet), "elsewhere" (another process delivers it: this one does not reach its place), "failed" or
    "cancelled"."""

    status: str
    error: str = ""

    @property
    def ok(self) -> bool:
        """Delivered, or on its way where only another process can deliver it (nothing to warn anyone of)."""
        return self.status in ("sent", "elsewhere")


@dataclass(frozen=True)
class Undelivered:
    """A message a pass could not deliver: what it is (its kind and case, "" if none), the channel it goes to, and
    why. `connected`: the channel is connected in this process (the platform failed); else only another process could
    deliver it."""

    what: str
    case: str
    channel: str
    why: str
    connected: bool = True

    @classmethod
    def of(cls, letter: Letter, channel: str, why: str, connected: bool = True) -> Undelivered:
        what = "root message" if letter.root else str(letter.reply.kind).replace("_", " ")
        return cls(what, letter.case or letter.reply.case_ref or "", channel or "?", why, connected)


@dataclass
class Deliveries:
    """One pass's deliveries: how many were delivered, the channels that failed (not tried again in the pass), and
    each message that could not be delivered (the first reason, once per message)."""

    delivered: int = 0
    failing: set[str] = field(default_factory=set)
    missed: dict[str, Undelivered] = field(default_factory=dict)

    def miss(self, key: str, item: Undelivered) -> None:
        self.missed.setdefault(key, item)

    @property
    def undelivered(self) -> list[Undelivered]:
        return list(self.missed.values())


class Threads:
    def __init__(self, book: CaseBook, outbox: Outbox, roles: Roles, policies: Mapping[str, Policy],
                 work: Work) -> None:
        self.book = book
        self.outbox = outbox
        self.roles = roles
        self.policies = policies
        self.work = work
        self._cases = KeyedLocks()  # one delivery per case at a time: in order, and one root

    def root(self, case: Case) -> Reply:
        """A case's root message: its headline, mentioning whoever must act now while the case is open."""
        policy = self.policies[case["policy"]]
        who = self.roles.addressees(policy, case)
        text = messages.root(policy, case, self.roles.counterparts(policy, case))
        return Reply(text, kind=Kind.ROOT, case_ref=case["ref"], mentions=who.mentions)

    # --- sending ------------------------------------------------------------------------------------------------
    async def send(self, key: str, reply: Reply, *, to: ThreadRef | None = None, case: str = "",
                   notify: ThreadRef | None = None, wait: float = 0.0, now: bool = True) -> Sent:
        """Queue a message (once per `key`: the same key again is ignored) to `to`, or into case `case`'s thread, and
        (`now`) deliver it in the background, waiting up to `wait` seconds to say how it went; else the next
        `deliver_due` delivers it. `notify`: whom to tell if it is given up."""
        await self.outbox.queue(Letter(key, reply, to, case, via=None, notify=notify))
        where = to or (thread_of(found) if case and (found := await self.book.get(case)) else None)
        if where is not None and not self.outbox.reaches(where):
            return Sent("elsewhere")  # (delivered by a process that reaches it: a console session, the server)
        if not now:
            return Sent("pending")
        task = self.work.spawn(self.deliver(key), f"delivery of {key.split(':')[0]}")
        if task is not None and wait > 0:
            with_timeout = asyncio.wait_for(asyncio.shield(task), wait)
            try:
                await with_timeout
            except TimeoutError:
                pass
        return await self.sent(key)

    async def sent(self, key: str) -> Sent:
        return Sent(*await self.outbox.state(key))

    async def queue_root(self, ref: str) -> None:
        """Queue a case's root message (before the case is stored: its words are made when it is posted)."""
        await self.outbox.queue(Letter(root_key(ref), Reply("", kind=Kind.ROOT, case_ref=ref), case=ref, root=True),
                                revive=True)

    async def start(self, ref: str, wait: float = 0.0) -> Sent:
        """Start the case's thread (its root message), once; wait up to `wait` seconds to say how it went."""
        case = await self.book.get(ref)
        if case is None or not root_pending(case):
            return Sent("sent")
        await self.queue_root(ref)
        task = self.work.spawn(self.deliver(root_key(ref)), "delivery of a root")
        if task is not None and wait > 0:
            try:
                await asyncio.wait_for(asyncio.shield(task), wait)
            except TimeoutError:
                pass
        return await self.sent(root_key(ref))

    # --- delivering ---------------------------------------------------------------------------------------------
    async def deliver(self, key: str, run: Deliveries | None = None) -> bool:
        """One attempt at one queued message (nothing if it is delivered, given up, in flight, or not due yet);
        True if it is delivered now. `run`: the pass it is part of (a channel failing in it is not tried again;
        what could not be delivered is listed there)."""
        letter = await self.outbox.claim(key)
        if letter is None:
            return False
        try:
            async with self._cases(letter.case or key):
                return await self._deliver_claimed(letter, run)
        finally:
            self.outbox.unclaim(key)

    async def _deliver_claimed(self, letter: Letter, run: Deliveries | None) -> bool:
        key = letter.key
        try:
            if not await self._attempt(letter, run):
                await self.outbox.release(key)
                return False
        except SendError as exc:
            if run is not None:
                if exc.channel:
                    run.failing.add(exc.channel)
                run.miss(key, Undelivered.of(letter, exc.channel, str(exc)))
            await self._failed(letter, exc)
            return False
        except KeyError:  # its case is not stored (yet, or any more: purged)
            if self._young(letter):  # (queued just before its case is written: wait for it)
                await self.outbox.retry_later(key, SendError("its case is not stored yet"))
            else:
                await self.outbox.cancel(key)
            return False
        except Exception as exc:  # a fault of ours, not the platform's: backed off, in time given up, never blocking
            log.error("delivering a %s failed unexpectedly (%s); tried again later", letter.reply.kind,
                      type(exc).__name__)
            if run is not None:
                run.miss(key, Undelivered.of(letter, "", f"an unexpected error ({type(exc).__name__})"))
            await self._failed(letter, SendError(f"an unexpected error ({type(exc).__name__})"))
            return False
        return True

    async def _failed(self, letter: Letter, error: SendError) -> None:
        if not await self.outbox.retry_later(letter.key, error):
            await self._given_up(letter, error)

    async def _attempt(self, letter: Letter, run: Deliveries | None) -> bool:
        """Deliver a claimed letter (False, untried, where this process cannot reach: another one will)."""
        where, via, reply = await self._destination(letter, run)
        if not self.outbox.reaches(where):
            if run is not None:
                run.miss(letter.key, Undelivered.of(letter, where.channel, f"no {where.channel} connection in this "
                                                    "process", connected=False))
            return False
        if run is not None and where.channel in run.failing:
            raise SendError(f"{where.channel} failed earlier in this pass", channel=where.channel)
        posted = None
        if letter.unknown:  # the last try timed out: it may have arrived, so look before posting again
            posted = await self.outbox.find(where, letter.key, letter.root or not where.thread, _when(letter))
        if posted is None:
            posted = await self.outbox.post(where, reply, via, letter.key)
        if letter.root:
            await self.book.thread_started(letter.case, posted)
            log.info("case %s: its thread is started", letter.case)
        await self.outbox.delivered(letter.key, posted)
        return True

    async def _destination(self, letter: Letter, run: Deliveries | None) -> tuple[ThreadRef, ThreadRef | None, Reply]:
        """Where a message goes now, from what is stored: a case's message into its thread, the root posted first if
        it is not there yet (a root's headline is made afresh, as the case is when it is posted)."""
        if not letter.case:
            assert letter.to is not None
            return letter.to, letter.via, letter.reply
        case = await self.book.get(letter.case)
        if case is None:
            raise KeyError(letter.case)
        opened_in = ThreadRef.from_dict(case["opened_in"]) if case.get("opened_in") else None
        if letter.root:
            return thread_of(case), opened_in, self.root(case)
        if root_pending(case):
            await self.queue_root(case["ref"])
            root_letter = root_key(case["ref"])
            claimed = await self.outbox.claim(root_letter)
            if claimed is None:
                raise SendError("the case's thread is not started yet")
            try:
                if not await self._deliver_claimed(claimed, run):
                    raise SendError("the case's thread is not started yet", channel=case["thread"]["channel"])
            finally:
                self.outbox.unclaim(root_letter)
            case = await self.book.get(letter.case) or case
        return thread_of(case), None, letter.reply

    def _young(self, letter: Letter) -> bool:
        clock = self.outbox.clock
        try:
            return clock is not None and clock.now() - datetime.fromisoformat(letter.created_at) < CASE_GRACE
        except ValueError:
            return False

    async def deliver_due(self) -> Deliveries:
        """Every message due now (each scheduler pass): how many were delivered, and what could not be. A channel
        that fails is not tried again in this pass: it is likely down, and the rest must not wait behind a timeout
        each. A message that cannot even be tried (its store record unreadable, the store failing) does not hold up
        the others."""
        run = Deliveries()
        for key in await self.outbox.due():
            try:
                run.delivered += await self.deliver(key, run)
            except Exception as exc:
                log.warning("a queued message could not be tried (%s); tried again at the next pass",
                            type(exc).__name__)
                run.miss(key, Undelivered("message", "", "?", f"it could not be tried ({type(exc).__name__})"))
        return run

    async def _given_up(self, letter: Letter, error: SendError) -> None:
        """A message not delivered for a day: in the audit log, and the person it concerns told where possible."""
        now = self.outbox.clock.now() if self.outbox.clock else None
        what = "root message" if letter.root else str(letter.reply.kind)
        log.error("a %s%s was given up after a day of tries (%s)", what,
                  f" for {letter.case}" if letter.case else "", error)
        if self.outbox.store is not None and now is not None:
            await log_event(self.outbox.store, {"at": now.isoformat(), "by": "bot", "action": "delivery_failed",
                                                "ref": letter.case, "policy": "", "detail": f"{what}: {error}"[:200]})
        notify = letter.notify
        if notify is None and letter.case:  # (a case's root or nudge: the person who raised it is told)
            case = await self.book.get(letter.case)
            notify = ThreadRef.from_dict(case["opened_in"]) if case and case.get("opened_in") else None
        if notify is not None and not letter.key.startswith("notice:"):
            about = f"about {letter.case} " if letter.case else ""
            notice = Reply(f"A message {about}could not be posted where it belongs after trying for a day ({error}). "
                           "Please tell the people involved directly.", kind=Kind.NOT_POSTED, case_ref=letter.case)
            await self.send(f"notice:{letter.key}", notice, to=notify)


def _when(letter: Letter) -> datetime | None:
    try:
        return datetime.fromisoformat(letter.created_at)
    except ValueError:
        return None
