"""Claims on stored work (a form being handled, a message being delivered, a nudge being sent): who holds one, and
when it is dead.

Each process takes a random name as it starts, and remembers the claims it holds now. A claim carries its holder's
name and time. This process's own claim is live exactly while it holds it (whatever the time: a slow platform may
keep a delivery going for minutes, and taking it over would post twice). Another process's claim is dead at once
when the store is exclusive (one process at a time, as TinyDB's owner lock makes it: that process has gone, killed or
stopped before it finished), or when the store says that process has gone (PostgreSQL: each replica holds a lock for
its lifetime, which the database lets go of when its connection dies; `refresh` asks at each scheduler pass), and
otherwise live until its lease runs out.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any


class Claimer:
    def __init__(self, exclusive: bool = False, name: str | None = None) -> None:
        self.exclusive = exclusive
        self.name = name or uuid.uuid4().hex[:12]
        self._held: set[str] = set()
        self.gone: set[str] = set()  # other processes known to have gone (their claims are dead at once)

    def stamp(self, now: datetime, key: str) -> dict[str, str]:
        """The fields a claim on `key` made now carries (this process holds it until `release`)."""
        self._held.add(key)
        return {"claimed_at": now.isoformat(), "claimed_by": self.name}

    def release(self, key: str) -> None:
        """This process is done with its claim on `key` (whatever became of the work)."""
        self._held.discard(key)

    def holds(self, key: str) -> bool:
        return key in self._held

    def live(self, doc: dict[str, Any], now: datetime, lease: timedelta, key: str) -> bool:
        """Whether the claim on `doc` (the work stored under `key`) still holds: someone may be working on it."""
        if doc.get("claimed_by") == self.name:
            return key in self._held
        if self.exclusive or doc.get("claimed_by") in self.gone:
            return False
        try:
            return datetime.fromisoformat(str(doc.get("claimed_at"))) + lease > now
        except ValueError:
            return False

    async def refresh(self, store: Any) -> None:
        """Learn which other processes sharing `store` have gone, where the store can tell (`gone()`)."""
        gone = getattr(store, "gone", None)
        if gone is not None:
            self.gone = set(await gone()) | set(list(self.gone)[-1000:])
