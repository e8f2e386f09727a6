"""The audit log: entries that outlive cases (record exports and downloads, refusals, audits, purges). Appended to,
never changed; each entry says who, when, what, and the case only when a real one is concerned, never child details
or anything typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storage.base import Store
from storage.collections import AUDIT_LOG


async def log_event(store: Store, entry: Mapping[str, Any]) -> str:
    """Add one entry to the audit log (never purged); its key is returned."""
    base = f"{entry.get('action', 'event')}:{entry.get('at', '')}:{entry.get('ref', '')}"
    for attempt in range(1000):
        key = base if attempt == 0 else f"{base}:{attempt}"
        if await store.create(AUDIT_LOG, key, dict(entry)):
            return key
    raise RuntimeError(f"could not find a free audit-log key for {base}")
