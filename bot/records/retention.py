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
from bot.records.hold import hold_of
from storage.base import Store
from storage.collections import AGENDA, CASES, EVENTS, OPENINGS

# A case is closed when it is resolved (its `closed_at`) or is an immediate-harm record (its `raised_at`); open
# cases are never purged, whatever their age. With a case go the records that point at it ("openings" entries and
# agenda dates). The audit-log entry outlives the case. A dry run reads the same list and changes nothing. A case on
# legal hold (bot.records.hold) is never removed, however long ago it closed: it is reported as held, and the purge's
# audit entry lists it under "held".
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
class Kept:
    """One case past its retention period that a purge keeps because it is on legal hold."""

    ref: str
    policy: str
    closed_at: str
    held_since: str  # the day the hold was placed (YYYY-MM-DD)


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
    held: tuple[Kept, ...] = ()  # past the period but on legal hold: kept

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


async def expired(store: Store, cutoff: datetime) -> tuple[list[Purged], list[Kept]]:
    """Closed cases closed before `cutoff`, oldest first: those to remove, and those kept because on legal hold."""
    found: list[tuple[datetime, Purged]] = []
    held: list[tuple[datetime, Kept]] = []
    for key, case in await store.scan(CASES):
        when = closed_at(case)
        if when is None or when >= cutoff:
            continue
        ref, policy = str(case.get("ref", key)), str(case.get("policy", ""))
        hold = hold_of(case)
        if hold is None:
            found.append((when, Purged(ref, policy, when.isoformat())))
        else:
            held.append((when, Kept(ref, policy, when.isoformat(), hold.since)))
    return ([p for _, p in sorted(found, key=lambda f: (f[0], f[1].ref))],
            [k for _, k in sorted(held, key=lambda f: (f[0], f[1].ref))])


async def purge(store: Store, now: datetime, years: int, dry_run: bool, by: str = "cli",
                dedupe: Sequence[str] = (EVENTS,)) -> PurgeReport:
    """Remove closed cases older than `years` years before `now`, expired dedupe records and unfinished forms (or, in
    a dry run, only say which cases and how many records and forms)."""
    if years < 1:
        raise ValueError("the retention period must be at least one year")
    cutoff = years_before(now, years)
    cases, held = await expired(store, cutoff)
    if dry_run:
        counted = await expiry.sweep(store, now, dry_run=True, collections=dedupe)
        return PurgeReport(tuple(cases), cutoff, years, True, dedupe_records=counted,
                           dialogs=await expiry.sweep_dialogs(store, now, dry_run=True), held=tuple(held))
    refs = {c.ref for c in cases}
    # The audit entry first: a crash part-way leaves a record of the purge, never removals with no record.
    key = await log_event(store, {
        "at": now.isoformat(), "by": by, "action": "purged", "retention_years": years, "cutoff": cutoff.isoformat(),
        "refs": sorted(refs), "cases": [{"ref": c.ref, "policy": c.policy, "closed_at": c.closed_at} for c in cases],
        "held": [{"ref": k.ref, "policy": k.policy, "closed_at": k.closed_at, "held_since": k.held_since}
                 for k in held],
    })
    destroy = getattr(store, "destroy_case_key", None)  # (a sealed store: the case's data key goes with it)
    for ref in sorted(refs):
        # Only if it is still not held: on a database a hold may be placed while the purge runs (that case is kept,
        # and the audit log says so in an entry of its own).
        if not await store.delete_if(CASES, ref, lambda case: hold_of(case) is None):
            late = await _held_meanwhile(store, ref, now, by)
            if late is not None:
                refs.discard(ref)
                cases = [c for c in cases if c.ref != ref]
                held.append(late)
            continue
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
                       await expiry.sweep_dialogs(store, now), tuple(held))



async def _held_meanwhile(store: Store, ref: str, now: datetime, by: str) -> Kept | None:
    """A case the purge listed but found on legal hold when it came to remove it: audited as kept (None if it is gone
    instead: removed meanwhile by another purge)."""
    case = await store.get(CASES, ref)
    hold = hold_of(case) if case is not None else None
    if case is None or hold is None:
        return None
    when = closed_at(case)
    kept = Kept(ref, str(case.get("policy", "")), when.isoformat() if when else "", hold.since)
    await log_event(store, {"at": now.isoformat(), "by": by, "action": "held_not_purged", "ref": ref,
                            "policy": kept.policy, "detail": f"placed on legal hold while the purge ran (since "
                                                             f"{kept.held_since}): kept"})
    return kept
