"""The audit log and the chains that make every audit entry tamper-evident.

The audit log (entries that outlive cases: record exports and downloads, refusals, audits, purges, holds, operator
commands, each case's opening) is appended to, never changed; each entry says who, when, what, and the case only when
a real one is concerned, never child details or anything typed.

Every entry is chained to the one before: it carries its place (`seq`, from 1, its key `chain-<seq>`), the link of the
entry before (`prev`) and its own link (`mac`), an HMAC-SHA256 over its place, the link before and its content, under
the deployment's chain key (a data key of its own in the sealed store's key store, so whoever edits a copy of the data
cannot recompute a link). The last link is kept as the head (META `audit-head`, itself tagged), so entries removed from
the end are caught too. A case's own events are chained the same way within the case (each event's `mac`, the case's
`trail` head), and the opening of each case is an entry of the log, so a case removed by anything but a purge is
caught (`python -m bot audit verify`, bot/records/verify.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from storage.base import Doc, Store, StoreError
from storage.collections import AUDIT_LOG, META

HEAD = "audit-head"  # META record: the last entry of the chain, {"seq", "mac", "tag"}
PREFIX = "chain-"
LINK_FIELDS = ("seq", "prev", "mac")


def entry_key(seq: int) -> str:
    return f"{PREFIX}{seq:012d}"


def canonical(entry: Mapping[str, Any]) -> bytes:
    """An entry's content as its link covers it: every field but the chain's own, in a fixed form."""
    return json.dumps({k: v for k, v in entry.items() if k not in LINK_FIELDS}, sort_keys=True, ensure_ascii=True,
                      separators=(",", ":"), allow_nan=False).encode("ascii")


def link(key: bytes, scope: str, seq: int, prev: str, entry: Mapping[str, Any]) -> str:
    """The link of entry number `seq` of a chain (`scope`: "log", or "case:REF"), following `prev`."""
    body = b"\x00".join((b"audit-link", scope.encode(), str(seq).encode(), prev.encode(), canonical(entry)))
    return hmac.new(key or b"unkeyed", body, hashlib.sha256).hexdigest()


def head_tag(key: bytes, scope: str, seq: int, mac: str) -> str:
    """The tag of a chain's head: only the chain key makes it, so a head moved back (entries removed from the end)
    does not verify."""
    body = b"\x00".join((b"audit-head", scope.encode(), str(seq).encode(), mac.encode()))
    return hmac.new(key or b"unkeyed", body, hashlib.sha256).hexdigest()


class ChainKeyMissing(StoreError):
    """The audit log is chained, but the key its links are made with cannot be found: nothing is added or judged."""


async def chain_key(store: Store) -> bytes | None:
    """The deployment's chain key (a sealed store's own data key). None for a bare store (tests), and where no chain
    has begun and no key can be made (an operator's command on a store from before chains, with
    no master key): its entries are then kept outside the chain, as before. Once the chain has begun, a missing key is
    an error (ChainKeyMissing): never a new key, never an unkeyed link, so the log cannot be rewritten under a key
    anyone could compute."""
    get = getattr(store, "chain_key", None)
    if get is None:
        return None  # (a bare store, as tests use: no chain is kept; a deployment's store is always sealed)
    begun = await store.get(META, HEAD) is not None
    found = await get(make=not begun)
    if found is None and begun:
        raise ChainKeyMissing("the audit chain's key is missing from the key store (`audit-chain`): the audit log "
                              "cannot be checked or added to; restore the key store from its backup")
    return None if found is None else bytes(found)


async def log_event(store: Store, entry: Mapping[str, Any]) -> str:
    """Add one entry to the audit log (never purged), chained after the last one, and move the head to it, in one
    atomic append (Store.append: replicas and an operator's command beside the bot take their turns); its key."""
    key = await chain_key(store)
    body = {k: v for k, v in dict(entry).items() if k not in LINK_FIELDS}
    if key is None:
        return await _unchained(store, body)

    def build(seq: int, before: Doc | None) -> tuple[Doc, Doc]:
        prev = str((before or {}).get("mac", ""))
        mac = link(key, "log", seq, prev, body)
        return {**body, "seq": seq, "prev": prev, "mac": mac}, {"seq": seq, "mac": mac,
                                                               "tag": head_tag(key, "log", seq, mac)}

    return entry_key(await store.append(AUDIT_LOG, (META, HEAD), entry_key, build))


async def _unchained(store: Store, entry: Doc) -> str:
    """An entry kept as entries were before chains (no chain has begun and no key can be made): `audit verify`
    counts it as not covered; the chain begins with the bot's first entry."""
    base = f"{entry.get('action', 'event')}:{entry.get('at', '')}:{entry.get('ref', '')}"
    for attempt in range(1000):
        key = base if attempt == 0 else f"{base}:{attempt}"
        if await store.create(AUDIT_LOG, key, dict(entry)):
            return key
    raise RuntimeError(f"could not find a free audit-log key for {base}")


def chained_events(case: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """A case with its events chained: the events after the last chained one (new ones, at the end; every event of
    a case from before chains were kept) get their links, and the case's `trail` head (how many events, the last
    link, its tag) is set. Nothing at or before a chained event, or within the head's count, is ever chained again: an
    event slipped in among them stays unchained, for `audit verify` to find."""
    ref = str(case.get("ref", "")).upper()
    events = list(case.get("events") or [])
    chained = max((i + 1 for i, e in enumerate(events) if "mac" in e), default=0)
    first = max(chained, int((case.get("trail") or {}).get("count", 0)))  # (never re-chains what was chained)
    if first >= len(events):
        return dict(case)  # (nothing new; fewer events than the head counts is left for `audit verify` to find)
    prev = str(events[first - 1]["mac"]) if first else ""
    for i in range(first, len(events)):
        mac = link(key, f"case:{ref}", i + 1, prev, events[i])
        events[i] = {**{k: v for k, v in events[i].items() if k != "mac"}, "mac": mac}
        prev = mac
    return {**case, "events": events,
            "trail": {"count": len(events), "mac": prev, "tag": head_tag(key, f"case:{ref}", len(events), prev)}}


def case_chain_problem(ref: str, case: Mapping[str, Any], key: bytes) -> tuple[str | None, int]:
    """What is wrong with a case's chain of events (None: intact), and how many events were checked. A case with no
    chain at all is for the caller to judge (one from before chains, or one whose chain was taken off)."""
    events = list(case.get("events") or [])
    trail = case.get("trail") or {}
    prev = ""
    for number, event in enumerate(events, 1):
        what = f"{event.get('action', '?')} at {str(event.get('at', '?'))[:19]}"
        if "mac" not in event:
            return f"case {ref} event {number} ({what}) is not in the case's chain", number - 1
        if link(key, f"case:{ref}", number, prev, event) != event["mac"]:
            return (f"case {ref} event {number} ({what}) was changed, or events before it were removed or reordered",
                    number - 1)
        prev = str(event["mac"])
    count, mac = int(trail.get("count", -1)), str(trail.get("mac", ""))
    if head_tag(key, f"case:{ref}", count, mac) != trail.get("tag"):
        return f"case {ref}: the head of its events was changed", len(events)
    if count > len(events):
        return f"case {ref}: events {len(events) + 1}-{count} were removed from the end", len(events)
    if count < len(events) or mac != prev:
        return f"case {ref}: its events do not end where its head says", len(events)
    return None, len(events)
