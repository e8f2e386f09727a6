"""Retention: closed cases older than the retention period are purged, and each purge is written to the audit log.

A purge also expires old dedupe records and abandoned dialogs (bot/jobs/expiry.py), as the server does once a day.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.dates.workdays import LONDON
from bot.jobs import expiry
from bot.jobs.agenda import Agenda
from bot.records.audit import log_event
from storage.base import Store
from storage.collections import AGENDA, CASES, EVENTS, OPENINGS

# A case is closed when it is resolved (its `closed_at`) or is an immediate-harm record (its `raised_at`); open
# cases are never purged, whatever their age. With a case go the records that point at it ("openings" entries and
# agenda dates). The audit-log entry outlives the case. A dry run reads the same list and changes nothing.
# Expired dedupe records (platform-retry guards, no case data) and unfinished forms untouched for 14 days are removed
# after the cases and only counted in the report, not in the audit log.
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purged:
    """One case a purge removes (or would remove)."""

    ref: str
    policy: str
    closed_at: str


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove)."""

    cases: tuple[Purged, ...]
    cutoff: datetime
    years: int
    dry_run: bool
    log_key: str = ""
    dedupe_records: int = 0  # expired dedupe records removed (or that would be)
    dialogs: int = 0  # unfinished dialogs untouched for bot.jobs.expiry.DIALOG_RETENTION, removed (or that would be)

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(c.ref for c in self.cases)


def years_before(now: datetime, years: int) -> datetime:
    """The same moment `years` calendar years earlier (29 February becomes 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def closed_at(case: dict[str, Any]) -> datetime | None:
    """When a case was closed, or None while it is open (or if the record does not say)."""
    status = case.get("status")
    if status == "open":
        return None
    stamp = case.get("raised_at") if status == "immediate_harm" else case.get("closed_at")
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        log.warning("case %s: unreadable closing time; not purged", case.get("ref"))
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


async def expired(store: Store, cutoff: datetime) -> list[Purged]:
    """Closed cases closed before `cutoff`, oldest first."""
    found = []
    for key, case in await store.scan(CASES):
        when = closed_at(case)
        if when is not None and when < cutoff:
            found.append((when, Purged(str(case.get("ref", key)), str(case.get("policy", "")), when.isoformat())))
    return [p for _, p in sorted(found, key=lambda f: (f[0], f[1].ref))]


async def purge(store: Store, now: datetime, years: int, dry_run: bool, by: str = "cli",
                dedupe: Sequence[str] = (EVENTS,)) -> PurgeReport:
    """Remove closed cases older than `years` years before `now`, expired dedupe records and unfinished forms (or, in
    a dry run, only say which cases and how many records and forms)."""
    if years < 1:
        raise ValueError("the retention period must be at least one year")
    cutoff = years_before(now, years)
    cases = await expired(store, cutoff)
    if dry_run:
        counted = await expiry.sweep(store, now, dry_run=True, collections=dedupe)
        return PurgeReport(tuple(cases), cutoff, years, True, dedupe_records=counted,
                           dialogs=await expiry.sweep_dialogs(store, now, dry_run=True))
    refs = {c.ref for c in cases}
    # The audit entry first: a crash part-way leaves a record of the purge, never removals with no record.
    key = await log_event(store, {
        "at": now.isoformat(), "by": by, "action": "purged", "retention_years": years, "cutoff": cutoff.isoformat(),
        "refs": sorted(refs), "cases": [{"ref": c.ref, "policy": c.policy, "closed_at": c.closed_at} for c in cases],
    })
    destroy = getattr(store, "destroy_case_key", None)  # (a sealed store: the case's data key goes with it)
    for ref in sorted(refs):
        await store.delete(CASES, ref)
        if destroy is not None:
            await destroy(ref)  # (after the case: a copy of it in any backup can no longer be opened)
    orphans = getattr(store, "destroy_orphan_keys", None)
    if orphans is not None:
        await orphans()  # (keys of cases an interrupted purge removed without them)
    for key_, doc in await store.scan(OPENINGS):
        if doc.get("ref") in refs:
            await store.delete(OPENINGS, key_)
    agenda = Agenda(store)
    for day, doc in await store.scan(AGENDA):
        for ref in refs.intersection(doc.get("refs") or []):
            await agenda.remove(ref, day)
    log.info("purged %d closed case(s) closed before %s", len(refs), cutoff.date())
    return PurgeReport(tuple(cases), cutoff, years, False, key, await expiry.sweep(store, now, collections=dedupe),
                       await expiry.sweep_dialogs(store, now))

