"""Case threads: each case's thread is started once, by its root message (reference, stage, due date, who must act,
@mentioning them), and every later message about the case goes into it. Decided here for every channel alike.

If the root cannot be posted (the bot is not in the cases channel yet, the platform is down), the case stays whole
with its thread pending: the root is tried again before the next message about the case and at every scheduler pass
(`retry`, also after a restart), so reminders never land at a channel's top level and a case never gets two roots.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.cases import messages
from bot.cases.book import CaseBook
from bot.cases.case import Case, root_pending, thread_of
from bot.cases.roles import Roles
from bot.jobs.outbox import Outbox, SendError
from bot.types import Kind, Reply, ThreadRef
from policies.model import Policy
from storage.common import KeyedLocks

log = logging.getLogger(__name__)


class Threads:
    def __init__(self, book: CaseBook, outbox: Outbox, roles: Roles, policies: Mapping[str, Policy]) -> None:
        self.book = book
        self.outbox = outbox
        self.roles = roles
        self.policies = policies
        self._starting = KeyedLocks()  # one per case while its root is being posted

    def root(self, case: Case) -> Reply:
        """A case's root message: its headline, mentioning whoever must act now while the case is open."""
        policy = self.policies[case["policy"]]
        who = self.roles.addressees(policy, case)
        text = messages.root(policy, case, self.roles.counterparts(policy, case))
        return Reply(text, kind=Kind.ROOT, case_ref=case["ref"], mentions=who.mentions)

    async def start(self, ref: str) -> ThreadRef:
        """The case's thread, its root message posted first if it is not there yet. Raises SendError (the case
        stays pending, tried again later) and KeyError if there is no such case.

        One root per case: concurrent callers wait for each other and read the case again first."""
        async with self._starting(ref):
            case = await self.book.get(ref)
            if case is None:
                raise KeyError(ref)
            if not root_pending(case):
                return thread_of(case)
            opened_in = ThreadRef.from_dict(case["opened_in"]) if case.get("opened_in") else None
            started = await self.outbox.post(thread_of(case), self.root(case), via=opened_in)
            await self.book.thread_started(ref, started)
            log.info("case %s: its thread is started", ref)
            return started

    async def deliver(self, ref: str, reply: Reply) -> ThreadRef:
        """Post a message about a case into its thread (started first if need be); where it went. Raises SendError."""
        thread = await self.start(ref)
        await self.outbox.post(thread, reply)
        return thread

    async def retry(self) -> int:
        """Start the threads whose root message failed (each scheduler pass); how many were started. It stops at the
        first failure: the platform is likely down, and the pass's nudges must not wait behind a timeout per case."""
        started = 0
        for ref in await self.book.pending():
            case = await self.book.get(ref)
            if case is None or case["status"] != "open" or not root_pending(case):  # gone, closed, or started
                await self.book.forget_pending(ref)
                continue
            try:
                await self.start(ref)
            except SendError:
                break  # logged by the channel; tried again at the next pass
            except KeyError:
                continue
            started += 1
        return started
