"""An in-memory Store with the same contract as the durable backends, for fast tests of other layers."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType

from storage.base import Clause, Doc, StoreError, Updater
from storage.common import (
    SEQUENCES,
    append_sync,
    check_clauses,
    check_collection,
    check_key,
    json_copy,
    matches,
    next_sequence_doc,
    projected,
)


class MemoryStore:
    """Documents live in a dict, copied in (through JSON, so only JSON is accepted) and out (deep copy).

    Nothing survives the process; `open` and `close` only switch the store on and off.
    """

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Doc]] = {}
        self._open = False

    @property
    def exclusive(self) -> bool:
        """Only this process sees it."""
        return True

    async def __aenter__(self) -> MemoryStore:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self._open:
            raise StoreError("the memory store is already open")
        self._open = True

    async def close(self) -> None:
        self._open = False

    def _check(self, collection: str, key: str | None = None) -> dict[str, Doc]:
        check_collection(collection)
        if key is not None:
            check_key(key)
        if not self._open:
            raise StoreError("the memory store is not open")
        return self._data.setdefault(collection, {})

    async def get(self, collection: str, key: str) -> Doc | None:
        doc = self._check(collection, key).get(key)
        return None if doc is None else copy.deepcopy(doc)

    async def put(self, collection: str, key: str, doc: Doc) -> None:
        docs = self._check(collection, key)
        docs[key] = json_copy(doc)

    async def create(self, collection: str, key: str, doc: Doc) -> bool:
        docs = self._check(collection, key)
        if key in docs:
            return False
        docs[key] = json_copy(doc)
        return True

    async def update(self, collection: str, key: str, fn: Updater) -> Doc:
        # No await between read and write, so this is atomic on the event loop.
        docs = self._check(collection, key)
        current = docs.get(key)
        new = json_copy(fn(None if current is None else copy.deepcopy(current)))
        docs[key] = new
        return copy.deepcopy(new)

    async def update_if_free(self, collection: str, key: str, fn: Updater) -> Doc | None:
        return await self.update(collection, key, fn)  # (one process, atomic on the loop: never busy)

    async def delete(self, collection: str, key: str) -> bool:
        return self._check(collection, key).pop(key, None) is not None

    async def delete_if(self, collection: str, key: str, check: Callable[[Doc], bool]) -> bool:
        docs = self._check(collection, key)  # (no await between the check and the removal)
        current = docs.get(key)
        if current is None or not check(copy.deepcopy(current)):
            return False
        del docs[key]
        return True

    async def keys(self, collection: str) -> list[str]:
        return list(self._check(collection))

    async def scan(self, collection: str) -> list[tuple[str, Doc]]:
        return [(key, copy.deepcopy(doc)) for key, doc in self._check(collection).items()]

    async def batches(self, collection: str, size: int = 500,
                      fields: Sequence[str] | None = None) -> AsyncIterator[list[tuple[str, Doc]]]:
        keys = sorted(self._check(collection))
        for start in range(0, len(keys), size):
            docs = self._check(collection)
            yield [(key, copy.deepcopy(projected(docs[key], fields))) for key in keys[start:start + size]
                   if key in docs]

    async def select(self, collection: str, any_of: list[Clause]) -> list[tuple[str, Doc]]:
        check_clauses(any_of)
        return [(key, copy.deepcopy(doc)) for key, doc in self._check(collection).items() if matches(doc, any_of)]

    async def append(self, collection: str, head: tuple[str, str], key_of: Callable[[int], str],
                     build: Callable[[int, Doc | None], tuple[Doc, Doc]]) -> int:
        def read(c: str, k: str) -> Doc | None:
            found = self._check(c, k).get(k)
            return None if found is None else copy.deepcopy(found)

        def create(c: str, k: str, doc: Doc) -> bool:
            docs = self._check(c, k)
            if k in docs:
                return False
            docs[k] = json_copy(doc)
            return True

        def write(c: str, k: str, doc: Doc) -> None:
            self._check(c, k)[k] = json_copy(doc)

        return append_sync(read, create, write, collection, head, key_of, build)  # (no await: atomic on the loop)

    async def next_sequence(self, name: str) -> int:
        value: int = (await self.update(SEQUENCES, name, next_sequence_doc))["value"]
        return value
