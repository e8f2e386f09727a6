"""The PostgreSQL store: the same keyed JSON documents, shared by every replica of the bot.

One table holds every document (`docs`: collection, key, body), one the durable counters (`sequences`). A document's
body is kept as its JSON text, exactly as the other backends keep it (so text PostgreSQL's `jsonb` refuses, a NUL
character or half an emoji, round-trips too); its top-level scalar fields are kept beside it as `jsonb` (`fields`),
indexed for `select` (storage.postgres_sql holds the migrations and that SQL).

Every write of a key takes a transaction-scoped advisory lock on that key, so a read-modify-write (`update`,
`delete_if`) is serialised with every other write of the same key, in this process or another replica: updates never
lose each other's changes. Counters are one atomic `INSERT ... ON CONFLICT ... RETURNING`, unique across replicas.

The schema is created and upgraded by numbered migrations (MIGRATIONS) that run once, under a session advisory lock,
however many replicas start together.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

from storage.base import Clause, Doc, StoreError, Updater
from storage.common import (
    check_clauses,
    check_collection,
    check_key,
    encode,
    json_copy,
    next_sequence_doc,
    projected,
)
from storage.postgres_sql import MIGRATIONS, UPSERT, condition, indexed

log = logging.getLogger(__name__)
CONNECT_SECONDS = 5.0  # a database that does not answer within this stops start-up with one line naming it
POOL_SIZE = 10
MIGRATION_LOCK = 0x65736362  # the advisory lock held while migrating ("escb")
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")



def redacted(url: str) -> str:
    """A database URL fit for a log line or an error: its password left out, whether it is written before the host
    (however many `@` it holds) or as a `password=` parameter."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "the database URL"
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        user_info, _, host = authority.rpartition("@")
        if ":" in user_info:
            authority = f"{user_info.split(':', 1)[0]}:***@{host}"
    tail = re.sub(r"(?i)(password=)[^&]*", r"\1***", tail)
    return f"{scheme}://{authority}{slash}{tail}"


def secrets_in(url: str) -> list[str]:
    """The password of a database URL, as written and as a driver may split it at an `@` (for scrubbing messages)."""
    found = re.findall(r"(?i)password=([^&]*)", url)
    authority = url.partition("://")[2].partition("/")[0]
    if "@" in authority and ":" in authority.rpartition("@")[0]:
        found.append(authority.rpartition("@")[0].split(":", 1)[1])
    pieces = [piece for secret in found for piece in (secret, *secret.split("@"), *(f"{p}@" for p in
                                                                                   secret.split("@")[1:]))
              if len(piece) >= 3 or piece.endswith("@")]
    return sorted(set(pieces), key=len, reverse=True)


def _loads(body: str) -> Doc:
    doc: Doc = json.loads(body)
    return doc


