"""`python -m bot audit verify`: every audit chain checked (bot.cases.trail), the first break named.

The audit log's chain is walked in order: each entry's place, its link to the one before and its own link must hold,
no place may be missing, and the head (the last link, tagged) must be reached. Each case's events are walked the same
way, to its own head. Every case whose opening is in the log must still be stored, unless a purge in the log removed
it. What was stored before chains were kept (older log entries, cases not yet rewritten) is counted, not judged.
Read a batch at a time: constant memory but for the set of references (a few MB at national scale).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.cases.book import TRAILS_CHAINED
from bot.cases.trail import HEAD, PREFIX, case_chain_problem, chain_key, entry_key, head_tag, link
from storage.base import Store
from storage.collections import AUDIT_LOG, CASES, META


@dataclass
class Verdict:
    """What `audit verify` found: the problems (the first is the first break met), and what it walked."""

    problems: list[str] = field(default_factory=list)
    entries: int = 0  # audit-log entries chained and checked
    unchained: int = 0  # audit-log entries from before the chain
    cases: int = 0
    events: int = 0
    cases_unchained: int = 0
    head: tuple[int, str] | None = None  # (the head's place and link: kept elsewhere, it shows an older copy put back)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify(store: Store) -> Verdict:
    key = await chain_key(store) or b""
    found = Verdict()
    opened: dict[str, int] = {}
    purged: set[str] = set()
    prev, expected = "", 1
    last_mac = ""
    async for batch in store.batches(AUDIT_LOG):
        for name, entry in batch:
            if not name.startswith(PREFIX):
                found.unchained += 1  # (a purge recorded outside the chain removes no case opened in it)
                continue
            seq = _number(name)
            if seq is None or entry.get("seq") != seq:
                found.problems.append(f"audit-log entry {name} is not in its place (it says {entry.get('seq')!r})")
                continue
            if seq != expected:
                found.problems.append(f"audit-log entries {expected}-{seq - 1} were removed (the chain jumps from "
                                      f"{expected - 1} to {seq})" if seq > expected else
                                      f"audit-log entry {seq} is out of order")
            elif entry.get("prev") != prev:
                found.problems.append(f"audit-log entry {seq} ({_what(entry)}) does not follow entry {seq - 1}: "
                                      "entries were removed or reordered")
            if link(key, "log", seq, str(entry.get("prev", "")), entry) != entry.get("mac"):
                found.problems.append(f"audit-log entry {seq} ({_what(entry)}) was changed")
            prev, expected, last_mac = str(entry.get("mac", "")), seq + 1, str(entry.get("mac", ""))
            found.entries += 1
            if entry.get("action") == "case_opened" and entry.get("ref"):
                opened[str(entry["ref"]).upper()] = seq
            if entry.get("action") == "purged":
                purged.update(str(r).upper() for r in entry.get("refs") or [])
    head = await store.get(META, HEAD)
    if found.entries or head is not None:
        _check_head(found, key, head, expected - 1, last_mac)
    chained_all = await store.get(META, TRAILS_CHAINED) is not None
    stored: set[str] = set()
    async for batch in store.batches(CASES):
        for ref, case in batch:
            stored.add(ref.upper())
            found.cases += 1
            _check_case(found, key, ref.upper(), case, chained_all or ref.upper() in opened)
    for ref, seq in sorted(opened.items(), key=lambda item: item[1]):
        if ref not in stored and ref not in purged:
            found.problems.append(f"case {ref} (opened: audit-log entry {seq}) is gone, and no purge removed it")
    return found


def _check_head(found: Verdict, key: bytes, head: dict[str, Any] | None, last: int, last_mac: str) -> None:
    if head is None:
        found.problems.append(f"the audit log's head is missing (the chain has {last} entries)")
        return
    seq, mac = int(head.get("seq", 0)), str(head.get("mac", ""))
    found.head = (seq, mac)
    if head_tag(key, "log", seq, mac) != head.get("tag"):
        found.problems.append("the audit log's head was changed")
    elif seq > last:
        found.problems.append(f"audit-log entries {last + 1}-{seq} were removed from the end")
    elif seq == last and mac != last_mac:
        found.problems.append(f"audit-log entry {seq} is not the one the head names")


def _check_case(found: Verdict, key: bytes, ref: str, case: dict[str, Any], chained_all: bool) -> None:
    trail = case.get("trail")
    if trail is None:
        if chained_all:
            found.problems.append(f"case {ref} has lost its chain of events (it was chained: opened in the chain, "
                                  "or every case was)")
        else:
            found.cases_unchained += 1
        return
    problem, checked = case_chain_problem(ref, case, key)
    found.events += checked
    if problem is not None:
        found.problems.append(problem)


def _number(name: str) -> int | None:
    digits = name[len(PREFIX):]
    return int(digits) if digits.isdigit() and entry_key(int(digits)) == name else None


def _what(entry: dict[str, Any]) -> str:
    """An entry named for a person: what, when (never any detail)."""
    return f"{entry.get('action', '?')} at {str(entry.get('at', '?'))[:19]}"


def report(found: Verdict) -> list[str]:
    """The lines `audit verify` prints."""
    covered = (f"{found.entries} audit-log entries and {found.events} events of {found.cases - found.cases_unchained}"
               f" case(s) checked")
    older = [f"not covered (stored before chains were kept): {found.unchained} audit-log entries, "
             f"{found.cases_unchained} case(s)"] if found.unchained or found.cases_unchained else []
    head = ([f"Head: entry {found.head[0]}, link {found.head[1]} (keep this line elsewhere, such as the service's log "
             "collector: a later run showing an earlier head means an older copy was put back)"]
            if found.head else [])
    if found.ok:
        return [f"Audit trail intact: {covered}.", *head, *older]
    more = len(found.problems) - 1
    return [f"Audit trail BROKEN: {found.problems[0]}.",
            *([f"... and {more} more problem(s):", *(f"  {p}" for p in found.problems[1:21])] if more else []),
            f"({covered}.)", *head, *older]
