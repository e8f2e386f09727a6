"""The PostgreSQL store beyond the shared contract: replicas on one database, migrations run once, and a database
that cannot be reached stops start-up at once with one line (never the password)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from postgres_support import database_url, new_schema, two_replicas

from storage.base import StoreError
from storage.postgres_store import MIGRATIONS, PostgresStore, redacted

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    async with two_replicas() as pair:
        yield pair


async def test_migrations_run_once_when_replicas_start_together() -> None:
    url, schema = database_url(), new_schema()
    stores = [PostgresStore(url, schema=schema, pool_size=2) for _ in range(8)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        async with stores[0]._connection() as conn:
            cursor = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
            assert [row[0] for row in await cursor.fetchall()] == [v for v, _ in MIGRATIONS]
    finally:
        await stores[0].drop()
        await asyncio.gather(*(s.close() for s in stores))


async def test_counters_are_unique_across_replicas(replicas) -> None:
    first, second = replicas
    numbers = await asyncio.gather(*(s.next_sequence("cases-2026") for _ in range(50) for s in (first, second)))
    assert sorted(numbers) == list(range(1, 101))


async def test_updates_from_two_replicas_never_lose_each_other(replicas) -> None:
    first, second = replicas
    await first.put("cases", "counter", {"n": 0})
    await asyncio.gather(*(s.update("cases", "counter", lambda d: {"n": d["n"] + 1})
                           for _ in range(25) for s in (first, second)))
    assert await second.get("cases", "counter") == {"n": 50}


async def test_one_form_creates_once_across_replicas(replicas) -> None:
    first, second = replicas
    made = await asyncio.gather(*(s.create("inbox", "slack-view:V1", {"by": i}) for i, s in
                                  enumerate([first, second] * 10)))
    assert made.count(True) == 1


async def test_a_database_that_cannot_be_reached_is_named_without_its_password() -> None:
    url = "postgresql://bot:s3cret-pw@127.0.0.1:1/escalation"
    began = time.monotonic()
    with pytest.raises(StoreError) as raised:
        await PostgresStore(url).open()
    assert time.monotonic() - began < 10
    assert "127.0.0.1:1" in str(raised.value) and "s3cret-pw" not in str(raised.value)
    assert redacted(url) == "postgresql://bot:***@127.0.0.1:1/escalation"


@pytest.mark.parametrize("url, secret", [
    ("postgresql://postgres@127.0.0.1:1/test?password=S3cretPW", "S3cretPW"),  # (a URL parameter)
    ("postgresql://postgres:S3cret@PW@127.0.0.1:1/test", "S3cret"),  # (an unencoded @: the driver quotes the rest)
    ("postgresql://postgres:S3cret@PW@no-such-host.invalid:5432/test", "PW@"),
    ("postgresql://u:x@h@127.0.0.1:1/db?sslmode=disable&password=Zz9-Qq8", "Zz9-Qq8"),
])
async def test_no_form_of_a_password_is_ever_shown(url: str, secret: str) -> None:
    with pytest.raises(StoreError) as raised:
        await PostgresStore(url).open()
    shown = f"{raised.value} {redacted(url)}"
    assert secret not in shown and "***" in redacted(url), shown


def test_serve_with_an_unreachable_database_stops_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "BOT_DATABASE_URL": "postgresql://bot:s3cret-pw@127.0.0.1:1/escalation"}
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bot", "serve", "--port", "39817"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert time.monotonic() - began < 20
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach the database" in lines[0] and "127.0.0.1:1" in lines[0], result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_a_database_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "BOT_DATABASE_URL": "mysql://root@127.0.0.1/test"}
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "BOT_DATABASE_URL" in result.stderr and len(result.stderr.splitlines()) == 1


async def test_a_replica_that_has_gone_is_known_to_the_others_at_once(replicas) -> None:
    first, second = replicas
    url, schema = database_url(), first.schema
    third = PostgresStore(url, schema=schema)
    await third.open()
    assert await first.gone() == set() and await second.gone() == set()
    await third._presence.close()  # (as a kill -9 leaves it: the connection ends, the row stays)
    await third.close()
    assert await first.gone() == {third.instance}
    assert await second.gone() == {third.instance}  # (every replica learns it, not only the first to look)


async def test_a_claim_skips_a_key_another_replica_is_writing_and_never_waits_for_it(replicas) -> None:
    """Claiming due work (`update_if_free`) takes nothing another replica holds: not a key it is writing (its write
    lock), not a row locked `FOR UPDATE`; once they are released, the same claim goes through."""
    first, second = replicas
    await first.put("cases", "ESC-1", {"n": 0})
    seen: list[object] = []

    def bump(doc):
        seen.append(doc)
        return {"n": doc["n"] + 1}

    async with first._locked("cases", "ESC-1"):  # (first is in the middle of writing the case)
        assert await asyncio.wait_for(second.update_if_free("cases", "ESC-1", bump), 2) is None
    async with first._connection() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM docs WHERE collection = 'cases' AND key = 'ESC-1' FOR UPDATE")
        assert await asyncio.wait_for(second.update_if_free("cases", "ESC-1", bump), 2) is None
    assert seen == [] and await first.get("cases", "ESC-1") == {"n": 0}
    assert await second.update_if_free("cases", "ESC-1", bump) == {"n": 1}
    assert await first.get("cases", "ESC-1") == {"n": 1}


async def test_appends_from_two_replicas_make_one_unbroken_chain(replicas) -> None:
    first, second = replicas

    def build(place: int, before):
        return {"n": place, "after": None if before is None else before["n"]}, {"seq": place}

    places = await asyncio.gather(*(s.append("audit_log", ("meta", "head"), lambda p: f"e{p:05d}", build)
                                    for _ in range(20) for s in (first, second)))
    assert sorted(places) == list(range(1, 41))
    chain = [doc for _, doc in sorted(await first.scan("audit_log"))]
    assert [(d["n"], d["after"]) for d in chain] == [(n, n - 1 if n > 1 else None) for n in range(1, 41)]
