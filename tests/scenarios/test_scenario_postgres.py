"""The conversation core on PostgreSQL: a case opened through one replica's core is seen, and acted on, through
another's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from postgres_support import two_replicas
from scenario_kit import LENA, World

from storage.postgres_store import PostgresStore


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    async with two_replicas() as pair:
        yield pair


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


async def test_a_directory_imported_beside_running_replicas_is_used_by_each_at_its_next_pass(replicas, all_policies,
                                                                                            clock) -> None:
    from dataclasses import replace

    from bot.app import build_core
    from bot.people.directory import save_directory
    from bot.people.directory_csv import demo_directory

    first, second = replicas
    surrey = {"surrey": all_policies["surrey"]}
    running = [build_core(store, surrey, clock) for store in (first, second)]
    for core in running:
        await core.load_directory()
    demo, lena = demo_directory(["surrey"]), "lena.okafor@northshire-council.example.org"
    renamed = type(demo)([replace(p, name="Lena Okafor-Smith") if p.email == lena else p for p in demo.people])
    await save_directory(first, renamed)  # (an operator's `directory import`, on the same database)
    for core in running:
        assert core.people.directory.find(lena).name != "Lena Okafor-Smith"
        await core.tick()
        assert core.people.directory.find(lena).name == "Lena Okafor-Smith"
        assert await core.refresh_directory() is False  # (only once per import)


async def test_a_pass_skips_a_case_another_replica_is_writing_and_sends_its_nudge_at_the_next_pass(
        replicas, all_policies, clock) -> None:
    """Due nudges are claimed `FOR UPDATE SKIP LOCKED`: a pass never waits on a case another replica is writing (it
    goes on to the other cases); the nudge stays due and the next pass sends it, once."""
    from scenario_kit import at

    first, second = replicas
    surrey = {"surrey": all_policies["surrey"]}
    writer, other = World(first, surrey, clock), World(second, surrey, clock)
    ref = (await writer.open_case()).case_ref
    later = at(2026, 12, 21, 10)  # (well past Stage 1's timescale: its nudges are due)
    async with first._locked("cases", ref):  # (the first replica is writing the case at that moment)
        assert await asyncio.wait_for(other.tick(later), 5) == []
    assert other.sender.nudges() == []
    sent = await other.tick(later)
    assert [s.ref for s in sent] == [ref] and len(other.sender.nudges()) == 1
    assert await writer.tick(later) == [] and writer.sender.nudges() == []
