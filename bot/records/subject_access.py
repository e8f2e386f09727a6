"""Subject access: everything the bot holds about one case (or every case carrying an agency's own reference), as one
document for the operator answering a subject access request (UK GDPR Article 15).

For each case: the case as stored, opened (the child's details, every answer, the stages, outcome, duties, nudges and
its own events, and a legal hold if there is one), every audit-log entry that names it (exports, downloads, status
reads, refusals, holds, subject access, a purge that kept it), the messages the outbox holds for it (owed, and those
delivered or given up that are still kept), typed questions in progress on it and accepted forms on it not yet handled,
and the copies of its written records the console saved in the data folder (listed by path: they are files).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cases.book import CaseBook
from bot.cases.case import Case
from bot.records.files import saved_copies
from bot.records.people import instant
from storage.base import Store
from storage.collections import AUDIT_LOG, CASES, DIALOGS, INBOX, OUTBOX, channel_collection

AGENCY_REFERENCE = "agency_reference"  # the Stage 1 question every procedure asks: the raising agency's own reference


def same_text(a: str, b: str) -> bool:
    """Whether two references are the same, whole, ignoring letter case and spaces before or after."""
    return a.strip().casefold() == b.strip().casefold()


TEAMS_MESSAGES = channel_collection("teams", "messages")


async def by_agency_reference(store: Store, text: str) -> list[Case]:
    """Every case whose Stage 1 answer `agency_reference` (the raising agency's own reference for the child) is
    `text`, matched whole, ignoring letter case and spaces before or after; in order of reference. Answers are sealed at
    rest, so every case is read (a batch at a time) and compared here."""
    found: list[Case] = []
    async for batch in store.batches(CASES):
        for _, doc in batch:
            given = (doc.get("details") or {}).get(AGENCY_REFERENCE)
            if isinstance(given, str) and given.strip() and same_text(given, text):
                found.append(doc)  # type: ignore[arg-type]
    return sorted(found, key=lambda case: str(case.get("ref", "")))


async def by_ref(store: Store, ref: str) -> list[Case]:
    case = await CaseBook(store).get(ref)
    return [] if case is None else [case]


def names(entry: Mapping[str, Any], ref: str) -> bool:
    """Whether an audit-log entry concerns the case `ref` (its own reference, or one of a purge's lists)."""
    if entry.get("ref") == ref or ref in (entry.get("refs") or []):
        return True
    return any(isinstance(c, Mapping) and c.get("ref") == ref
               for c in [*(entry.get("cases") or []), *(entry.get("held") or [])])


async def gather(store: Store, cases: Iterable[Case], data_dir: Path | None) -> list[dict[str, Any]]:
    """What is held about each case, in the order given."""
    refs = [str(case["ref"]) for case in cases]
    found: dict[str, dict[str, Any]] = {
        str(case["ref"]): {"ref": case["ref"], "case": case, "audit_log": [], "outbox": [], "dialogs": [],
                           "inbox": [], "channel_messages": [], "saved_copies": []} for case in cases}
    async for batch in store.batches(AUDIT_LOG):
        for key, entry in batch:
            for ref in refs:
                if names(entry, ref):
                    found[ref]["audit_log"].append({"key": key, **entry})
    for ref in refs:  # (oldest first, as `audit` lists them)
        found[ref]["audit_log"].sort(key=lambda e: instant(str(e.get("at", ""))))
    async for batch in store.batches(OUTBOX):
        for key, doc in batch:
            about = doc.get("case") or (doc.get("reply") or {}).get("case_ref")
            if about in found:
                found[about]["outbox"].append({"key": key, **doc})
    async for batch in store.batches(DIALOGS):
        for key, doc in batch:
            if doc.get("ref") in found:
                found[doc["ref"]]["dialogs"].append({"key": key, **doc})
    async for batch in store.batches(INBOX):
        for key, doc in batch:
            about = (doc.get("event") or {}).get("case_ref")
            if about in found:
                found[about]["inbox"].append({"key": key, **doc})
    async for batch in store.batches(TEAMS_MESSAGES):  # (a Teams case message's text, kept to rebuild its card)
        for key, doc in batch:
            if doc.get("ref") in found:
                found[doc["ref"]]["channel_messages"].append({"key": key, **doc})
    if data_dir is not None:
        for copy in saved_copies(data_dir, refs):
            owner = next((r for r in refs if copy.name.upper().startswith(f"{r}-")), None)
            if owner is not None:
                found[owner]["saved_copies"].append(str(copy))
    return [found[ref] for ref in refs]


def document(cases: list[dict[str, Any]], matched: Mapping[str, str], by: str, now: datetime) -> dict[str, Any]:
    """The whole file's content: what was asked for, by whom and when, then each case's findings."""
    return {"subject_access": {"made_at": now.isoformat(), "by": by, "matched": dict(matched),
                               "cases": [c["ref"] for c in cases],
                               "note": "Everything the escalation bot holds about these cases. It holds a child's "
                                       "details: keep it as securely as the case records."},
            "cases": cases}