class PostgresStore:
    """Documents in PostgreSQL (`url`: postgresql://user:password@host:port/database), in `schema` (created if
    absent; each deployment or test its own). Not exclusive: several processes share it."""

    def __init__(self, url: str, *, schema: str = "public", pool_size: int = POOL_SIZE, create: bool = True) -> None:
        if not SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        self.url = url
        self.schema = schema
        self.pool_size = pool_size
        self.make_schema = create  # (False: an operator's read, which must find the schema there, never make a new one)
        self.instance = uuid.uuid4().hex[:12]  # this process's name among the replicas (bot.jobs.claims)
        self._pool: Any = None
        self._presence: Any = None  # a connection of its own holding this replica's lock while it runs

    @property
    def exclusive(self) -> bool:
        """Several replicas write to it at once: another process's claim is live until its lease runs out."""
        return False

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # --- opening and closing -------------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect (at most CONNECT_SECONDS: else StoreError naming the database), then bring the schema up to date."""
        if self._pool is not None:
            raise StoreError("the PostgreSQL store is already open")
        import psycopg
        from psycopg_pool import AsyncConnectionPool

        try:  # one try first, for a clear reason (the pool would retry, and say only that it timed out)
            async with asyncio.timeout(CONNECT_SECONDS):
                probe = await psycopg.AsyncConnection.connect(self.url, connect_timeout=max(1, int(CONNECT_SECONDS)),
                                                              autocommit=True)
            if not self.make_schema:
                found = await (await probe.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                                   (self.schema,))).fetchone()
                if found is None:
                    await probe.close()
                    raise StoreError(f"the database {redacted(self.url)} has no schema {self.schema} "
                                     "(BOT_DATABASE_SCHEMA): nothing has been stored under that name; check the "
                                     "setting")
            await probe.close()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise StoreError(f"cannot reach the database at {redacted(self.url)}: {cause(exc, self.url)}") from None
        pool = AsyncConnectionPool(self.url, min_size=1, max_size=self.pool_size, open=False, timeout=30,
                                   kwargs={"autocommit": True, "options": f"-c search_path={self.schema}",
                                           "connect_timeout": max(1, int(CONNECT_SECONDS))},
                                   name="escalation-store")
        try:
            await pool.open(wait=True, timeout=CONNECT_SECONDS)
        except Exception as exc:
            await pool.close()
            raise StoreError(f"cannot reach the database at {redacted(self.url)}: {cause(exc, self.url)}") from None
        self._pool = pool
        try:
            await self._migrate()
            await self._announce()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        presence, self._presence = self._presence, None
        if presence is not None:
            with contextlib.suppress(Exception):
                await presence.execute("UPDATE replicas SET gone_at = now() WHERE name = %s", (self.instance,))
            with contextlib.suppress(Exception):
                await presence.close()  # (the lock goes with it)
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _announce(self) -> None:
        """Hold this replica's lock for as long as it runs, on a connection of its own: when the process dies, the
        database ends the connection and lets the lock go, so the others know at once (`gone`)."""
        import psycopg

        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True,
                                                     options=f"-c search_path={self.schema}")
        await conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"replica:{self.instance}",))
        await conn.execute("INSERT INTO replicas (name) VALUES (%s) ON CONFLICT DO NOTHING", (self.instance,))
        self._presence = conn

    async def gone(self) -> set[str]:
        """The replicas registered here whose process has gone (their lock is free). A gone replica stays listed
        for a day, so that every other replica learns it too."""
        found: set[str] = set()
        async with self._connection() as conn:
            await conn.execute("DELETE FROM replicas WHERE gone_at < now() - interval '1 day'")
            cursor = await conn.execute("SELECT name, gone_at IS NOT NULL FROM replicas WHERE name <> %s",
                                        (self.instance,))
            for name, marked in await cursor.fetchall():
                if marked:
                    found.add(name)
                    continue
                probe = await conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                                           (f"replica:{name}",))
                row = await probe.fetchone()
                if row and row[0]:
                    await conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (f"replica:{name}",))
                    await conn.execute("UPDATE replicas SET gone_at = now() WHERE name = %s", (name,))
                    found.add(name)
        return found

    async def _migrate(self) -> None:
        async with self._connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")  # (under the lock: replicas race)
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, "
                                   "applied_at timestamptz NOT NULL DEFAULT now())")
                cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
                row = await cursor.fetchone()
                current = int(row[0]) if row else 0
                newest = max(v for v, _ in MIGRATIONS)
                if current > newest:
                    raise StoreError(f"the database's schema is version {current}, newer than this bot knows "
                                     f"({newest}): upgrade the bot")
                for version, sql in MIGRATIONS:
                    if version <= current:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                    log.info("database schema migrated to version %d", version)
                await self._backfill(conn)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    async def _backfill(self, conn: Any) -> None:
        """Documents written before their fields were indexed (migration 3) get them, a batch at a time."""
        while True:
            cursor = await conn.execute("SELECT collection, key, body FROM docs WHERE fields IS NULL LIMIT 1000")
            rows = await cursor.fetchall()
            if not rows:
                return
            async with conn.transaction():
                for collection, key, body in rows:
                    await conn.execute("UPDATE docs SET fields = %s WHERE collection = %s AND key = %s",
                                       (indexed(_loads(body)), collection, key))

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        pool = self._pool
        if pool is None:
            raise StoreError("the PostgreSQL store is not open")
        try:
            async with pool.connection() as conn:
                yield conn
        except StoreError:
            raise
        except _database_errors() as exc:
            raise StoreError(f"the database failed: {cause(exc, self.url)}") from exc

    @asynccontextmanager
    async def _locked(self, collection: str, key: str) -> AsyncIterator[Any]:
        """A transaction holding the write lock of one key."""
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{collection}/{key}",))
            yield conn

    # --- the contract --------------------------------------------------------------------------------------------
    async def get(self, collection: str, key: str) -> Doc | None:
        _check(collection, key)
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT body FROM docs WHERE collection = %s AND key = %s", (collection, key))
            row = await cursor.fetchone()
        return None if row is None else _loads(row[0])

    async def get_many(self, collection: str, keys: list[str]) -> dict[str, Doc | None]:
        """Several documents of a collection in one query (those absent: None)."""
        check_collection(collection)
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT key, body FROM docs WHERE collection = %s AND key = ANY(%s)",
                                        (collection, list(keys)))
            found = {key: _loads(body) for key, body in await cursor.fetchall()}
        return {key: found.get(key) for key in keys}

    async def put(self, collection: str, key: str, doc: Doc) -> None:
        _check(collection, key)
        body = _body(doc)
        async with self._locked(collection, key) as conn:
            await conn.execute(UPSERT, (collection, key, body, indexed(doc)))

    async def create(self, collection: str, key: str, doc: Doc) -> bool:
        _check(collection, key)
        body = _body(doc)
        async with self._locked(collection, key) as conn:
            cursor = await conn.execute("INSERT INTO docs (collection, key, body, fields) VALUES (%s, %s, %s, %s) "
                                        "ON CONFLICT DO NOTHING", (collection, key, body, indexed(doc)))
            return bool(cursor.rowcount)

    async def update(self, collection: str, key: str, fn: Updater) -> Doc:
        _check(collection, key)
        async with self._locked(collection, key) as conn:
            cursor = await conn.execute("SELECT body FROM docs WHERE collection = %s AND key = %s",
                                        (collection, key))
            row = await cursor.fetchone()
            new = json_copy(fn(None if row is None else _loads(row[0])))
            await conn.execute(UPSERT, (collection, key, _body(new), indexed(new)))
        return new

    async def update_if_free(self, collection: str, key: str, fn: Updater) -> Doc | None:
        """The key's write lock is only tried (another replica's write in progress: None), and its row is locked
        `FOR UPDATE SKIP LOCKED` (a row being written outside the key lock, such as a migration's backfill: None)."""
        _check(collection, key)
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                                        (f"{collection}/{key}",))
            if not (await cursor.fetchone())[0]:
                return None
            cursor = await conn.execute("SELECT body FROM docs WHERE collection = %s AND key = %s "
                                        "FOR UPDATE SKIP LOCKED", (collection, key))
            row = await cursor.fetchone()
            if row is None:
                cursor = await conn.execute("SELECT 1 FROM docs WHERE collection = %s AND key = %s",
                                            (collection, key))
                if await cursor.fetchone() is not None:
                    return None  # (there, but its row is locked)
            new = json_copy(fn(None if row is None else _loads(row[0])))
            await conn.execute(UPSERT, (collection, key, _body(new), indexed(new)))
        return new

    async def delete(self, collection: str, key: str) -> bool:
        _check(collection, key)
        async with self._locked(collection, key) as conn:
            cursor = await conn.execute("DELETE FROM docs WHERE collection = %s AND key = %s", (collection, key))
            return bool(cursor.rowcount)

    async def delete_if(self, collection: str, key: str, check: Callable[[Doc], bool]) -> bool:
        _check(collection, key)
        async with self._locked(collection, key) as conn:
            cursor = await conn.execute("SELECT body FROM docs WHERE collection = %s AND key = %s",
                                        (collection, key))
            row = await cursor.fetchone()
            if row is None or not check(_loads(row[0])):
                return False
            await conn.execute("DELETE FROM docs WHERE collection = %s AND key = %s", (collection, key))
            return True

    async def keys(self, collection: str) -> list[str]:
        check_collection(collection)
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT key FROM docs WHERE collection = %s", (collection,))
            return [row[0] for row in await cursor.fetchall()]

    async def scan(self, collection: str) -> list[tuple[str, Doc]]:
        check_collection(collection)
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT key, body FROM docs WHERE collection = %s", (collection,))
            rows = await cursor.fetchall()
        return [(key, _loads(body)) for key, body in rows]

    async def batches(self, collection: str, size: int = 500,
                      fields: Sequence[str] | None = None) -> AsyncIterator[list[tuple[str, Doc]]]:
        """Keyset pages in key order: each page one short query, nothing held between them."""
        check_collection(collection)
        after = ""
        while True:
            async with self._connection() as conn:
                cursor = await conn.execute("SELECT key, body FROM docs WHERE collection = %s AND key > %s "
                                            "ORDER BY key LIMIT %s", (collection, after, size))
                rows = await cursor.fetchall()
            if not rows:
                return
            yield [(key, projected(_loads(body), fields)) for key, body in rows]
            after = rows[-1][0]

    async def select(self, collection: str, any_of: list[Clause]) -> list[tuple[str, Doc]]:
        check_collection(collection)
        check_clauses(any_of)
        if not any_of:
            return []
        parts, params = [], [collection]
        for clause in any_of:
            conditions = [condition(field, operator, value) for field, (operator, value) in clause.items()]
            parts.append("(" + " AND ".join(sql for sql, _ in conditions) + ")" if conditions else "TRUE")
            params += [p for _, values in conditions for p in values]
        query = f"SELECT key, body FROM docs WHERE collection = %s AND ({' OR '.join(parts)})"  # noqa: S608  (only fixed SQL fragments; every value a parameter)
        async with self._connection() as conn:
            cursor = await conn.execute(query, params)
            rows = await cursor.fetchall()
        return [(key, _loads(body)) for key, body in rows]

    async def append(self, collection: str, head: tuple[str, str], key_of: Callable[[int], str],
                     build: Callable[[int, Doc | None], tuple[Doc, Doc]]) -> int:
        """One transaction holding the chain's lock (its head's key lock): every replica appends in turn."""
        _check(collection, "x")
        _check(*head)
        async with self._locked(*head) as conn:
            async def read(c: str, k: str) -> Doc | None:
                cursor = await conn.execute("SELECT body FROM docs WHERE collection = %s AND key = %s", (c, k))
                row = await cursor.fetchone()
                return None if row is None else _loads(row[0])

            found = await read(*head) or {}
            place = int(found.get("seq", 0))
            before = await read(collection, key_of(place)) if place else None
            while True:
                place += 1
                taken = await read(collection, key_of(place))
                if taken is None:
                    break
                before = taken
            entry, new_head = build(place, before)
            await conn.execute("INSERT INTO docs (collection, key, body, fields) VALUES (%s, %s, %s, %s)",
                               (collection, key_of(place), _body(entry), indexed(entry)))
            await conn.execute(UPSERT, (head[0], head[1], _body(new_head), indexed(new_head)))
        return place

    async def next_sequence(self, name: str) -> int:
        check_key(name)
        async with self._connection() as conn:
            cursor = await conn.execute("INSERT INTO sequences (name, value) VALUES (%s, 1) ON CONFLICT (name) DO "
                                        "UPDATE SET value = sequences.value + 1 RETURNING value", (name,))
            row = await cursor.fetchone()
        assert row is not None
        value = int(row[0])
        next_sequence_doc({"value": value - 1})  # (the same rule as every backend: a non-negative count)
        return value

    # --- for operators and tests ---------------------------------------------------------------------------------
    async def count(self, collection: str | None = None) -> int:
        """How many documents are stored (in one collection, or in all)."""
        async with self._connection() as conn:
            if collection is None:
                cursor = await conn.execute("SELECT count(*) FROM docs")
            else:
                check_collection(collection)
                cursor = await conn.execute("SELECT count(*) FROM docs WHERE collection = %s", (collection,))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def raise_sequence(self, name: str, value: int) -> bool:
        """Make a counter at least `value` (a store copied in: its references go on from where they were); True
        if it went up."""
        check_key(name)
        async with self._connection() as conn:
            cursor = await conn.execute("INSERT INTO sequences (name, value) VALUES (%s, %s) ON CONFLICT (name) DO "
                                        "UPDATE SET value = EXCLUDED.value WHERE sequences.value < EXCLUDED.value",
                                        (name, value))
            return bool(cursor.rowcount)

    async def drop(self) -> None:
        """Remove this store's schema and everything in it (tests' throwaway schemas)."""
        async with self._connection() as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


def _check(collection: str, key: str) -> None:
    check_collection(collection)
    check_key(key)


def _body(doc: Doc) -> str:
    """The JSON text kept for a document (ASCII escapes where UTF-8 cannot hold it, as the other backends)."""
    return encode(json_copy(doc)).decode("utf-8")


def _database_errors() -> tuple[type[BaseException], ...]:
    import psycopg
    import psycopg_pool

    return (psycopg.Error, psycopg_pool.PoolTimeout, OSError, asyncio.TimeoutError)


def cause(exc: BaseException, url: str = "") -> str:
    """One line about a failure, without the URL's password (a driver may quote part of it, as when a password
    holding `@` is read as a host name): the first line of what the driver said, else the kind of error."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ("no answer in time" if isinstance(exc, TimeoutError) else type(exc).__name__)
    for secret in secrets_in(url):
        text = text.replace(secret, "***@" if secret.endswith("@") else "***")
    return text[:200]
