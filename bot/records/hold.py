"""Legal hold: a case kept past its retention period (litigation, a review, an inquiry) until it is released.

A hold is the case's top-level field `hold` = {"reason", "by", "at"}. It is sealed at rest like every case field that
is not in storage.sealed.SEALING's plain list (the reason is typed text and may name a child), so it is never a select
condition: purge reads each closed case whole anyway. Placing and releasing a hold each add an entry to the case's own
events (its chronology) and to the audit log (which outlives the case); neither carries the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from bot.cases.book import CaseBook
from bot.cases.case import AuditEntry, Case, audit, is_ref
from bot.cases.trail import log_event
from storage.base import Store

REASON_MAX = 1000  # characters: a matter's name and number, or a sentence about it


class HoldRefused(Exception):
    """The hold or release cannot be made (no such case, held already, not held): nothing was changed."""


@dataclass(frozen=True)
class Hold:
    """A case's legal hold as stored."""

    reason: str
    by: str
    at: str

    @property
    def since(self) -> str:
        """The day it was placed (YYYY-MM-DD), as messages name it."""
        return self.at[:10]


def hold_of(case: Mapping[str, Any]) -> Hold | None:
    """The case's legal hold, or None when it has none."""
    held = case.get("hold")
    if not isinstance(held, Mapping):
        return None
    return Hold(str(held.get("reason", "")), str(held.get("by", "")), str(held.get("at", "")))


def checked_reason(text: str) -> str:
    """The reason as stored: trimmed, one line of printable text, not empty, at most REASON_MAX characters."""
    reason = " ".join(text.split())
    if not reason:
        raise HoldRefused("--reason must say why the case is held (a matter, a review, an inquiry)")
    if len(reason) > REASON_MAX:
        raise HoldRefused(f"--reason is {len(reason)} characters long; at most {REASON_MAX} are kept")
    if not reason.isprintable():
        raise HoldRefused("--reason must be printable text (no control characters)")
    return reason


async def place(store: Store, ref: str, reason: str, by: str, now: datetime) -> Case:
    """Put the case on legal hold; HoldRefused (nothing changed) if there is no such case or it is held already."""
    reason = checked_reason(reason)
    book = CaseBook(store)
    stamp = now.isoformat()

    def held(case: Case) -> Case:
        already = hold_of(case)
        if already is not None:
            raise HoldRefused(f"{case['ref']} is already on legal hold since {already.since} (by {already.by}); "
                              "nothing changed (release it first to hold it for another reason)")
        entry: AuditEntry = {**audit(now, None, "hold", "legal hold placed: kept past its retention period until "
                                     "released"), "by": by}
        return {**case, "hold": {"reason": reason, "by": by, "at": stamp},
                "events": [*(case.get("events") or []), entry]}

    updated = await _update(book, ref, held)
    await log_event(store, {"at": stamp, "by": by, "action": "hold", "ref": updated["ref"],
                            "policy": updated.get("policy", ""), "detail": "legal hold placed"})
    return updated


async def release(store: Store, ref: str, by: str, now: datetime) -> Hold:
    """Take the case off legal hold (the hold as it was); HoldRefused (nothing changed) if there is no such case or
    it is not held."""
    book = CaseBook(store)
    found: list[Hold] = []

    def released(case: Case) -> Case:
        held = hold_of(case)
        if held is None:
            raise HoldRefused(f"{case['ref']} is not on legal hold; nothing changed")
        found.append(held)
        entry: AuditEntry = {**audit(now, None, "released", f"legal hold released (held since {held.since})"),
                             "by": by}
        kept = cast(Case, {name: value for name, value in case.items() if name != "hold"})
        return {**kept, "events": [*(case.get("events") or []), entry]}

    updated = await _update(book, ref, released)
    await log_event(store, {"at": now.isoformat(), "by": by, "action": "released", "ref": updated["ref"],
                            "policy": updated.get("policy", ""), "detail": f"held since {found[-1].since}"})
    return found[-1]


async def _update(book: CaseBook, ref: str, change: Callable[[Case], Case]) -> Case:
    if not is_ref(ref):
        raise HoldRefused(f"REF must be a case reference like ESC-2026-0001 (found {ref!r})")
    try:
        return await book.update(ref, change)
    except KeyError:
        raise HoldRefused(f"no case {ref.upper()}") from None
