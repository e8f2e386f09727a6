"""The operators' commands against a live PostgreSQL deployment (nothing to stop: the database is shared): tick,
summary, export, audit, purge and directory import all run beside the replicas."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from postgres_support import MASTER_KEY, database_url, new_schema
from test_copy_to_database import cases_in

from bot.people.directory_csv import demo_directory, export_directory_csv
from storage.postgres_store import PostgresStore

ROOT = Path(__file__).resolve().parents[2]


def bot(tmp: Path, url: str, schema: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "BOT_DATABASE_URL": url,
           "BOT_DATABASE_SCHEMA": schema, "BOT_POLICY": "surrey", "BOT_MASTER_KEY": MASTER_KEY}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_operators_commands_run_against_the_database_beside_a_running_store(tmp_path: Path) -> None:
    url, schema = database_url(), new_schema()

    async def seed() -> PostgresStore:
        running = PostgresStore(url, schema=schema)  # (held open throughout, as a replica would)
        await running.open()
        await cases_in(running, 2)
        return running

    loop = asyncio.new_event_loop()
    running = loop.run_until_complete(seed())
    try:
        audit = bot(tmp_path, url, schema, "audit", "--format", "json")
        assert audit.returncode == 0, audit.stderr
        assert [r["action"] for r in json.loads(audit.stdout)].count("opened") == 2
        export = bot(tmp_path, url, schema, "export", "ESC-2026-0001", "--format", "md")
        assert export.returncode == 0 and "ESC-2026-0001" in export.stdout, export.stderr
        tick = bot(tmp_path, url, schema, "tick", "--now", "2026-11-24T09:30")
        assert tick.returncode == 0, tick.stderr
        purge = bot(tmp_path, url, schema, "purge", "--dry-run")
        assert purge.returncode == 0, purge.stderr
        people = tmp_path / "people.csv"
        people.write_text(export_directory_csv(demo_directory(["surrey"])), encoding="utf-8")
        load = bot(tmp_path, url, schema, "directory", "import", str(people))
        assert load.returncode == 0 and "next scheduler pass" in load.stdout, load.stderr
        summary = bot(tmp_path, url, schema, "summary", "--week", "2026-W48", "--json")
        assert summary.returncode == 0 and json.loads(summary.stdout)["new_escalations"] == 2, summary.stderr
        logged = loop.run_until_complete(running.scan("audit_log"))
        assert {d["action"] for _, d in logged} >= {"audit_exported", "record_exported"}
    finally:
        async def done() -> None:
            await running.drop()
            await running.close()

        loop.run_until_complete(done())
        loop.close()


def test_a_read_on_a_mistyped_schema_is_refused_and_makes_nothing(tmp_path) -> None:
    """An operator's read (audit, summary, export, directory export) of a schema that is not there says so and
    exits non-zero, rather than making an empty one and reporting nothing as if all were well."""
    import psycopg

    url, schema = database_url(), new_schema()
    env = {**os.environ, "BOT_DATABASE_URL": url, "BOT_DATABASE_SCHEMA": schema, "BOT_MASTER_KEY": MASTER_KEY}
    for command in (["audit", "--format", "csv"], ["summary"], ["directory", "export"]):
        result = subprocess.run([sys.executable, "-m", "bot", *command], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode != 0 and f"has no schema {schema}" in result.stderr, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr

    async def schemas() -> list[str]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            rows = await (await conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                             (f"{schema}%",))).fetchall()
            return [r[0] for r in rows]

    assert asyncio.run(schemas()) == []
