"""The store interface every backend implements: keyed JSON documents in named collections."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any, Protocol

Doc = dict[str, Any]
Updater = Callable[[Doc | None], Doc]
# A condition on a document's top-level fields: field -> (operator, value), all of which must hold. Operators: "="
# and ">=" (strings, numbers), "missing" (absent or null; value ignored). `select` takes documents matching any one.
Clause = dict[str, tuple[str, Any]]


class StoreError(Exception):
    """A storage failure a user can be told about in one sentence."""


class StoreInUse(StoreError):
    """Another process already has this store open (exclusively); `holder` is its pid as the lock file says."""

    def __init__(self, message: str, *, holder: str = "unknown") -> None:
        super().__init__(message)
        self.holder = holder


class Store(Protocol):
    """Async, durable key/document storage.

    Collections are short names ("cases", "dialogs", "jobs", ...); keys are any non-empty string.
    Documents are JSON-serialisable dicts. Every write is atomic: after a crash a document is either
    its old or its new version, never a mixture and never unreadable.
    """

    @property
    def exclusive(self) -> bool:
        """Whether one process at a time writes to this store (its owner): then work claimed by another process is
        work that process left when it stopped (bot.jobs.claims)."""

    async def __aenter__(self) -> Store: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    async def open(self) -> None:
        """Acquire the store (one owner at a time), check the schema version, clean stale temp files.

        A backend may also offer a shared (guest) mode beside a running owner, as TinyDBStore(shared=True) does.
        """

    async def close(self) -> None:
        """Flush and release the store. Safe to call twice."""

    async def get(self, collection: str, key: str) -> Doc | None:
        """The stored document, or None."""

    async def put(self, collection: str, key: str, doc: Doc) -> None:
        """Create or replace a document."""

    async def create(self, collection: str, key: str, doc: Doc) -> bool:
        """Store the document only if the key is absent; True if stored, False if it already existed."""

    async def update(self, collection: str, key: str, fn: Updater) -> Doc:
        """Atomically read-modify-write one document.

        `fn` gets the current document (None if absent) and returns the new one. Updates of the same key
        are serialised, so concurrent updates never lose each other's changes. If `fn` raises, nothing is
        written and the exception propagates.
        """

    async def update_if_free(self, collection: str, key: str, fn: Updater) -> Doc | None:
        """`update`, unless another writer (another replica) is writing this key at this moment: then None at once,
        nothing read or written, instead of waiting for it. For claiming work (due nudges) that whoever holds the key
        is handling: a database answers with `FOR UPDATE SKIP LOCKED`; a single-process store is never busy."""

    async def delete(self, collection: str, key: str) -> bool:
        """Remove a document; True if it existed."""

    async def delete_if(self, collection: str, key: str, check: Callable[[Doc], bool]) -> bool:
        """Remove a document only if `check(current document)` is true, atomically with respect to updates of the
        same key (nothing written meanwhile is removed); True if removed."""

    async def keys(self, collection: str) -> list[str]:
        """Every key in a collection (unordered)."""

    async def scan(self, collection: str) -> list[tuple[str, Doc]]:
        """Every (key, document) pair in a collection (unordered). Cost grows with the collection."""

    def batches(self, collection: str, size: int = 500,
                fields: Sequence[str] | None = None) -> AsyncIterator[list[tuple[str, Doc]]]:
        """Every (key, document) pair of a collection, `size` at a time, in key order: a whole collection read in
        constant memory (an export at national scale). `fields`: only these top-level fields of each document (a
        sealed store then opens only what is asked for)."""

    async def select(self, collection: str, any_of: list[Clause]) -> list[tuple[str, Doc]]:
        """The (key, document) pairs matching any clause (storage.common.matches says what matching is). A
        database answers from indexes on the documents' top-level fields; a folder or memory reads every one."""

    async def next_sequence(self, name: str) -> int:
        """A durable counter: 1, 2, 3, ... for each name; never repeats, even across restarts."""

    async def append(self, collection: str, head: tuple[str, str], key_of: Callable[[int], str],
                     build: Callable[[int, Doc | None], tuple[Doc, Doc]]) -> int:
        """Add the next entry of an append-only chain, atomically with respect to every other append to it (other
        processes and replicas included): the head document `head` (collection, key) says the last place (`seq`);
        places taken beyond it are skipped; `build(place, entry_before)` gives the new entry (stored at
        `key_of(place)`, never over an existing one) and the new head. Returns the place. A guest that may not write
        the head (TinyDB shared mode) leaves it for the owner's next append."""
