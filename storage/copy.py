"""Moving a deployment from the embedded store to PostgreSQL: every collection of a TinyDB data folder copied into a
database, its counters carried over, and the counts checked.

Safe to run again: a document already in the target is replaced only where the folder's differs (the folder is the
truth while the bot is stopped: a case changed in it since an earlier copy is copied again), a counter only ever goes
up. A target that already holds documents is refused unless `resume` says this is the same move carried on (an
interrupted copy, or a folder used again since). The source is opened as its owner, so the bot must be stopped while
it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.common import SEQUENCES
from storage.postgres_store import PostgresStore
from storage.tinydb_store import TinyDBStore

APPEND_ONLY = frozenset({"audit_log"})  # (the database's own entries since the copy are kept, never replaced)
NEVER_REPLACED = frozenset({("meta", "audit-head")})  # (its head follows its own entries)


class CopyRefused(Exception):
    """The target is not empty and the copy was not told to resume."""


@dataclass(frozen=True)
class Copied:
    """One collection: documents in the source, documents copied now, and the target's count after."""

    collection: str
    source: int
    copied: int
    target: int
    updated: int = 0  # (already there, but different from the folder's: replaced)

    @property
    def matches(self) -> bool:
        return self.target >= self.source


async def copy_store(source: TinyDBStore, target: PostgresStore, *, resume: bool = False) -> list[Copied]:
    """Copy everything in `source` (open) into `target` (open); one line per collection (and the counters)."""
    collections = [c for c in await source.collections() if c != SEQUENCES]
    if not resume and await target.count() > 0:
        raise CopyRefused("the database already holds documents: copy into an empty one, or pass --resume to carry "
                          "on a copy that was interrupted")
    report = []
    for collection in collections:
        copied = updated = 0
        documents = await source.scan(collection)
        for key, doc in documents:
            if await target.create(collection, key, doc):
                copied += 1
            elif resume and (collection, key) not in NEVER_REPLACED and collection not in APPEND_ONLY and \
                    await target.get(collection, key) != doc:
                await target.put(collection, key, doc)
                updated += 1
        report.append(Copied(collection, len(documents), copied, await target.count(collection), updated))
    counters = await source.scan(SEQUENCES)
    raised = 0
    for name, doc in counters:
        raised += await target.raise_sequence(name, int(doc.get("value", 0)))
    report.append(Copied("(counters)", len(counters), raised, len(counters)))
    return report
