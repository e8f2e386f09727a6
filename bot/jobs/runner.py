"""One scheduler pass, as the server runs it every BOT_TICK_SECONDS and `tick` runs it once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.dates.clock import Clock
from bot.jobs.expiry import DailySweep
from bot.jobs.scheduler import Scheduler, SentNudge
from bot.jobs.threads import Threads
from bot.jobs.weekly import WeeklyPoster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassReport:
    """What one pass did."""

    threads_started: int = 0
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
        """Start case threads whose root failed, send due nudges, post the weekly summary if due, then (`expire`, at
        the first pass of each London day) expire old dedupe records and unfinished forms. Each step's failure is its
        own: a failing thread start holds up no nudge, and the expiry step logs its own failure and never raises."""
        now = now or self.clock.now()
        try:
            started = await self.threads.retry()
        except Exception as exc:  # (its kind only: a message may name a case)
            log.warning("starting pending case threads failed (%s); tried again at the next pass", type(exc).__name__)
            started = 0
        sent = await self.scheduler.tick(now)
        if sent:
            log.info("scheduler: %d nudge(s) sent", len(sent))
        posted = await self.weekly.tick(now)
        if posted:
            log.info("weekly summary posted for %s", posted)
        if expire:
            await self.sweep.tick(now)
        return PassReport(started, sent, posted)
