"""The PostgreSQL store's SQL: the schema's numbered migrations, the write of a document with its indexed fields, and
`select` conditions on those fields (storage.postgres_store runs them)."""

from __future__ import annotations

import json
import re
from typing import Any

from storage.base import Doc
from storage.common import index_fields

# Each migration runs once, in order, in one transaction with its version recorded. Never edit one that has shipped:
# add the next.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
        CREATE TABLE docs (
            collection text NOT NULL,
            key text NOT NULL,
            body text NOT NULL,
            PRIMARY KEY (collection, key)
        );
        CREATE TABLE sequences (
            name text PRIMARY KEY,
            value bigint NOT NULL
        );
    """),
    (2, """
        CREATE TABLE replicas (
            name text PRIMARY KEY,
            started_at timestamptz NOT NULL DEFAULT now(),
            gone_at timestamptz
        );
    """),
    (3, """
        ALTER TABLE docs ADD COLUMN fields jsonb;
        CREATE INDEX docs_closed_at ON docs (collection, (fields->'closed_at'));
        CREATE INDEX docs_status ON docs (collection, (fields->'status'));
        CREATE INDEX docs_open_duties ON docs (collection, (fields->'open_duties'));
    """),
)


UPSERT = ("INSERT INTO docs (collection, key, body, fields) VALUES (%s, %s, %s, %s) ON CONFLICT (collection, key) "
          "DO UPDATE SET body = EXCLUDED.body, fields = EXCLUDED.fields")


def indexed(doc: Doc) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(index_fields(doc))


FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def condition(field: str, operator: str, value: Any) -> tuple[str, list[Any]]:
    """One condition as SQL on the indexed fields (the same meaning as storage.common.matches). The field's name is
    written into the SQL (checked: letters, digits, _), so the planner matches it with an index on `fields->'name'`
    whatever plan it caches; the value is always a parameter. Strings compare with strings, numbers with numbers."""
    if not FIELD_NAME.fullmatch(field):
        raise ValueError(f"a field to select on is a plain name (letters, digits, _), not {field!r}")
    at = f"fields->'{field}'"
    if operator == "missing":
        return f"({at} IS NULL OR {at} = 'null'::jsonb)", []
    kind = "string" if isinstance(value, str) else "number"
    if operator == "=":
        return f"{at} = %s::jsonb", [json.dumps(value)]
    return f"({at} >= %s::jsonb AND jsonb_typeof({at}) = '{kind}')", [json.dumps(value)]
