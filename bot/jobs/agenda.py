"""The agenda: which cases have nudges on which dates, so a scheduler pass reads only what is due.

Two small kinds of record: `agenda_index/dates` lists dates with work, and `agenda/<date>` lists case references.
Entries are added before the case's nudges are written, so a crash can leave an entry with nothing due (harmless,
dropped on the next pass) but never a nudge the scheduler cannot find. One lock serialises changes, so adding and
removing on the same date never lose each other's work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from storage.base import Store
from storage.collections import AGENDA, AGENDA_INDEX

INDEX = (AGENDA_INDEX, "dates")


class Agenda:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = asyncio.Lock()

    async def add(self, ref: str, dates: Iterable[str]) -> None:
        wanted = sorted(set(dates))
        if not wanted:
            return
        async with self._lock:

            def add_dates(doc: dict[str, Any] | None) -> dict[str, Any]:
                return {"dates": sorted(set((doc or {}).get("dates", [])) | set(wanted))}

            await self.store.update(*INDEX, add_dates)
            for day in wanted:

                def add_ref(doc: dict[str, Any] | None) -> dict[str, Any]:
                    return {"refs": sorted(set((doc or {}).get("refs", [])) | {ref})}

                await self.store.update(AGENDA, day, add_ref)

    async def dates_up_to(self, last: str) -> list[str]:
        """Dates with work on or before `last` (ISO)."""
        doc = await self.store.get(*INDEX)
        return [d for d in (doc or {}).get("dates", []) if d <= last]

    async def refs_on(self, day: str) -> list[str]:
        doc = await self.store.get(AGENDA, day)
        return list((doc or {}).get("refs", []))

    async def remove(self, ref: str, day: str) -> None:
        """Forget a case on a date; forget the date once nothing is left on it."""
        async with self._lock:
            doc = await self.store.get(AGENDA, day)
            refs = [r for r in (doc or {}).get("refs", []) if r != ref]
            if refs:
                await self.store.put(AGENDA, day, {"refs": refs})
                return
            await self.store.delete(AGENDA, day)

            def drop_date(index: dict[str, Any] | None) -> dict[str, Any]:
                return {"dates": [d for d in (index or {}).get("dates", []) if d != day]}

            await self.store.update(*INDEX, drop_date)
