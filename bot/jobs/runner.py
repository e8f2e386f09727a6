"""One scheduler pass, as the server runs it every BOT_TICK_SECONDS and `tick` runs it once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from bot.dates.clock import Clock
from bot.jobs.expiry import RETENTION, DailySweep
from bot.jobs.scheduler import Scheduler, SentNudge
from bot.jobs.threads import Deliveries, Threads, Undelivered
from bot.jobs.weekly import WeeklyPoster

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PassReport:
    """What one pass did."""

    delivered: int = 0
    sent: list[SentNudge] = field(default_factory=list)
    summary_posted: str | None = None
    undelivered: list[Undelivered] = field(default_factory=list)  # messages due that could not be delivered


@dataclass
class Jobs:
    threads: Threads
    scheduler: Scheduler
    weekly: WeeklyPoster
    sweep: DailySweep
    clock: Clock

    async def run_pass(self, now: datetime | None = None, *, expire: bool = True) -> PassReport:
        """Queue due nudges and the weekly summary, deliver every message due (new ones, and those being tried
        again), then (`expire`, at the first pass of each London day) expire old dedupe records, unfinished forms
        and delivered messages. Each step's failure is its own and is logged by kind only."""
        now = now or self.clock.now()

        async def step(what: str, work: Callable[[], Awaitable[T]], otherwise: T) -> T:
            try:
                return await work()
            except Exception as exc:  # (its kind only: a message may name a case)
                log.warning("%s failed (%s); tried again at the next pass", what, type(exc).__name__)
                log.debug("%s failed", what, exc_info=True)
                return otherwise

        async def unstarted() -> None:
            for ref in await self.threads.book.unstarted_once():  # (cases from before roots were queued with them)
                await self.threads.queue_root(ref)

        async def expiry() -> None:
            if await self.sweep.tick(now) is not None:
                await self.threads.outbox.expire(now, RETENTION)

        await step("queueing the roots of older cases", unstarted, None)
        await step("counting older cases' open duties", self.threads.book.indexed_once, 0)
        await step("chaining older cases' events", self.threads.book.chained_once, 0)
        none: list[str] = []
        await step("resuming the chase of older overdue cases", lambda: self.scheduler.resume_chases(now), none)
        nothing: list[SentNudge] = []
        sent = await step("queueing nudges", lambda: self.scheduler.tick(now), nothing)
        if sent:
            log.info("scheduler: %d nudge(s) queued", len(sent))
        posted = await step("queueing the weekly summary", lambda: self.weekly.tick(now), None)
        if posted:
            log.info("weekly summary queued for %s", posted)
        deliveries = await step("delivering queued messages", self.threads.deliver_due, None)
        if expire:
            await step("expiring old records", expiry, None)
        if deliveries is None:  # (the store failed as the pass began to deliver: nothing due could be delivered)
            deliveries = Deliveries(missed={"": Undelivered("message", "", "?", "the store could not be read")})
        return PassReport(deliveries.delivered, sent, posted, deliveries.undelivered)
