"""The embedded default backend: one atomically written TinyDB file per record, sharded on disk."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from storage.atomic import (
    CorruptRecord,
    CrashHook,
    atomic_write,
    create_record,
    fsync_dir,
    read_record,
    write_record,
)
from storage.base import Clause, Doc, StoreError, Updater
from storage.collections import AUDIT_LOG
from storage.common import (
    SEQUENCES,
    KeyedLocks,
    append_sync,
    check_clauses,
    check_collection,
    check_key,
    dumps,
    json_copy,
    matches,
    next_sequence_doc,
    projected,
)
from storage.layout import SUFFIX, collection_files, decode_key, record_path
from storage.lockfile import acquire_lock, release_lock

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1
T = TypeVar("T")
GUEST_WRITTEN = frozenset({AUDIT_LOG})  # what guests beside the owner write (an operator's audit entries): never
# answered from the owner's projections, which see only the owner's own writes


class _Projection:
    """A collection's documents cut down to the fields `select` has been asked about, key -> {field: value}, kept
    in the owner's memory: built once by reading every record (off the event loop), then kept true by the owner's
    own writes, so a select reads only the records it returns. Keys written while it is being built are looked at
    again once it is (on the writer thread, so no write comes between)."""

    def __init__(self, fields: frozenset[str]) -> None:
        self.fields = fields
        self.rows: dict[str, Doc] = {}
        self.written: set[str] | None = set()  # None once built
        self.built: asyncio.Future[None] | None = None

    def cut(self, doc: Doc) -> Doc:
        return {name: doc.get(name) for name in self.fields}

    def wrote(self, key: str, doc: Doc | None) -> None:
        """The owner wrote `key` (None: deleted): on the writer thread, after the file is in place."""
        if doc is None:
            self.rows.pop(key, None)
        else:
            self.rows[key] = self.cut(doc)
        written = self.written
        if written is not None:
            written.add(key)


class TinyDBStore:
    """The `Store` protocol over files in one data directory: one owner process, and guests beside it.

    Layout: DATA/.lock (owner's pid), DATA/meta.json (schema version), DATA/tmp/ (temp files of writes
    in progress), DATA/<collection>/<2 hex digits>/<encoded key>.json (one TinyDB file per record, see
    storage.layout). Writes run one at a time on a private thread, reads on worker threads, so the event
    loop only waits. `create` counts an unreadable record file as existing, and is atomic across processes
    (a hard link that fails if the record exists, see storage.atomic.atomic_create). `crash_hook(point)` is
    called at each crash point of every file write (storage.atomic.CRASH_POINTS for put and update,
    CREATE_CRASH_POINTS for create), for tests.

    By default the store is opened exclusively, as its owner (the server, or a command run while it is
    stopped): `open` takes the flock on DATA/.lock (StoreInUse if another process holds it), creates the
    directory and meta.json if missing, and removes stale temp files (and a backup's snapshot left by a crash, see
    `frozen`) from DATA/tmp/.

    With `shared=True` it is opened as a guest beside a running owner (an operator's export or audit): no
    lock, nothing created or cleaned at open (the temp files in DATA/tmp/ may be the owner's writes in
    flight), meta.json must exist and is only read. A guest may read (get, keys, scan) and `create` new
    records; put, update, delete and next_sequence raise StoreError, because the owner's read-modify-writes
    are serialised only within its own process. A guest's temp files have unique names; if it dies, a stale
    one stays in DATA/tmp/ until the owner's next start removes it.
    """

    def __init__(self, path: Path, *, crash_hook: CrashHook | None = None, shared: bool = False) -> None:
        self.path = Path(path)
        self.shared = shared
        self._tmp = self.path / "tmp"
        self._crash_hook = crash_hook
        self._lock_fd: int | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._locks = KeyedLocks()  # one per (collection, key), while someone holds or awaits it
        self._dirs: set[Path] = set()
        self._projections: dict[str, _Projection] = {}

    @property
    def exclusive(self) -> bool:
        """The owner writes alone (its lock on DATA/.lock); a guest writes nothing."""
        return not self.shared

    async def __aenter__(self) -> TinyDBStore:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self._writer is not None:
            raise StoreError(f"the store at {self.path} is already open")
        if self.shared:
            await asyncio.to_thread(self._open_shared_sync)
        else:
            self._lock_fd = await asyncio.to_thread(self._open_sync)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")

    async def close(self) -> None:
        writer, fd = self._writer, self._lock_fd
        self._writer = None
        self._projections.clear()  # (the files may change while it is closed)
        if writer is not None:
            await asyncio.to_thread(writer.shutdown, wait=True)  # let queued writes land
        if fd is not None:
            self._lock_fd = None
            release_lock(fd)

    async def get(self, collection: str, key: str) -> Doc | None:
        self._check(collection, key)
        return await asyncio.to_thread(self._get_sync, collection, key)

    async def put(self, collection: str, key: str, doc: Doc) -> None:
        self._check(collection, key)
        self._refuse_if_shared("put")
        snapshot = json_copy(doc)
        async with self._key_lock(collection, key):
            await self._in_writer(self._put_sync, collection, key, snapshot)

    async def create(self, collection: str, key: str, doc: Doc) -> bool:
        self._check(collection, key)
        snapshot = json_copy(doc)
        async with self._key_lock(collection, key):
            return await self._in_writer(self._create_sync, collection, key, snapshot)

    async def update(self, collection: str, key: str, fn: Updater) -> Doc:
        self._check(collection, key)
        self._refuse_if_shared("update")
        async with self._key_lock(collection, key):
            # Read on the writer thread too, so it comes after any write still queued for this key.
            current = await self._in_writer(self._get_sync, collection, key)
            new = json_copy(fn(current))
            await self._in_writer(self._put_sync, collection, key, new)
            return new

    async def update_if_free(self, collection: str, key: str, fn: Updater) -> Doc | None:
        return await self.update(collection, key, fn)  # (one process owns the folder: writers of a key queue here)

    async def delete(self, collection: str, key: str) -> bool:
        self._check(collection, key)
        self._refuse_if_shared("delete")
        async with self._key_lock(collection, key):
            return await self._in_writer(self._delete_sync, collection, key)

    async def delete_if(self, collection: str, key: str, check: Callable[[Doc], bool]) -> bool:
        self._check(collection, key)
        self._refuse_if_shared("delete")
        async with self._key_lock(collection, key):  # updates of this key wait, so the check still holds
            current = await self._in_writer(self._get_sync, collection, key)
            if current is None or not check(current):
                return False
            return await self._in_writer(self._delete_sync, collection, key)

    async def keys(self, collection: str) -> list[str]:
        self._check(collection)
        return await asyncio.to_thread(self._keys_sync, collection)

    async def scan(self, collection: str) -> list[tuple[str, Doc]]:
        self._check(collection)
        return await asyncio.to_thread(self._scan_sync, collection)

    async def batches(self, collection: str, size: int = 500,
                      fields: Sequence[str] | None = None) -> AsyncIterator[list[tuple[str, Doc]]]:
        """The record files listed once (paths only), then read `size` at a time off the event loop."""
        self._check(collection)
        paths = sorted(await self._in_writer(self._files, collection))
        for start in range(0, len(paths), size):
            chunk = paths[start:start + size]
            records = await self._in_writer(lambda c=chunk: [self._checked_record(collection, path) for path in c])
            found = sorted((record for record in records if record is not None), key=lambda item: item[0])
            if found:
                yield [(key, projected(doc, fields)) for key, doc in found]

    async def select(self, collection: str, any_of: list[Clause]) -> list[tuple[str, Doc]]:
        """The owner answers from its projection of the collection (`_Projection`: built at the first select, read
        only the matching records after that); a guest, or a collection guests write, reads every record."""
        check_clauses(any_of)
        self._check(collection)
        if self.shared or collection in GUEST_WRITTEN:
            return [(key, doc) for key, doc in await self.scan(collection) if matches(doc, any_of)]
        projection = await self._projection(collection, frozenset(f for clause in any_of for f in clause))
        keys = sorted(key for key, row in projection.rows.copy().items() if matches(row, any_of))
        docs = await asyncio.to_thread(lambda: [(key, self._get_sync(collection, key)) for key in keys])
        return [(key, doc) for key, doc in docs if doc is not None and matches(doc, any_of)]

    async def _projection(self, collection: str, fields: frozenset[str]) -> _Projection:
        """The collection's projection holding `fields`, built if need be (one build at a time, shared)."""
        current = self._projections.get(collection)
        if current is None or not fields <= current.fields:
            current = _Projection(fields | (current.fields if current else frozenset()))
            self._projections[collection] = current  # (writes from now on are kept in it)
        if current.built is None:
            current.built = asyncio.ensure_future(self._build(collection, current))
            current.built.add_done_callback(lambda done: done.cancelled() or done.exception())  # (seen by awaiters)
        try:
            await asyncio.shield(current.built)
        except BaseException:
            if current.built.done() and self._projections.get(collection) is current:
                del self._projections[collection]  # (a failed build is tried again by the next select)
            raise
        return current

    async def _build(self, collection: str, projection: _Projection) -> None:
        def read() -> None:
            for path in self._files(collection):
                record = self._checked_record(collection, path)
                if record is not None:
                    projection.rows.setdefault(record[0], projection.cut(record[1]))  # (a write meanwhile wins)

        def settle() -> None:  # (on the writer thread: the keys written during the build, as they are now)
            for key in projection.written or ():
                doc = self._get_sync(collection, key)
                if doc is None:
                    projection.rows.pop(key, None)
                else:
                    projection.rows[key] = projection.cut(doc)
            projection.written = None

        await asyncio.to_thread(read)
        if self._writer is None or self._projections.get(collection) is not projection:
            raise StoreError(f"the store at {self.path} was closed while {collection} was being read")
        await self._in_writer(settle)

    @contextlib.asynccontextmanager
    async def frozen(self) -> AsyncIterator[None]:
        """The owner's store with no write landing until the block ends (a backup's snapshot): a job holds the writer
        thread, so every write queued before it has landed when the block starts, and every write after waits for the
        end (then lands as usual). Reads go on, but for `batches` and a projection's first build, which read on the
        writer thread too. Keep the block short: the bot's writes wait for it. Every write
        replaces a record file by a rename and never changes one in place, so hard links made in the block
        (`snapshot`) keep the files as they were after it ends."""
        if self.shared:
            raise StoreError(f"the store at {self.path} is open in shared mode beside the process that owns it; only "
                             "that process can hold its writes still (a backup is taken by the store's owner)")
        if self._writer is None:
            raise StoreError(f"the store at {self.path} is not open")
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        release = threading.Event()

        def begun() -> None:
            if not started.done():  # (not if the caller has given up waiting)
                started.set_result(None)

        def hold() -> None:
            loop.call_soon_threadsafe(begun)
            release.wait()

        job = loop.run_in_executor(self._writer, hold)
        try:
            await started
            yield
        finally:
            release.set()
            await job

    def snapshot(self, into: Path, skip: Callable[[Path], bool] = lambda _: False) -> list[Path]:
        """Hard-link every file of the store (meta.json and the records, never .lock or tmp/; nor what `skip` says,
        given each path relative to the folder) into `into` (a new folder in the store's tmp/: the same file system),
        every folder made there too; the paths linked, relative. Call it inside `frozen`, off the event loop. Only
        regular files are linked (a symlink or anything else in the folder is not the store's)."""
        linked: list[Path] = []
        into.mkdir(mode=0o700)
        for root, dirs, files in os.walk(self.path):
            here = Path(root)
            if here == self.path:
                dirs[:] = [d for d in dirs if d != self._tmp.name]
            dirs.sort()
            for name in dirs:  # (folders too, an emptied collection's among them: the same layout)
                (into / (here / name).relative_to(self.path)).mkdir(mode=0o700, exist_ok=True)
            for name in sorted(files):
                source = here / name
                relative = source.relative_to(self.path)
                if (here == self.path and name == ".lock") or skip(relative) or not source.is_file() or \
                        source.is_symlink():
                    continue
                target = into / relative
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.link(source, target)
                linked.append(relative)
        return linked

    def scratch(self, name: str) -> Path:
        """A path in the store's tmp/ for a folder of the owner's own (a backup's snapshot): removed at the next
        exclusive open if it is left behind."""
        return self._tmp / name

    async def collections(self) -> list[str]:
        """The names of the collections stored here (for copying a whole store elsewhere)."""
        self._check("meta")
        return sorted(p.name for p in self.path.iterdir() if p.is_dir() and p != self._tmp and not p.name.startswith(
            "."))

    async def append(self, collection: str, head: tuple[str, str], key_of: Callable[[int], str],
                     build: Callable[[int, Doc | None], tuple[Doc, Doc]]) -> int:
        """One job on the writer thread (the head read, the entry and the head written, with nothing between); a
        guest writes the entry only."""
        self._check(collection)
        self._check(*head)
        write = None if self.shared else self._put_sync
        return await self._in_writer(append_sync, self._get_sync, self._create_sync, write, collection, head,
                                     key_of, build)

    async def next_sequence(self, name: str) -> int:
        self._check(SEQUENCES, name)
        self._refuse_if_shared("next_sequence")
        value: int = (await self.update(SEQUENCES, name, next_sequence_doc))["value"]
        return value

    # --- helpers on the event loop -------------------------------------------------------------------

    def _check(self, collection: str, key: str | None = None) -> None:
        check_collection(collection)
        if key is not None:
            check_key(key)
        if self._writer is None:
            raise StoreError(f"the store at {self.path} is not open")

    def _refuse_if_shared(self, operation: str) -> None:
        if self.shared:
            raise StoreError(
                f"the store at {self.path} is open in shared mode beside the process that owns it (the running "
                f"bot), so it is read-only apart from creating new records; {operation} needs the bot stopped"
            )

    def _key_lock(self, collection: str, key: str) -> asyncio.Lock:
        return self._locks((collection, key))

    async def _in_writer(self, func: Callable[..., T], *args: Any) -> T:
        if self._writer is None:
            raise StoreError(f"the store at {self.path} is not open")
        return await asyncio.get_running_loop().run_in_executor(self._writer, func, *args)

    # --- blocking work, on threads ---------------------------------------------------------------------

    def _open_sync(self) -> int:
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data directory {self.path}: {exc.strerror}") from exc
        fd = acquire_lock(self.path)
        try:
            self._tmp.mkdir(mode=0o700, exist_ok=True)
            self._clean_tmp()
            self._check_schema()
        except BaseException:
            release_lock(fd)
            raise
        return fd

    def _open_shared_sync(self) -> None:
        """Check a store another process owns, changing nothing: no lock, no clean-up, no meta.json written."""
        if not self.path.is_dir():
            raise StoreError(f"there is no store at {self.path} to open in shared mode")
        if not self._tmp.is_dir():
            raise StoreError(f"{self.path} has no tmp/ folder; only a store its owner has opened can be shared")
        self._check_schema()

    def _clean_tmp(self) -> None:
        stale = list(self._tmp.iterdir())
        for path in stale:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)  # (a backup's snapshot, left by a crash)
            else:
                path.unlink(missing_ok=True)
        if stale:
            log.info("removed %d stale temporary file(s) from %s", len(stale), self._tmp)

    def _check_schema(self) -> None:
        meta = self.path / "meta.json"
        try:
            raw = meta.read_bytes()
        except FileNotFoundError:
            if self.shared:
                raise StoreError(
                    f"{meta} is missing; only a store its owner has opened can be opened in shared mode"
                ) from None
            data = dumps({"schema_version": SCHEMA_VERSION}).encode("utf-8")
            atomic_write(meta, data, self._tmp, self._crash_hook)
            return
        try:
            version = json.loads(raw)["schema_version"]
            if not isinstance(version, int) or version < 1:
                raise ValueError(version)
        except (ValueError, KeyError, TypeError):
            raise StoreError(f"{meta} is unreadable; it should hold {{\"schema_version\": 1}}") from None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store at {self.path} has schema version {version}, but this version of the bot only "
                f"knows version {SCHEMA_VERSION}; upgrade the bot or use another --data directory"
            )

    def _ensure_dir(self, directory: Path) -> None:
        if directory in self._dirs:
            return
        for part in (directory.parent, directory):
            try:
                part.mkdir(mode=0o700)
                fsync_dir(part.parent)
            except FileExistsError:
                pass
        self._dirs.add(directory)

    def _read(self, path: Path, what: str) -> tuple[str, Doc] | None:
        try:
            return read_record(path, self._tmp)
        except OSError as exc:
            raise StoreError(f"cannot read {what}: {exc.strerror}") from exc

    def _get_sync(self, collection: str, key: str) -> Doc | None:
        path = record_path(self.path, collection, key)
        try:
            record = self._read(path, f"{collection}/{key}")
            if record is not None and record[0] != key:
                raise CorruptRecord(f"{path}: holds another key")
        except CorruptRecord:
            log.warning("unreadable record file %s", path)
            raise StoreError(
                f"the stored document {collection}/{key} is unreadable (corrupt file {path}); "
                "restore the file from a backup or delete it"
            ) from None
        return None if record is None else record[1]

    def _put_sync(self, collection: str, key: str, doc: Doc) -> None:
        path = record_path(self.path, collection, key)
        try:
            self._ensure_dir(path.parent)
            write_record(path, self._tmp, key, doc, self._crash_hook)
        except BaseException as exc:
            self._projections.pop(collection, None)  # (the file may or may not have changed: built again if asked)
            if isinstance(exc, OSError):
                raise StoreError(f"cannot write {collection}/{key}: {exc.strerror}") from exc
            raise
        self._wrote(collection, key, doc)

    def _wrote(self, collection: str, key: str, doc: Doc | None) -> None:
        projection = self._projections.get(collection)
        if projection is not None:
            projection.wrote(key, doc)

    def _create_sync(self, collection: str, key: str, doc: Doc) -> bool:
        path = record_path(self.path, collection, key)
        if os.path.lexists(path):  # the common "already there" answer, without writing a temp file
            return False
        try:
            self._ensure_dir(path.parent)
            made = create_record(path, self._tmp, key, doc, self._crash_hook)  # False if another process won
        except BaseException as exc:
            self._projections.pop(collection, None)
            if isinstance(exc, OSError):
                raise StoreError(f"cannot write {collection}/{key}: {exc.strerror}") from exc
            raise
        if made:
            self._wrote(collection, key, doc)
        return made

    def _delete_sync(self, collection: str, key: str) -> bool:
        path = record_path(self.path, collection, key)
        try:
            path.unlink()
            fsync_dir(path.parent)
        except FileNotFoundError:
            return False
        except OSError as exc:
            self._projections.pop(collection, None)
            raise StoreError(f"cannot delete {collection}/{key}: {exc.strerror}") from exc
        self._wrote(collection, key, None)
        return True

    def _files(self, collection: str) -> list[Path]:
        try:
            return collection_files(self.path, collection)
        except OSError as exc:
            raise StoreError(f"cannot list collection {collection}: {exc.strerror}") from exc

    def _checked_record(self, collection: str, path: Path) -> tuple[str, Doc] | None:
        """A record file's contents, or None (with a warning) if it is unreadable or misplaced."""
        try:
            record = self._read(path, str(path))
        except CorruptRecord:
            log.warning("skipping unreadable record file %s", path)
            return None
        if record is not None and record_path(self.path, collection, record[0]) != path:
            log.warning("skipping record file %s: it holds another key", path)
            return None
        return record

    def _keys_sync(self, collection: str) -> list[str]:
        keys: list[str] = []
        for path in self._files(collection):
            try:
                key = decode_key(path.name[: -len(SUFFIX)])
            except ValueError:
                log.warning("ignoring unexpected file %s", path)
                continue
            if key is None:  # a long key with a hashed file name: the key is inside
                record = self._checked_record(collection, path)
                key = None if record is None else record[0]
            if key is not None:
                keys.append(key)
        return keys

    def _scan_sync(self, collection: str) -> list[tuple[str, Doc]]:
        records = (self._checked_record(collection, path) for path in self._files(collection))
        return [record for record in records if record is not None]
