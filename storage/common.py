"""Argument checks and JSON copying shared by every backend, so they all accept and reject the same input."""

from __future__ import annotations

import asyncio
import json
import re
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from storage.base import Clause, Doc

_COLLECTION = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")
RESERVED_COLLECTIONS = frozenset({"tmp"})
SEQUENCES = "_sequences"


def check_collection(collection: str) -> None:
    """Raise ValueError unless `collection` is a short lower-case name (letters, digits, `_`, `-`)."""
    if (
        not isinstance(collection, str)
        or not _COLLECTION.fullmatch(collection)
        or collection in RESERVED_COLLECTIONS
    ):
        raise ValueError(f"invalid collection name {collection!r}: use up to 64 of a-z 0-9 _ -")


def check_key(key: str) -> None:
    """Raise ValueError unless `key` is a non-empty string that can be encoded as UTF-8."""
    if not isinstance(key, str) or not key:
        raise ValueError("a key must be a non-empty string")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a key must be valid Unicode text (no lone surrogates)") from None


def dumps(value: Any) -> str:
    """Strict JSON text, as every backend stores it (no NaN or Infinity)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode(value: Any) -> bytes:
    """A record file's bytes: UTF-8 JSON. Text with a lone surrogate (which UTF-8 cannot hold, e.g. a display name
    from a client that cut an emoji in half) is written with JSON's \\u escapes instead, and reads back the same."""
    text = dumps(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def json_copy(doc: Doc) -> Doc:
    """A deep copy of a document through JSON, raising TypeError/ValueError if it is not a JSON object."""
    if not isinstance(doc, dict):
        raise TypeError(f"a document must be a dict, not {type(doc).__name__}")
    copy: Doc = json.loads(dumps(doc))
    return copy


def next_sequence_doc(doc: Doc | None) -> Doc:
    """The updater behind `next_sequence`: {"value": n} -> {"value": n + 1}, starting at 1."""
    value = 0 if doc is None else doc.get("value")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("stored sequence is not a non-negative integer")
    return {"value": value + 1}


class KeyedLocks:
    """One asyncio.Lock per key, kept only while someone holds or awaits it (so the table never grows)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, key: Hashable) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock


OPERATORS = ("=", ">=", "missing")


def check_clauses(any_of: list[Clause]) -> None:
    """Raise ValueError for a clause no backend can answer."""
    for clause in any_of:
        for field, (operator, value) in clause.items():
            if operator not in OPERATORS or not isinstance(field, str) or not field:
                raise ValueError(f"a condition is field -> (one of {OPERATORS}, value), not {field!r}: {operator!r}")
            if operator != "missing" and (isinstance(value, bool) or not isinstance(value, str | int | float)):
                raise ValueError(f"compare {field!r} with a string or a number, not {type(value).__name__}")


def matches(doc: Doc, any_of: list[Clause]) -> bool:
    """Whether a document matches any clause (every condition of it): what every backend's `select` answers."""
    return any(all(_holds(doc.get(field), operator, value) for field, (operator, value) in clause.items())
               for clause in any_of)


def _holds(found: Any, operator: str, value: Any) -> bool:
    if operator == "missing":
        return found is None
    if isinstance(found, bool) or found is None or isinstance(found, str) != isinstance(value, str):
        return False
    if not isinstance(found, str | int | float):
        return False
    return bool(found == value) if operator == "=" else bool(found >= value)


def index_fields(doc: Doc) -> Doc:
    """A document's top-level fields a database may index for `select`: strings (up to 200 characters, with no NUL
    or half a surrogate pair), numbers, booleans and nulls; nothing nested."""
    fields: Doc = {}
    for name, value in doc.items():
        if isinstance(value, str):
            if len(value) <= 200 and "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value):
                fields[name] = value
        elif value is None or isinstance(value, bool | int | float):
            fields[name] = value
    return fields


def append_sync(read: Callable[[str, str], Doc | None], create: Callable[[str, str, Doc], bool],
                write_head: Callable[[str, str, Doc], None] | None, collection: str, head: tuple[str, str],
                key_of: Callable[[int], str], build: Callable[[int, Doc | None], tuple[Doc, Doc]]) -> int:
    """The one chain-append algorithm every backend runs inside its own atomic section (`Store.append`)."""
    found = read(*head) or {}
    place = int(found.get("seq", 0))
    before = read(collection, key_of(place)) if place else None
    while True:
        place += 1
        taken = read(collection, key_of(place))
        if taken is not None:  # (a place beyond the head: another writer's, whose head is not written yet)
            before = taken
            continue
        entry, new_head = build(place, before)
        if create(collection, key_of(place), entry):
            break
        before = read(collection, key_of(place))
    if write_head is not None:
        write_head(head[0], head[1], new_head)
    return place


def projected(doc: Doc, fields: Sequence[str] | None) -> Doc:
    """A document cut down to `fields` (all of it when None): what `Store.batches(fields=...)` yields."""
    return doc if fields is None else {name: doc[name] for name in fields if name in doc}
