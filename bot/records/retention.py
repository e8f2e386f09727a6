"""Retention: closed cases older than the retention period are purged, and each purge is written to the audit log.

A purge also expires old dedupe records and abandoned dialogs (bot/jobs/expiry.py), as the server does once a day.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cases.book import TRAILS_CHAINED
from bot.cases.trail import case_chain_problem, chain_key, log_event
from bot.dates.workdays import LONDON
from bot.jobs import expiry
from bot.jobs.agenda import Agenda
from bot.records.hold import hold_of
from storage.base import Store
from storage.collections import AGENDA, CASES, EVENTS, META, OPENINGS

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
    """One case past its retention period that a purge keeps: on legal hold, or its record not to be trusted."""

    ref: str
    policy: str
    closed_at: str
    held_since: str  # the day the hold was placed (YYYY-MM-DD); empty when kept for `why`
    why: str = ""  # kept because its record cannot be trusted (its chain broken, its events not saying it closed)


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


def closed_by_events(case: dict[str, Any]) -> datetime | None:
    """When the case's own events say it closed: an immediate-harm record when it was given (its first event), a
    case when it was resolved (its last `resolved` event); None if they do not say it closed."""
    events = case.get("events") or []
    if events and events[0].get("action") == "immediate_harm_route_given":
        stamp = events[0].get("at")
    else:
        stamp = next((e.get("at") for e in reversed(events) if e.get("action") == "resolved"), None)
    try:
        moment = datetime.fromisoformat(str(stamp)) if stamp else None
    except ValueError:
        return None
    return None if moment is None else moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def held_by_events(case: dict[str, Any]) -> str | None:
    """The day of the legal hold the case's own events say is in force (the last of `hold`/`released`), or None."""
    last = next((e for e in reversed(case.get("events") or []) if e.get("action") in ("hold", "released")), None)
    return str(last.get("at", ""))[:10] if last is not None and last.get("action") == "hold" else None


async def expired(store: Store, cutoff: datetime) -> tuple[list[Purged], list[Kept]]:
    """Closed cases closed before `cutoff`, oldest first: those to remove, and those kept because on legal hold or
    because their record cannot be trusted.

    What decides is what the case's chained events say, checked, as well as its fields: a case is removed only if its
    events' chain is intact, its events and its fields both say it closed before `cutoff` (the later of the two
    counts), and neither its field nor its events say it is on legal hold. So an edit of the stored fields alone (a
    status set to resolved, a closing date moved back, a hold taken off) never gets a case removed."""
    key = await chain_key(store)
    chained_all = await store.get(META, TRAILS_CHAINED) is not None
    found: list[tuple[datetime, Purged]] = []
    held: list[tuple[datetime, Kept]] = []
    for name, case in await store.scan(CASES):
        when, said = closed_at(case), closed_by_events(case)
        ref, policy = str(case.get("ref", name)), str(case.get("policy", ""))
        if when is None or when >= cutoff:
            continue
        problem = _untrusted(ref.upper(), case, key, chained_all)
        if problem is not None or said is None:
            why = problem or "its events do not say it was closed"
            log.warning("case %s: not purged: %s (run `audit verify`)", ref, why)
            held.append((when, Kept(ref, policy, when.isoformat(), "", why)))
            continue
        when = max(when, said)
        if when >= cutoff:
            continue
        hold = hold_of(case)
        since = hold.since if hold is not None else held_by_events(case)
        if since is None:
            found.append((when, Purged(ref, policy, when.isoformat())))
        else:
            held.append((when, Kept(ref, policy, when.isoformat(), since)))
    return ([p for _, p in sorted(found, key=lambda f: (f[0], f[1].ref))],
            [k for _, k in sorted(held, key=lambda f: (f[0], f[1].ref))])


def _untrusted(ref: str, case: dict[str, Any], key: bytes | None, chained_all: bool) -> str | None:
    """Why a case's record cannot be trusted to decide its removal (None: it can): its chain of events is broken, or
    it has none although every case's events were chained. A case from before chains is judged by its fields."""
    if key is None:
        return None
    if "trail" not in case:
        return "its chain of events is missing" if chained_all else None
    problem, _ = case_chain_problem(ref, case, key)
    return problem


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
        "held": [{"ref": k.ref, "policy": k.policy, "closed_at": k.closed_at, "held_since": k.held_since,
                  **({"why": k.why} if k.why else {})} for k in held],
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
