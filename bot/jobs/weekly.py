"""The weekly summary as a message (text and chart), and its scheduled posting: once per week, across restarts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.dates.workdays import LONDON
from bot.jobs.outbox import Outbox, SendError
from bot.summary import figures as summary
from bot.summary.chart import summary_png
from bot.types import Attachment, Reply, ThreadRef
from policies.model import Policy
from storage.base import Store

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)


async def compose(store: Store, policies: Mapping[str, Policy], monday: date, chart: bool = True,
                  scope: str = "") -> tuple[Reply, dict[str, Any]]:
    """The summary reply for one week (with its chart as an attachment) and the figures behind it, for the cases of
    every procedure in `policies`; `scope` names them in the heading when they are a lead's subset."""
    cases = [doc for _, doc in await store.scan("cases")]
    figs = summary.figures(cases, policies, monday)
    if scope:
        figs["scope"] = scope
    attachment = Attachment(f"escalations-{figs['week']}.png", summary_png(figs), "image/png") if chart else None
    return Reply(summary.text(figs, policies), kind="summary", attachment=attachment), figs


class WeeklyPoster:
    """Posts last week's summary to the configured place at the configured weekday and time, exactly once a week."""

    def __init__(self, store: Store, policies: Mapping[str, Policy], outbox: Outbox, target: ThreadRef | None,
                 weekday: int = 0, at: time = time(9, 0)) -> None:
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

        await self.store.update("summaries", key, claim)
        if not claimed:
            return None
        monday = summary.last_full_week(due.date())  # the week before this week's slot, however late it runs
        reply, _ = await compose(self.store, self.policies, monday)
        try:
            await self.outbox.send(self.target, reply)
        except SendError as exc:
            log.warning("weekly summary not posted (%s); will retry", exc)

            def retry(doc: dict[str, Any] | None) -> dict[str, Any]:
                attempts = (doc or {}).get("attempts", 0) + 1
                return {"status": "pending", "attempts": attempts,
                        "retry_at": (now + timedelta(minutes=min(60, 2 ** attempts))).isoformat()}

            await self.store.update("summaries", key, retry)
            return None
        await self.store.put("summaries", key, {"status": "sent", "sent_at": now.isoformat(),
                                                "week": summary.week_label(monday)})
        return key
