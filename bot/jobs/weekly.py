"""The weekly summary's scheduled posting: last week's summary, once per week, across restarts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from bot.cases.book import CaseBook
from bot.dates.workdays import LONDON
from bot.jobs.outbox import Outbox, SendError
from bot.summary import figures as summary
from bot.summary.report import compose
from bot.types import ThreadRef
from policies.model import Policy
from storage.base import Store
from storage.collections import SUMMARIES

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)


class WeeklyPoster:
    """Posts last week's summary to the configured place at the configured weekday and time, exactly once a week."""

    def __init__(self, book: CaseBook, store: Store, policies: Mapping[str, Policy], outbox: Outbox,
                 target: ThreadRef | None, weekday: int = 0, at: time = time(9, 0)) -> None:
        self.book = book
        self.store = store
        self.policies = policies
        self.outbox = outbox
        self.target = target
        self.weekday = weekday
        self.at = at

    async def tick(self, now: datetime) -> str | None:
        """Post this week's summary if it is due and not yet posted; the week posted, or None."""
        if self.target is None:
            return None
        now = now.astimezone(LONDON)
        due = datetime.combine(now.date() - timedelta(days=now.weekday() - self.weekday), self.at, LONDON)
        if now < due:
            return None
        key = summary.week_label(now.date() - timedelta(days=now.weekday()))
        claimed = False

        def claim(doc: dict[str, Any] | None) -> dict[str, Any]:
            nonlocal claimed
            doc = doc or {"status": "pending", "attempts": 0}
            stale = doc["status"] == "sending" and datetime.fromisoformat(doc["claimed_at"]) + LEASE <= now
            ready = doc["status"] == "pending" and (not doc.get("retry_at") or
                                                    datetime.fromisoformat(doc["retry_at"]) <= now)
            if not (ready or stale):
                return doc
            claimed = True
            return {**doc, "status": "sending", "claimed_at": now.isoformat()}

        await self.store.update(SUMMARIES, key, claim)
        if not claimed:
            return None
        monday = summary.last_full_week(due.date())  # the week before this week's slot, however late it runs
        reply, _ = compose(await self.book.all(), self.policies, monday)
        try:
            await self.outbox.post(self.target, reply)
        except SendError as exc:
            log.warning("weekly summary not posted (%s); will retry", exc)

            def retry(doc: dict[str, Any] | None) -> dict[str, Any]:
                attempts = (doc or {}).get("attempts", 0) + 1
                return {"status": "pending", "attempts": attempts,
                        "retry_at": (now + timedelta(minutes=min(60, 2 ** attempts))).isoformat()}

            await self.store.update(SUMMARIES, key, retry)
            return None
        await self.store.put(SUMMARIES, key, {"status": "sent", "sent_at": now.isoformat(),
                                                "week": summary.week_label(monday)})
        return key
