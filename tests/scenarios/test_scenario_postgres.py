"""The conversation core on PostgreSQL: a case opened through one replica's core is seen, and acted on, through
another's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from postgres_support import database_url, new_schema
from scenario_kit import LENA, World

from storage.postgres_store import PostgresStore


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    url, schema = database_url(), new_schema()
    first, second = PostgresStore(url, schema=schema), PostgresStore(url, schema=schema)
    await asyncio.gather(first.open(), second.open())
    yield first, second
    await first.drop()
    await asyncio.gather(first.close(), second.close())


async def test_a_case_opened_on_one_replica_is_resolved_on_the_other(replicas, all_policies, clock) -> None:
    first, second = replicas
    surrey = {"surrey": all_policies["surrey"]}
    ref = (await World(first, surrey, clock).open_case()).case_ref
    other = World(second, surrey, clock)
    (status,) = await other.person(LENA).say(f"status {ref}")
    assert ref in status.text and "Stage 1" in status.text
    stored = await second.get("cases", ref)
    assert stored is not None and stored["status"] == "open"
    refs = await asyncio.gather(*(replica.next_sequence("case-2026") for replica in (first, second) * 5))
    assert len(set(refs)) == 10 and min(refs) == 2  # (the year's counter is one for both replicas: 1 was taken)
