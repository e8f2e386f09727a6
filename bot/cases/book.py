"""The case book: the only reader and writer of stored cases, and of the small index of cases whose thread is not
started yet (so no pass ever reads every case to find them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from bot.cases.case import Case, root_pending
from bot.types import ThreadRef
from storage.base import Doc, Store
from storage.collections import CASES, META, OPENINGS, ROOTS_PENDING

ROOTS_INDEXED = "roots-indexed"  # META record: the pending-roots index holds every case (built once, see `pending`)


class CaseBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, ref: str) -> Case | None:
        return cast(Case | None, await self.store.get(CASES, ref.upper()))

    async def create(self, case: Case) -> bool:
        """Store a new case (False if its reference is taken). A case whose thread is not started yet is put in the
        pending-roots index first: a crash between the two leaves an index entry for no case (dropped later), never
        a case nobody will start a thread for."""
        if root_pending(case):
            await self.store.put(ROOTS_PENDING, case["ref"], {})
        return await self.store.create(CASES, case["ref"], cast(Doc, case))

    async def update(self, ref: str, change: Callable[[Case], Case]) -> Case:
        """Atomically change a stored case; KeyError if there is none (nothing is written)."""

        def apply(doc: Doc | None) -> Doc:
            if doc is None:
                raise KeyError(ref)
            return cast(Doc, change(cast(Case, doc)))

        return cast(Case, await self.store.update(CASES, ref.upper(), apply))

    async def all(self) -> list[Case]:
        """Every stored case (for the summary and the audit export; it reads the whole collection)."""
        return [cast(Case, doc) for _, doc in await self.store.scan(CASES)]

    async def thread_started(self, ref: str, thread: ThreadRef) -> Case:
        """The case's thread is started (its root message posted): where its messages go from now on."""
        case = await self.update(ref, lambda c: {**c, "thread": thread.to_dict(), "root_posted": True})
        await self.store.delete(ROOTS_PENDING, ref)
        return case

    async def pending(self) -> list[str]:
        """References of open cases whose root message is not posted yet. The index is built once from every case
        the first time (cases stored before it existed); after that only the index is read."""
        if await self.store.get(META, ROOTS_INDEXED) is None:
            for case in await self.all():
                if case["status"] == "open" and root_pending(case):
                    await self.store.put(ROOTS_PENDING, case["ref"], {})
            await self.store.put(META, ROOTS_INDEXED, {"built": True})
        return sorted(await self.store.keys(ROOTS_PENDING))

    async def forget_pending(self, ref: str) -> None:
        await self.store.delete(ROOTS_PENDING, ref)

    async def opening(self, idem: str) -> str | None:
        """The reference already allocated to an opening (a form, a dialog), if any."""
        held = await self.store.get(OPENINGS, idem)
        return None if held is None else str(held["ref"])

    async def hold_opening(self, idem: str, ref: str) -> str:
        """Keep `ref` for this opening; the reference it holds (another one if a concurrent opening won)."""
        if await self.store.create(OPENINGS, idem, {"ref": ref}):
            return ref
        held = await self.opening(idem)
        assert held is not None
        return held
