"""The weekly summary's scheduled posting: last week's summary, once per week, across restarts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta

from bot.cases.book import CaseBook
from bot.dates.workdays import LONDON
from bot.jobs.threads import Threads
from bot.summary import figures as summary
from bot.summary.report import compose
from bot.types import ThreadRef
from policies.model import Policy
from storage.base import Store
from storage.collections import SUMMARIES

log = logging.getLogger(__name__)


class WeeklyPoster:
    """Posts last week's summary to the configured place at the configured weekday and time, exactly once a week:
    it is made once and handed to the outbox under the week's key (which delivers it, retrying while it must)."""

    def __init__(self, book: CaseBook, store: Store, policies: Mapping[str, Policy], threads: Threads,
                 target: ThreadRef | None, weekday: int = 0, at: time = time(9, 0)) -> None:
        self.book = book
        self.store = store
        self.policies = policies
        self.threads = threads
        self.target = target
        self.weekday = weekday
        self.at = at

    async def tick(self, now: datetime) -> str | None:
        """Queue this week's summary if it is due and not yet queued; the week queued, or None."""
        if self.target is None:
            return None
        now = now.astimezone(LONDON)
        due = datetime.combine(now.date() - timedelta(days=now.weekday() - self.weekday), self.at, LONDON)
        if now < due:
            return None
        key = summary.week_label(now.date() - timedelta(days=now.weekday()))
        if await self.store.get(SUMMARIES, key) is not None:
            return None
        monday = summary.last_full_week(due.date())  # the week before this week's slot, however late it runs
        cases = await self.book.for_summary(summary.summary_window(monday))
        reply, _ = await asyncio.to_thread(compose, cases, self.policies, monday)  # (off the event loop)
        await self.threads.send(f"summary:{key}", reply, to=self.target, now=False)  # (once, whatever happens next)
        if not await self.store.create(SUMMARIES, key, {"status": "queued", "at": now.isoformat(),
                                                         "week": summary.week_label(monday)}):
            return None
        return key
