"""Encryption at rest: a Store that seals what could identify a child, or was typed, before the backend sees it.

`SealedStore(inner, keystore, keyring)` keeps the Store contract over another store. In the collections named in
SEALING, the top-level fields that may hold a child's details or typed text are each replaced by
`{"$sealed": SCOPE, "v": BASE64}`: AES-256-GCM under a data key, bound to the collection, the document's key, the
field and the data key's scope, so a sealed value moved to another case or field does not open. Every other field is
stored as it is (what the bot itself builds: references, statuses, dates, nudges, the audit events), so the backend can
still index and select on it.

Data keys are random, one per case (`case:REF`, destroyed by `destroy_case_key` when the case is purged, after which no
copy of its sealed fields can be opened, in any backup of the data) and one per day for the short-lived collections
(dialogs in progress, accepted forms, owed messages). They are kept in a separate store (`keystore`: a folder beside
the data folder, or a schema of their own in PostgreSQL), never in the data, each wrapped under the deployer's master
key (storage.keys.Keyring). Documents written before sealing existed are read as they are and sealed when next
written (`seal_existing` rewrites them all once).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from cryptography.exceptions import InvalidTag

from storage.base import Clause, Doc, Store, StoreError, Updater
from storage.collections import CASES, DIALOGS, INBOX, META, OUTBOX
from storage.common import json_copy
from storage.keys import KEY_BYTES, Keyring, KeyringError, KeySource, seal, unseal

log = logging.getLogger(__name__)

DATA_KEYS = "data_keys"  # the keystore's collection: scope -> the data key wrapped under a master key
SEALED_ONCE = "sealed-once"  # META record: records written before sealing existed have been sealed
KEYRING_DOC = "master-keys"  # the keystore's record of the master keys that wrap its data keys ({"ids": [...]})
MARK = "$sealed"
CHAIN_SCOPE = "audit-chain"  # the data key the audit chains are linked with
CACHE = 4096  # data keys held unwrapped in memory (most recently used)

# Per collection, the fields stored in the clear (`plain`: every other field is sealed) or the fields sealed
# (`sealed`: every other field in the clear). Cases are sealed field by field except what the bot builds itself and
# needs to find and schedule them; a new field of a case is therefore sealed unless added here.
SEALING: dict[str, dict[str, frozenset[str]]] = {
    CASES: {"plain": frozenset({
        "schema", "ref", "policy", "policy_version", "status", "stage", "stage_started_on", "stage_due",
        "overall_due", "closed_at", "open_duties", "raised_at", "thread", "root_posted", "opened_in", "agencies",
        "duties", "nudges", "events", "trail"})},
    DIALOGS: {"plain": frozenset({"touched_at"})},  # (a dialog in progress: every answer typed so far)
    INBOX: {"sealed": frozenset({"event"})},  # (an accepted form: its answers)
    OUTBOX: {"sealed": frozenset({"reply"})},  # (an owed message: its text and any written record attached)
}


def sealed_fields(collection: str, doc: Doc) -> list[str]:
    """The fields of `doc` that are sealed when stored in `collection`."""
    rule = SEALING.get(collection)
    if rule is None:
        return []
    if "plain" in rule:
        return [name for name in doc if name not in rule["plain"]]
    return [name for name in doc if name in rule["sealed"]]


def case_scope(ref: str) -> str:
    return f"case:{ref.upper()}"


def scope_of(collection: str, key: str, now: datetime | None = None) -> str:
    """The data key a document's fields are sealed under: its case's own, or the day's for its collection."""
    if collection == CASES:
        return case_scope(key)
    return f"day:{collection}:{(now or datetime.now(UTC)).date().isoformat()}"


def _aad(collection: str, key: str, name: str, scope: str) -> bytes:
    return "\x00".join(("sealed-field", collection, key, name, scope)).encode("utf-8", "surrogatepass")


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and MARK in value and "v" in value


