"""One scheduler pass, as the server runs it every BOT_TICK_SECONDS and `tick` runs it once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.dates.clock import Clock
from bot.jobs.expiry import RETENTION, DailySweep
from bot.jobs.scheduler import Scheduler, SentNudge
from bot.jobs.threads import Threads
from bot.jobs.weekly import WeeklyPoster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassReport:
    """What one pass did."""

    delivered: int = 0
    sent: list[SentNudge] = field(default_factory=list)
    summary_posted: str | None = None


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
        for ref in await self.threads.book.unstarted_once():  # (cases from before roots were queued with them)
            await self.threads.queue_root(ref)
        sent = await self.scheduler.tick(now)
        if sent:
            log.info("scheduler: %d nudge(s) queued", len(sent))
        posted = await self.weekly.tick(now)
        if posted:
            log.info("weekly summary queued for %s", posted)
        try:
            delivered = await self.threads.deliver_due()
        except Exception as exc:  # (its kind only: a message may name a case)
            log.warning("delivering queued messages failed (%s); tried again at the next pass", type(exc).__name__)
            log.debug("delivering queued messages failed", exc_info=True)
            delivered = 0
        if expire and await self.sweep.tick(now) is not None:
            await self.threads.outbox.expire(now, RETENTION)
        return PassReport(delivered, sent, posted)
