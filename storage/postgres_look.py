"""A look at a deployment's PostgreSQL schemas that changes nothing (`python -m bot check-config`).

PostgresStore.open is no use for that: it creates the schema if absent, runs the migrations, registers the process as
a replica and holds a lock. Here one connection is made with every transaction read-only
(`default_transaction_read_only`) and a statement time limit, and a few catalogue and count queries are run on it: is
the schema there, at which version, how many cases, may this user write, and the master-key records of the data keys'
schema (`<schema>_keys`), for the caller to check its master keys against.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from storage.base import Doc, StoreError
from storage.collections import CASES, META
from storage.postgres_sql import MIGRATIONS
from storage.postgres_store import cause, redacted
from storage.sealed import DATA_KEYS, KEYRING_DOC, SEALED_ONCE

LOOK_SECONDS = 5.0  # connecting, and each query: a database that does not answer stops the look within seconds
NEWEST = max(version for version, _ in MIGRATIONS)


@dataclass
class Look:
    """What is there. `version` 0: the schema holds no migrations table (not one of the bot's)."""

    schema_exists: bool = False
    version: int = 0
    cases: int = 0
    sealed: bool = False  # records have been sealed there (encryption at rest): its data keys are needed to read it
    can_write: bool = False  # this user may change the documents (or, with no schema yet, create it)
    keys_exist: bool = False
    data_keys: int = 0
    key_records: dict[str, Doc] = field(default_factory=dict)  # the keys schema's master-key record and its probes


async def look(url: str, schema: str, seconds: float = LOOK_SECONDS) -> Look:
    """Look at `schema` and `<schema>_keys` in the database at `url`, read-only. StoreError (the password never
    shown) if the database cannot be reached or does not answer within `seconds` at each step."""
    import psycopg
    from psycopg import sql

    keys = f"{schema}_keys"
    found = Look()
    millis = int(seconds * 1000)
    try:
        async with asyncio.timeout(seconds * 2):  # (connect, then a few short queries)
            conn = await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=max(1, int(seconds)),
                options=f"-c default_transaction_read_only=on -c statement_timeout={millis}")
            async with conn:
                async def one(query: sql.Composed | str, *params: object) -> Any:
                    cursor = await conn.execute(query, params or None)
                    row = await cursor.fetchone()
                    return None if row is None else row[0]

                there = await (await conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                                                  ([schema, keys],))).fetchall()
                names = {row[0] for row in there}
                found.schema_exists, found.keys_exist = schema in names, keys in names
                if not found.schema_exists:
                    found.can_write = bool(await one("SELECT has_database_privilege(current_database(), 'CREATE')"))
                elif await one("SELECT to_regclass(%s) IS NOT NULL", f"{schema}.schema_migrations"):
                    found.version = int(await one(sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_migrations")
                                                  .format(sql.Identifier(schema))) or 0)
                    docs = sql.SQL("{}.docs").format(sql.Identifier(schema))
                    found.cases = int(await one(sql.SQL("SELECT count(*) FROM {} WHERE collection = %s")
                                                .format(docs), CASES) or 0)
                    found.sealed = bool(await one(sql.SQL("SELECT count(*) FROM {} WHERE collection = %s AND key = %s")
                                                  .format(docs), META, SEALED_ONCE))
                    found.can_write = bool(await one("SELECT has_table_privilege(%s, 'SELECT, INSERT, UPDATE, DELETE')",
                                                     f"{schema}.docs"))
                if found.keys_exist and await one("SELECT to_regclass(%s) IS NOT NULL", f"{keys}.docs"):
                    key_docs = sql.SQL("{}.docs").format(sql.Identifier(keys))
                    rows = await (await conn.execute(
                        sql.SQL("SELECT key, body FROM {} WHERE collection = %s AND (key = %s OR key LIKE %s)")
                        .format(key_docs), (DATA_KEYS, KEYRING_DOC, "check:%"))).fetchall()
                    found.key_records = {key: json.loads(body) for key, body in rows}
                    found.data_keys = int(await one(sql.SQL(
                        "SELECT count(*) FROM {} WHERE collection = %s AND key <> %s AND key NOT LIKE %s")
                        .format(key_docs), DATA_KEYS, KEYRING_DOC, "check:%") or 0)
    except (psycopg.Error, OSError, TimeoutError) as exc:
        raise StoreError(f"cannot reach the database at {redacted(url)}: {cause(exc, url)}") from None
    return found
