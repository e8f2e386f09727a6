"""The audit trail export: every event of every case, plus the audit log that outlives purged cases (CSV or JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from bot.cases.trail import log_event
from bot.dates.workdays import LONDON
from bot.records.people import instant
from storage.base import Store
from storage.collections import AUDIT_LOG, CASES

__all__ = ["AUDIT_LOG", "COLUMNS", "audit_rows", "log_event", "to_csv", "to_json"]
# Rows carry the case reference, policy, time, who (the "channel:id" that acted, "bot" or "cli:USER") and what
# was done. Details are built by the bot from stage titles, dates and citations, never from answers, so an export
# carries no child identifiers. Record exports and downloads, audit runs (`audit_exported`: format, --since and how
# many rows, with no case) and purges go to the "audit_log" collection, which is never purged.
COLUMNS = ("at", "case", "policy", "who", "action", "detail")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def log_rows(entry: Mapping[str, Any]) -> list[dict[str, str]]:
    """Rows for one audit-log entry: a purge gives one row per case it removed (or one saying none was)."""
    base = {"at": str(entry.get("at", "")), "who": str(entry.get("by", "")), "action": str(entry.get("action", ""))}
    if "cases" in entry:
        years = entry.get("retention_years")
        why = f"closed before {entry.get('cutoff', '')[:10]} (retention {years} years after closure)"
        removed = entry.get("cases") or []
        if not removed:
            return [{**base, "case": "", "policy": "", "detail": f"no case {why}"}]
        return [{**base, "case": str(c.get("ref", "")), "policy": str(c.get("policy", "")),
                 "detail": f"closed {str(c.get('closed_at', ''))[:10]}; {why}"} for c in removed]
    return [{**base, "case": str(entry.get("ref", "")), "policy": str(entry.get("policy", "")),
             "detail": str(entry.get("detail", ""))}]


async def audit_rows(store: Store, since: date | None = None) -> list[dict[str, str]]:
    """Every event of every case and every audit-log entry (on or after `since`, London date), oldest first."""
    rows: list[dict[str, str]] = []
    for ref, case in await store.scan(CASES):
        for event in case.get("events") or []:
            rows.append({"at": str(event.get("at", "")), "case": str(case.get("ref", ref)),
                         "policy": str(case.get("policy", "")), "who": str(event.get("by", "")),
                         "action": str(event.get("action", "")), "detail": str(event.get("detail", ""))})
    for _, entry in await store.scan(AUDIT_LOG):
        rows.extend(log_rows(entry))
    if since is not None:
        rows = [r for r in rows if instant(r["at"]).astimezone(LONDON).date() >= since]
    rows.sort(key=lambda r: (instant(r["at"]), r["case"]))
    return [{column: row[column] for column in COLUMNS} for row in rows]


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def to_csv(rows: Iterable[Mapping[str, str]]) -> str:
    """CSV with a header line; cells that a spreadsheet would read as a formula get a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_safe(str(row.get(column, ""))) for column in COLUMNS])
    return out.getvalue()


def to_json(rows: Iterable[Mapping[str, str]]) -> str:
    """A JSON array of row objects."""
    return json.dumps([dict(r) for r in rows], ensure_ascii=False, indent=2) + "\n"
