"""A channel's own state, behind a port of its own: the markers that make a platform's retries and double clicks have
one effect, and the small records a channel keeps to post later (Teams' conversation references, say). They live in
collections named for the channel (`<channel>_<space>`), never in the core's; markers expire with the core's own
dedupe records (bot.jobs.expiry)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.dates.clock import Clock
from storage.base import Doc, Store
from storage.collections import channel_collection

MARKS = "marks"
SPACE = re.compile(r"[a-z]{1,20}")


class ChannelState:
    def __init__(self, store: Store, channel: str, clock: Clock) -> None:
        self._store = store
        self.channel = channel
        self._clock = clock

    @property
    def marks(self) -> str:
        """The collection of this channel's markers (swept like the core's dedupe records)."""
        return channel_collection(self.channel, MARKS)

    def _space(self, space: str) -> str:
        if not SPACE.fullmatch(space) or space == MARKS:
            raise ValueError(f"invalid space {space!r}")
        return channel_collection(self.channel, space)

    async def first(self, key: str) -> bool:
        """Mark `key` (an event the platform may deliver again); True only the first time."""
        return await self._store.create(self.marks, key, {"at": self._clock.now().isoformat()})

    async def seen(self, key: str) -> bool:
        """Whether `key` was marked (`first`)."""
        return await self._store.get(self.marks, key) is not None

    async def claim(self, key: str, window: timedelta) -> bool:
        """Claim `key` for `window` (a click: the same click again within it is a double click); True if claimed
        now, atomically, so of two at once only one has it."""
        now = self._clock.now()
        claimed = False

        def take(current: Doc | None) -> Doc:
            nonlocal claimed
            try:  # the same click again later is a new intention, not a double click
                held = current is not None and datetime.fromisoformat(str(current.get("at"))) >= now - window
            except ValueError:
                held = False
            if held:
                assert current is not None
                return current
            claimed = True
            return {"at": now.isoformat()}

        await self._store.update(self.marks, key, take)
        return claimed

    async def release(self, key: str) -> None:
        """Give a claim back (what it was for did not happen), so the same click works again."""
        await self._store.delete(self.marks, key)

    async def get(self, space: str, key: str) -> dict[str, Any] | None:
        return await self._store.get(self._space(space), key)

    async def put(self, space: str, key: str, doc: dict[str, Any]) -> None:
        await self._store.put(self._space(space), key, doc)

    async def create(self, space: str, key: str, doc: dict[str, Any]) -> bool:
        """Store `doc` only if `key` is new in `space`; True if it was."""
        return await self._store.create(self._space(space), key, doc)
