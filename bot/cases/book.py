"""The case book: the only reader and writer of stored cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, cast

from bot.cases.case import Case, root_pending
from bot.cases.trail import chain_key, chained_events, log_event
from bot.types import ThreadRef
from storage.base import Clause, Doc, Store
from storage.collections import CASES, META, OPENINGS

ROOTS_QUEUED = "roots-queued"  # META record: cases stored before roots were queued have been looked through once
TRAILS_CHAINED = "trails-chained"  # META record: every case's events are chained (from that day on, a case with no
# chain is one whose chain was taken off it: `audit verify` says so)
DUTIES_COUNTED = "duties-counted"  # META record: every case carries its count of open duties (the summary's index)
CHASES_RESUMED = "chases-resumed"  # META record: the procedures whose silent overdue cases have been looked through


class CaseBook:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._key: bytes | None = None  # the chain key of the cases' events (bot.cases.trail)
        self._looked = False

    async def _chain_key(self) -> bytes | None:
        """None where no chain can be kept (an operator's command on a store from before chains, with no master
        key): the events are then left unchained, for the bot to chain at its next pass."""
        if not self._looked:
            self._key, self._looked = await chain_key(self.store), True
        return self._key

    async def get(self, ref: str) -> Case | None:
        return cast(Case | None, await self.store.get(CASES, ref.upper()))

    async def create(self, case: Case) -> bool:
        """Store a new case (False if its reference is taken), its events chained, and its opening entered in the
        audit log (so a case removed by anything but a purge is found by `audit verify`)."""
        key = await self._chain_key()
        if not await self.store.create(CASES, case["ref"], _indexed(cast(Doc, case), key)):
            return False
        await log_event(self.store, {"at": case.get("raised_at", ""), "by": "bot", "action": "case_opened",
                                     "ref": case["ref"], "policy": case.get("policy", "")})
        return True

    async def update(self, ref: str, change: Callable[[Case], Case]) -> Case:
        """Atomically change a stored case; KeyError if there is none (nothing is written). New events are
        chained after the case's last one."""
        key = await self._chain_key()

        def apply(doc: Doc | None) -> Doc:
            if doc is None:
                raise KeyError(ref)
            return _indexed(cast(Doc, change(cast(Case, doc))), key)

        return cast(Case, await self.store.update(CASES, ref.upper(), apply))

    async def claim(self, ref: str, change: Callable[[Case], Case]) -> Case | None:
        """`update`, unless another replica is writing the case at this moment: then None at once and nothing is
        written (a pass claiming due nudges skips the case; its nudges are still due at the next pass)."""

        key = await self._chain_key()

        def apply(doc: Doc | None) -> Doc:
            if doc is None:
                raise KeyError(ref)
            return _indexed(cast(Doc, change(cast(Case, doc))), key)

        return cast(Case | None, await self.store.update_if_free(CASES, ref.upper(), apply))

    async def all(self) -> list[Case]:
        """Every stored case (for the audit export and one-off upgrades; it reads the whole collection)."""
        return [cast(Case, doc) for _, doc in await self.store.scan(CASES)]

    async def for_summary(self, since: date) -> list[Case]:
        """The cases a summary of the weeks from `since` on can count: open ones, those closed since, and those
        still owing a duty (a database answers from its indexes, without reading the cases closed long ago)."""
        wanted: list[Clause] = [{"closed_at": ("missing", None)}, {"closed_at": (">=", since.isoformat())},
                                {"open_duties": (">=", 1)}]
        return [cast(Case, doc) for _, doc in await self.store.select(CASES, wanted)]

    async def indexed_once(self) -> int:
        """Cases stored before the count of open duties was kept get it: read from every case the first time only
        (a store upgraded from an earlier version), nothing after that; how many were rewritten."""
        if await self.store.get(META, DUTIES_COUNTED) is not None:
            return 0
        old = [c["ref"] for c in await self.all() if "open_duties" not in c]
        for ref in old:
            await self.update(ref, lambda c: c)
        await self.store.put(META, DUTIES_COUNTED, {"done": True})
        return len(old)

    async def chained_once(self) -> int:
        """Cases stored before their events were chained get their chains: read from every case the first time only
        (a store upgraded from an earlier version), nothing after that; how many were rewritten."""
        if await self._chain_key() is None or await self.store.get(META, TRAILS_CHAINED) is not None:
            return 0  # (no chain is kept here, or every case is chained already)
        old = [c["ref"] for c in await self.all() if "trail" not in c]
        for ref in old:
            await self.update(ref, lambda c: c)
        await self.store.put(META, TRAILS_CHAINED, {"done": True})
        return len(old)

    async def thread_started(self, ref: str, thread: ThreadRef) -> Case:
        """The case's thread is started (its root message posted): where its messages go from now on."""
        return await self.update(ref, lambda c: {**c, "thread": thread.to_dict(), "root_posted": True})

    async def unstarted_once(self) -> list[str]:
        """Open cases stored before their root messages were queued with them, whose thread is not started: read
        from every case the first time only (a store upgraded from an earlier version), nothing after that."""
        if await self.store.get(META, ROOTS_QUEUED) is not None:
            return []
        found = [c["ref"] for c in await self.all() if c.get("status") == "open" and root_pending(c)]
        await self.store.put(META, ROOTS_QUEUED, {"done": True})
        return sorted(found)

    async def unchased_once(self, policy_ids: list[str]) -> list[str]:
        """Open cases of these procedures at a stage with a timescale and nothing planned for it: a stage left
        silent after its one overdue nudge by an earlier version, which did not chase it again. Read from every case
        the first time only for each procedure (a store upgraded from an earlier version), nothing after that."""
        done = set((await self.store.get(META, CHASES_RESUMED) or {}).get("policies", []))
        wanted = set(policy_ids) - done
        if not wanted:
            return []
        found = [c["ref"] for c in await self.all()
                 if c.get("policy") in wanted and c.get("status") == "open" and c.get("stage_due")
                 and not any(n["stage"] == c.get("stage") and n["status"] in ("pending", "sending")
                             for n in c.get("nudges", []))]
        await self.store.put(META, CHASES_RESUMED, {"policies": sorted(done | wanted)})
        return sorted(found)

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


def _open_duties(case: Any) -> int:
    return sum(1 for duty in case.get("duties", []) if duty.get("status") == "open")


def _indexed(doc: Doc, key: bytes | None) -> Doc:
    """A case as stored: its new events chained (bot.cases.trail), and how many of its duties are open (so a summary
    can find the cases owing one)."""
    chained = doc if key is None else chained_events(doc, key)
    return {**chained, "open_duties": _open_duties(doc)}
