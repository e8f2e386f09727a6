"""Expiry of chat state: dedupe records (what makes a platform's retry have no second effect) and unfinished forms.

Dedupe records are small documents stamped with the time they were made (`at`): the engine's in "events" (one per
chat event handled), and each channel's own markers (its `marks`, see bot.door.state). A platform only retries or
replays an event within minutes, so a record older than RETENTION can never match again; `sweep` removes such
records. A record with no readable time (made by an older version) gets a `noticed_at` stamp the first time a sweep
sees it and goes once that is more than RETENTION ago: at least RETENTION after it was made.

Nothing else is removed (unfinished forms: see `sweep_dialogs`), and unreadable record files, which `Store.scan`
skips, are left for an operator. The server runs the sweep from its scheduler pass through a `DailySweep` (at most
once per London day per process); the `purge` command runs it too (bot/records/retention.py). `tick` does not: its
`--now` is any time an operator chooses, and a sweep at a future time would remove records that are still fresh.

Concurrency: the sweep deletes a record only if it is still expired at the moment of deletion (`Store.delete_if`,
atomic with respect to writes of that key), never by key alone, so a record re-made after the sweep read the
collection is never removed by it. The `noticed_at` stamp is an atomic `Store.update` that writes nothing if the
record has gone or has gained a time meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from bot.dates.workdays import LONDON, london_today
from storage.base import Doc, Store
from storage.collections import DIALOGS, EVENTS, channel_collection

log = logging.getLogger(__name__)
# Slack rejects requests signed more than 5 minutes ago and gives up retrying an event within about an hour; Teams
# (the Bot Framework) retries within minutes. A week is far beyond any of them, with room for a server that was down.
RETENTION = timedelta(days=7)
# Unfinished dialogs (a Stage 1 form or an action's questions left part-way) hold what was typed, a child's name
# among it. Nobody finishes a form a fortnight later, so one untouched for DIALOG_RETENTION is removed: the child's
# details must not outlive the case that was never opened.
DIALOG_RETENTION = timedelta(days=14)
CHAT_CHANNELS = ("slack", "teams")  # channels with state of their own (their markers are expired with the core's)
DEDUPE = (EVENTS, *(channel_collection(c, "marks") for c in CHAT_CHANNELS))  # every collection of dedupe records


class _Unchanged(Exception):
    """Abort a stamp: the record has gone, or has a time of its own now."""


def _instant(value: Any) -> datetime | None:
    """A stored ISO time as an aware datetime (naive ones are London time), or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def _unstamped(doc: Doc) -> bool:
    """A record with no time of any kind yet: it needs a `noticed_at` stamp before it can age."""
    return _instant(doc.get("at")) is None and _instant(doc.get("noticed_at")) is None


def expired(doc: Doc, cutoff: datetime) -> bool:
    """Whether a dedupe record can go: its time (`at`, else `noticed_at`) is before `cutoff`. A record with neither
    is never expired (it is stamped first)."""
    at = _instant(doc.get("at")) or _instant(doc.get("noticed_at"))
    return at is not None and at < cutoff


async def sweep(store: Store, now: datetime, dry_run: bool = False, collections: Sequence[str] = (EVENTS,)) -> int:
    """Remove the dedupe records older than RETENTION at `now` from `collections`; how many went.

    Records without a time are stamped `noticed_at` = `now`. A dry run changes nothing and says how many would go.
    """
    if now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    cutoff = now - RETENTION
    removed = 0
    for collection in collections:
        for key, doc in await store.scan(collection):
            if expired(doc, cutoff):
                # conditional: a record re-made meanwhile (a click claimed again after its window) stays
                if dry_run or await store.delete_if(collection, key, partial(expired, cutoff=cutoff)):
                    removed += 1
            elif _unstamped(doc) and not dry_run:
                await _stamp(store, collection, key, "noticed_at", now, _unstamped)
    return removed


async def _stamp(store: Store, collection: str, key: str, name: str, now: datetime,
                 untimed: Callable[[Doc], bool]) -> None:
    """Set `name` = `now` on a record that is still `untimed` (atomically: nothing is written if it has gone or has
    gained a time meanwhile)."""
    def stamp(current: Doc | None) -> Doc:
        if current is None or not untimed(current):
            raise _Unchanged
        return {**current, name: now.isoformat()}

    try:
        await store.update(collection, key, stamp)
    except _Unchanged:
        pass


def _untimed_dialog(doc: Doc) -> bool:
    return _instant(doc.get("touched_at")) is None and _instant(doc.get("started_at")) is None


async def sweep_dialogs(store: Store, now: datetime, dry_run: bool = False) -> int:
    """Remove dialogs untouched for DIALOG_RETENTION (by `touched_at`, else `started_at`); how many went.

    A dialog with neither time is stamped `touched_at` = `now` and so goes a full period later. The removal is
    conditional (`Store.delete_if`), so a dialog answered meanwhile is never removed.
    """
    cutoff = now - DIALOG_RETENTION

    def stale(doc: Doc) -> bool:
        when = _instant(doc.get("touched_at")) or _instant(doc.get("started_at"))
        return when is not None and when < cutoff

    removed = 0
    for key, doc in await store.scan(DIALOGS):
        if _untimed_dialog(doc):
            if not dry_run:
                await _stamp(store, DIALOGS, key, "touched_at", now, _untimed_dialog)
        elif stale(doc) and (dry_run or await store.delete_if(DIALOGS, key, stale)):
            removed += 1
    return removed


@dataclass
class DailySweep:
    """The server's expiry of dedupe records and unfinished dialogs: `tick` sweeps at most once per London day in
    this process. `collections` are the dedupe collections: the engine's and each connected channel's marks.

    The day is taken before sweeping, so a failing sweep is tried again the next day, not at every scheduler pass.
    A failing sweep never raises out of `tick`: it is logged as one line naming the kind of error only (never keys
    or documents, which error messages may hold).
    """

    store: Store
    collections: list[str] = field(default_factory=lambda: [EVENTS])
    last_day: date | None = None

    async def tick(self, now: datetime) -> int | None:
        """Sweep if this London day has not had a sweep yet; how many records went, or None if it did not sweep."""
        today = london_today(now)
        if self.last_day is not None and today <= self.last_day:
            return None
        self.last_day = today
        try:
            dialogs = await sweep_dialogs(self.store, now)
            if dialogs:
                log.info("removed %d unfinished dialog(s) untouched for %d days", dialogs, DIALOG_RETENTION.days)
        except Exception as exc:
            log.warning("expiry of unfinished dialogs failed (%s); it runs again tomorrow", type(exc).__name__)
        try:
            removed = await sweep(self.store, now, collections=self.collections)
        except Exception as exc:
            log.warning("expiry of dedupe records failed (%s); it runs again tomorrow", type(exc).__name__)
            return None
        if removed:
            log.info("removed %d dedupe record(s) older than %d days", removed, RETENTION.days)
        return removed
