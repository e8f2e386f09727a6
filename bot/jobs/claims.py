"""Claims on stored work (a form being handled, a message being delivered): who holds one, and when it is dead.

Each process takes a random name as it starts. A claim carries its holder's name and time. It is live while its
lease runs, unless the store is exclusive (one process at a time, as TinyDB's owner lock makes it) and the claim is
another process's: that process has gone (killed, or stopped before it finished), so its work is taken over at once
instead of a lease later. A store shared by several processes keeps to the lease alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Claimer:
    exclusive: bool = False
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def stamp(self, now: datetime) -> dict[str, str]:
        """The fields a claim made now carries."""
        return {"claimed_at": now.isoformat(), "claimed_by": self.name}

    def live(self, doc: dict[str, Any], now: datetime, lease: timedelta) -> bool:
        """Whether the claim on `doc` still holds (its holder may be working on it)."""
        if self.exclusive and doc.get("claimed_by") != self.name:
            return False
        try:
            return datetime.fromisoformat(str(doc.get("claimed_at"))) + lease > now
        except ValueError:
            return False