class SealedStore:
    """The Store contract over `inner`, sealing as SEALING says, with data keys kept in `keystore`."""

    def __init__(self, inner: Store, keystore: Store, keyring: Keyring | KeySource, *, make_keys: bool = True) -> None:
        self.inner = inner
        self.keystore = keystore
        self.make_keys = make_keys  # (False: an operator's read, which never makes a development key)
        self._source = keyring if isinstance(keyring, KeySource) else None
        self.keyring: Keyring = keyring if isinstance(keyring, Keyring) else Keyring()
        self._keys: OrderedDict[str, bytes] = OrderedDict()
        self._noted: set[str] = set()  # master keys known to be recorded as wrapping data keys

    # --- what the backend underneath offers, passed through --------------------------------------------------------
    @property
    def exclusive(self) -> bool:
        return self.inner.exclusive

    def __getattr__(self, name: str) -> Any:
        """Backend extras (`instance`, `gone`, `count`, `collections`, `path`, ...) are the inner store's."""
        if name.startswith("_") or name in ("inner", "keystore", "keyring", "exclusive", "make_keys"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    async def __aenter__(self) -> SealedStore:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def open(self) -> None:
        """Open both stores and check, before anything is read, that this keyring holds every master key the data
        keys are wrapped under: a wrong or missing key stops here, with one line naming it."""
        await self.inner.open()
        try:
            await self.keystore.open()
            try:
                await self.check_keys()
            except BaseException:
                await self.keystore.close()
                raise
        except BaseException:
            await self.inner.close()
            raise

    async def close(self) -> None:
        self._keys.clear()
        try:
            await self.inner.close()
        finally:
            await self.keystore.close()

    async def check_keys(self) -> None:
        noted = await self.keystore.get(DATA_KEYS, KEYRING_DOC)
        if self._source is not None and not self.keyring.keys and (noted is not None or self.make_keys):
            self.keyring = self._source.keyring(new_store=noted is None)  # (else nothing is sealed yet: none needed)
        used = (noted or {}).get("ids", [])
        missing = [kek for kek in used if kek not in self.keyring.keys]
        if missing:
            raise KeyringError(
                f"{self.keyring.source} does not hold master key {', '.join(missing)}, which this store's data keys "
                "are wrapped under (the wrong key, or an old key removed before `python -m bot keys status` showed "
                "none left under it)")
        if used:  # (one data key opened under each master key: a key with the right id but altered bytes cannot be)
            for kek in used:
                probe = await self.keystore.get(DATA_KEYS, f"check:{kek}")
                if probe is not None:
                    self.keyring.unwrap(probe, f"check:{kek}")

    async def refresh_keys(self) -> bool:
        """Read the key file again if it changed (a rotation); whether the keys changed."""
        changed = self.keyring.reload()
        if changed:
            log.info("master keys changed: current key %s", self.keyring.current)
        return changed

    # --- data keys -------------------------------------------------------------------------------------------------
    async def _data_key(self, scope: str, make: bool) -> bytes | None:
        """A scope's data key, unwrapped (made and stored first if `make` and there is none); None if there is none."""
        found = self._keys.get(scope)
        if found is not None:
            self._keys.move_to_end(scope)
            return found
        doc = await self.keystore.get(DATA_KEYS, scope)
        if doc is None and make:
            await self._note_master_key()
            made = {**self.keyring.wrap(secrets.token_bytes(KEY_BYTES), scope), "made_at": _now().isoformat()}
            doc = made if await self.keystore.create(DATA_KEYS, scope, made) else await self.keystore.get(
                DATA_KEYS, scope)  # (made meanwhile by another writer: that one)
        if doc is None:
            return None
        key = self.keyring.unwrap(doc, scope)
        self._keys[scope] = key
        if len(self._keys) > CACHE:
            self._keys.popitem(last=False)
        return key

    async def _note_master_key(self) -> None:
        """Record that the current master key wraps data keys (before it first does), with a probe only it opens."""
        current = self.keyring.current
        if current in self._noted:
            return
        noted = await self.keystore.get(DATA_KEYS, KEYRING_DOC) or {}
        if current not in noted.get("ids", []):
            probe = f"check:{current}"
            await self.keystore.create(DATA_KEYS, probe, self.keyring.wrap(secrets.token_bytes(KEY_BYTES), probe))
            await self.keystore.update(DATA_KEYS, KEYRING_DOC, lambda d: {
                "ids": [*(d or {}).get("ids", []), *([] if current in (d or {}).get("ids", []) else [current])]})
        self._noted.add(current)

    async def chain_key(self, make: bool = True) -> bytes | None:
        """The key the audit chains are linked with (bot.cases.trail): a data key of its own, never destroyed. Made
        only where `make` says a chain may begin (none exists yet) and a master key is held; None if there is none."""
        if not self.keyring.keys:
            return None
        return await self._data_key(CHAIN_SCOPE, make=make)

    async def destroy_case_key(self, ref: str) -> bool:
        """Destroy a case's data key (its purge): no copy of its sealed fields, anywhere, opens after this."""
        scope = case_scope(ref)
        self._keys.pop(scope, None)
        return await self.keystore.delete(DATA_KEYS, scope)

    async def destroy_orphan_keys(self, older_than: timedelta = timedelta(hours=1)) -> int:
        """Destroy the data keys of cases no longer stored (a purge stopped between removing a case and its key),
        made more than `older_than` ago (a case being opened has its key made a moment before it is stored); how
        many."""
        cases = set(await self.inner.keys(CASES))
        cutoff = (_now() - older_than).isoformat()
        orphans = [scope for scope in await self.keystore.keys(DATA_KEYS)
                   if scope.startswith("case:") and scope[5:] not in cases]
        destroyed = 0
        for scope in orphans:
            if await self.keystore.delete_if(DATA_KEYS, scope, lambda d: str(d.get("made_at", "")) < cutoff):
                self._keys.pop(scope, None)
                destroyed += 1
        return destroyed

    # --- sealing ---------------------------------------------------------------------------------------------------
    async def _seal(self, collection: str, key: str, doc: Doc) -> Doc:
        if not sealed_fields(collection, doc):
            return doc
        scope = scope_of(collection, key)
        return _seal_with(collection, key, doc, scope, await self._data_key(scope, make=True))

    async def _open(self, collection: str, key: str, doc: Doc | None) -> Doc | None:
        """A stored document with its sealed fields opened (data keys fetched as needed)."""
        if doc is None or collection not in SEALING:
            return doc
        keys: dict[str, bytes | None] = {}
        while True:
            try:
                return _open_with(collection, key, doc, keys)
            except _NeedKey as need:
                keys[need.scope] = await self._needed(collection, key, need.scope)

    async def _needed(self, collection: str, key: str, scope: str) -> bytes:
        found = await self._data_key(scope, make=False)
        if found is None:
            raise StoreError(f"{collection}/{key} cannot be read: its data key ({scope}) has been destroyed")
        return found

    # --- the contract ----------------------------------------------------------------------------------------------
    async def get(self, collection: str, key: str) -> Doc | None:
        return await self._open(collection, key, await self.inner.get(collection, key))

    async def put(self, collection: str, key: str, doc: Doc) -> None:
        await self.inner.put(collection, key, await self._seal(collection, key, _checked(doc)))

    async def create(self, collection: str, key: str, doc: Doc) -> bool:
        return await self.inner.create(collection, key, await self._seal(collection, key, _checked(doc)))

    async def update(self, collection: str, key: str, fn: Updater) -> Doc:
        return await self._updating(collection, key, fn, free_only=False)  # type: ignore[return-value]

    async def update_if_free(self, collection: str, key: str, fn: Updater) -> Doc | None:
        return await self._updating(collection, key, fn, free_only=True)

    async def _updating(self, collection: str, key: str, fn: Updater, *, free_only: bool) -> Doc | None:
        """The backend runs `fn` synchronously, so the data keys it needs are in hand before: the document's own
        scope (its case's key, or today's), and any older scope its fields turn out to be sealed under (the update is
        then run again with that key too: nothing was written)."""
        method = self.inner.update_if_free if free_only else self.inner.update
        if collection not in SEALING:
            return await method(collection, key, fn)
        scope = scope_of(collection, key)
        keys: dict[str, bytes | None] = {scope: await self._data_key(scope, make=False)}  # (made only if sealing
        # needs it: an update refused for a record that is not there makes no key)
        result: list[Doc] = []
        made: list[Doc] = []  # (a new record's content, worked out before its key was made: not worked out twice)
        while True:
            result.clear()

            def change(current: Doc | None) -> Doc:
                plains: dict[str, bytes] = {}  # (each sealed field's text as it was: a field still the same keeps its
                # sealing, compared as text, so a change made in place inside it is never missed)
                opened = None if current is None else _open_with(collection, key, current, keys, plains)
                new = made.pop() if current is None and made else fn(opened)  # (fresh values: no copy needed)
                if not isinstance(new, dict):
                    raise TypeError(f"a document must be a dict, not {type(new).__name__}")
                if keys[scope] is None and sealed_fields(collection, new):
                    made[:] = [new] if current is None else []
                    raise _NeedKey(scope, make=True)
                sealed = _seal_with(collection, key, new, scope, keys[scope], current, plains)
                result.append(new)
                return sealed

            try:
                stored = await method(collection, key, change)
            except _NeedKey as need:
                keys[need.scope] = (await self._data_key(need.scope, make=True) if need.make else
                                    await self._needed(collection, key, need.scope))
                continue
            return None if stored is None else json_copy(result[-1])

    async def delete(self, collection: str, key: str) -> bool:
        return await self.inner.delete(collection, key)

    async def delete_if(self, collection: str, key: str, check: Callable[[Doc], bool]) -> bool:
        if collection not in SEALING:
            return await self.inner.delete_if(collection, key, check)
        keys: dict[str, bytes | None] = {}
        while True:
            try:
                return await self.inner.delete_if(collection, key,
                                                  lambda doc: check(_open_with(collection, key, doc, keys)))
            except _NeedKey as need:
                keys[need.scope] = await self._needed(collection, key, need.scope)

    async def keys(self, collection: str) -> list[str]:
        return await self.inner.keys(collection)

    async def _prefetch(self, found: list[tuple[str, Doc]]) -> None:
        """The data keys a batch of documents needs, fetched together (one query on a database, not one per case)."""
        wanted = sorted({str(v[MARK]) for _, doc in found for v in doc.values() if _is_sealed(v)} - set(self._keys))
        if not wanted:
            return
        many = getattr(self.keystore, "get_many", None)
        docs = await many(DATA_KEYS, wanted) if many is not None else dict(zip(wanted, await asyncio.gather(
            *(self.keystore.get(DATA_KEYS, scope) for scope in wanted)), strict=True))
        for scope, doc in docs.items():
            if doc is not None and len(self._keys) < CACHE:
                self._keys[scope] = self.keyring.unwrap(doc, scope)

    async def _opened(self, collection: str, found: list[tuple[str, Doc]]) -> list[tuple[str, Doc]]:
        if collection in SEALING:
            await self._prefetch(found)
        out: list[tuple[str, Doc]] = []
        for key, doc in found:
            opened = await self._open(collection, key, doc)
            if opened is not None:
                out.append((key, opened))
        return out

    async def scan(self, collection: str) -> list[tuple[str, Doc]]:
        return await self._opened(collection, await self.inner.scan(collection))

    async def batches(self, collection: str, size: int = 500,
                      fields: Sequence[str] | None = None) -> AsyncIterator[list[tuple[str, Doc]]]:
        """Only what is asked for is opened: the audit export reads the cases' events, in the clear, and opens none."""
        async for batch in self.inner.batches(collection, size, fields):
            yield await self._opened(collection, batch)

    async def select(self, collection: str, any_of: list[Clause]) -> list[tuple[str, Doc]]:
        rule = SEALING.get(collection)
        if rule is not None:  # (a sealed field is never a condition: the backend sees only its ciphertext)
            named = {f for clause in any_of for f in clause}
            hidden = named & rule["sealed"] if "sealed" in rule else named - rule["plain"]
            if hidden:
                raise ValueError(f"{collection} is sealed on {sorted(hidden)}: select on fields stored in the clear")
        return await self._opened(collection, await self.inner.select(collection, any_of))

    async def next_sequence(self, name: str) -> int:
        return await self.inner.next_sequence(name)

    async def append(self, collection: str, head: tuple[str, str], key_of: Callable[[int], str],
                     build: Callable[[int, Doc | None], tuple[Doc, Doc]]) -> int:
        if collection in SEALING or head[0] in SEALING:
            raise ValueError(f"{collection} is sealed: a chain is kept in the clear (its entries carry no details)")
        return await self.inner.append(collection, head, key_of, build)

    async def drop(self) -> None:
        """Remove everything, data and data keys (a test's or benchmark's PostgreSQL schemas)."""
        await self.inner.drop()  # type: ignore[attr-defined]
        await self.keystore.drop()  # type: ignore[attr-defined]

    # --- upgrades and rotation -------------------------------------------------------------------------------------
    async def maintain(self) -> dict[str, int]:
        """What each scheduler pass does for the keys: read the key file again if it changed, seal once what was
        written before sealing existed, and re-wrap a batch of data keys still under an older master key."""
        await self.refresh_keys()
        sealed = 0
        if await self.inner.get(META, SEALED_ONCE) is None:
            sealed = await self.seal_existing()
            await self.inner.put(META, SEALED_ONCE, {"done": True})
            if sealed:
                log.info("sealed %d record(s) written before encryption at rest", sealed)
        return {"sealed": sealed, "rewrapped": await self.rewrap()}

    async def seal_existing(self) -> int:
        """Seal every document written before sealing existed (each rewritten as it is, sealed); how many."""
        done = 0
        for collection in SEALING:
            for key in await self.inner.keys(collection):
                doc = await self.inner.get(collection, key)
                if doc is not None and any(not _is_sealed(doc[n]) for n in sealed_fields(collection, doc)):
                    await self.update(collection, key, lambda d: d if d is not None else {})
                    done += 1
        return done

    async def rewrap(self, limit: int = 500) -> int:
        """Re-wrap up to `limit` data keys still under an older master key under the current one (a rotation, a
        batch per scheduler pass); how many. Once none is left under an old key, it is no longer recorded as in use
        (`python -m bot keys status` then says it may be removed from the key file)."""
        current = self.keyring.current
        noted = (await self.keystore.get(DATA_KEYS, KEYRING_DOC) or {}).get("ids", [])
        old = [kek for kek in noted if kek != current]
        if not old:
            return 0
        await self._note_master_key()
        done = 0
        for kek in old:
            under = [(scope, doc) for scope, doc in await self.keystore.select(DATA_KEYS, [{"kek": ("=", kek)}])
                     if not scope.startswith("check:")]
            for scope, doc in under[:limit - done]:
                data_key = self.keyring.unwrap(doc, scope)  # (KeyringError if the old key is no longer held)

                def again(d: Doc | None, s: str = scope, k: bytes = data_key, was: str = kek) -> Doc:
                    if d is None or d.get("kek") != was:
                        raise _Unchanged
                    return {**d, **self.keyring.wrap(k, s)}

                with contextlib.suppress(_Unchanged):
                    await self.keystore.update(DATA_KEYS, scope, again)
                    done += 1
            left = [s for s, _ in await self.keystore.select(DATA_KEYS, [{"kek": ("=", kek)}])
                    if not s.startswith("check:")]
            if not left:
                await self.keystore.update(DATA_KEYS, KEYRING_DOC, _without(kek))
                await self.keystore.delete(DATA_KEYS, f"check:{kek}")
                log.info("no data key is wrapped under master key %s any more: it may be removed", kek)
            if done >= limit:
                break
        return done

    async def key_status(self) -> dict[str, Any]:
        """Which master keys wrap how many data keys (for `python -m bot keys status`)."""
        noted = (await self.keystore.get(DATA_KEYS, KEYRING_DOC) or {}).get("ids", [])
        counts = {kek: sum(1 for scope, _ in await self.keystore.select(DATA_KEYS, [{"kek": ("=", kek)}])
                           if not scope.startswith("check:")) for kek in noted}
        return {"current": self.keyring.current, "held": list(self.keyring.keys), "in_use": counts}


def _now() -> datetime:
    return datetime.now(UTC)


def _without(kek: str) -> Updater:
    def drop(doc: Doc | None) -> Doc:
        return {"ids": [i for i in (doc or {}).get("ids", []) if i != kek]}

    return drop


class _Unchanged(Exception):
    pass


class _NeedKey(Exception):
    """A sealed field is under a data key not yet in hand (fetched, then the work is done again)."""

    def __init__(self, scope: str, make: bool = False) -> None:
        super().__init__(scope)
        self.scope = scope
        self.make = make  # (a key to seal with, not yet made)


def _text(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _seal_with(collection: str, key: str, doc: Doc, scope: str, data_key: bytes | None, stored: Doc | None = None,
               plains: dict[str, bytes] | None = None) -> Doc:
    """`doc` with the fields SEALING names sealed under `data_key` (fields already sealed are kept as they are, and
    so is the stored sealing of a field whose text is what `plains` says it was)."""
    if data_key is None:
        if not sealed_fields(collection, doc):
            return dict(doc)
        raise _NeedKey(scope, make=True)
    out = dict(doc)
    for name in sealed_fields(collection, doc):
        if _is_sealed(doc[name]):
            continue
        plain = _text(doc[name])
        if stored is not None and plains is not None and plains.get(name) == plain:
            out[name] = stored[name]
        else:
            out[name] = {MARK: scope, "v": base64.b64encode(seal(data_key, plain, _aad(collection, key, name, scope)))
                         .decode("ascii")}
    return out


def _open_with(collection: str, key: str, doc: Doc, keys: dict[str, bytes | None],
               plains: dict[str, bytes] | None = None) -> Doc:
    """`doc` with its sealed fields opened with `keys` (_NeedKey for a scope not among them); each field's text is
    kept in `plains` when given."""
    out = dict(doc)
    for name, value in doc.items():
        if not _is_sealed(value):
            continue
        scope = str(value[MARK])
        if keys.get(scope) is None:
            raise _NeedKey(scope)
        try:
            plain = unseal(keys[scope], base64.b64decode(value["v"]),  # type: ignore[arg-type]
                           _aad(collection, key, name, scope))
            out[name] = json.loads(plain)
        except (InvalidTag, binascii.Error, ValueError, TypeError):
            raise StoreError(f"{collection}/{key} field {name!r} does not open: it was altered, or moved from "
                             "another record") from None
        if plains is not None:
            plains[name] = plain
    return out


def _checked(doc: Doc) -> Doc:
    if not isinstance(doc, dict):
        raise TypeError(f"a document must be a dict, not {type(doc).__name__}")
    return doc
