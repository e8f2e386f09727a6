"""KeyedLocks: one lock per key while it is in use, so concurrent work on one key is serialised and the table of
locks never grows with the number of keys ever seen."""

from __future__ import annotations

import asyncio
import gc

from storage.common import KeyedLocks


async def test_one_key_is_serialised_and_other_keys_are_not():
    locks, order = KeyedLocks(), []

    async def work(key: str, n: int) -> None:
        async with locks(key):
            order.append((key, n, "in"))
            await asyncio.sleep(0.01)
            order.append((key, n, "out"))

    await asyncio.gather(work("a", 1), work("a", 2), work("b", 3))
    a = [step for step in order if step[0] == "a"]
    assert a in ([("a", 1, "in"), ("a", 1, "out"), ("a", 2, "in"), ("a", 2, "out")],
                 [("a", 2, "in"), ("a", 2, "out"), ("a", 1, "in"), ("a", 1, "out")])
    assert order.index(("b", 3, "in")) < order.index(("a", 1, "out"))  # b did not wait for a


async def test_locks_nobody_holds_are_not_kept():
    locks = KeyedLocks()
    for n in range(1000):
        async with locks(("cases", f"ESC-2026-{n:04d}")):
            pass
    gc.collect()
    assert len(locks._locks) == 0
