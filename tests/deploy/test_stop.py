"""A stop is graceful: the bot as deployed, sent SIGTERM (a deploy, a restart), finishes what it acknowledged and the
scheduler pass it is in, then closes its store: nothing lost, nothing twice, no traceback."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import date

import aiohttp
from deployment import (  # noqa: F401  (deployed: a fixture)
    CASES_CHANNEL,
    JORDAN,
    TUESDAY_10,
    answers,
    deployed,
    open_cases_weeks_ago,
    view_submission,
)

from storage.tinydb_store import TinyDBStore

REF = re.compile(r"ESC-\d{4}-\d{4,}")




async def test_sigterm_right_after_48_acknowledged_forms_loses_none(deployed):
    bot = deployed
    bot.start()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        intake = await bot.intake_view(session)
        results = await asyncio.gather(*(bot.post(session, view_submission(JORDAN, intake, answers(date.today()),
                                                                            f"VTERM{i:03d}")) for i in range(48)))
        assert results == [(200, "")] * 48  # all 48 acknowledged: Slack closed each form
        await asyncio.sleep(0.3)
        assert bot.stop() == 0  # (within its 20 s bounds: each form handled, each message delivered)
    cases = {ref for ref, _ in await bot.read("cases")}
    assert len(cases) == 48 and await bot.keys("inbox") == [] and await bot.keys("outbox_due") == []
    posts = await bot.fakes.posts()
    told = Counter(m.group() for p in posts if p["channel"] == JORDAN for m in [REF.search(p["text"] or "")] if m)
    roots = Counter(m.group() for p in posts if p["channel"] == CASES_CHANNEL and not p["thread_ts"]
                    for m in [REF.search(p["text"] or "")] if m)
    assert set(told) == cases == set(roots) and max(told.values()) == 1 and max(roots.values()) == 1
    log = bot.log(1)
    assert "Traceback" not in log and "is not open" not in log and " ERROR " not in log
    assert "stopping: taking no new requests" in log and "stopped after" in log  # an operator sees the stop

    bot.start()  # a normal restart: nothing is done again
    await bot.until_settled()
    bot.stop()
    assert await bot.fakes.posts() == posts and bot.tracebacks() == []


async def test_sigterm_right_after_a_nudge_was_posted_sends_no_nudge_twice(deployed):
    bot = deployed
    bot.clock = TUESDAY_10.isoformat()
    await open_cases_weeks_ago(TinyDBStore(bot.data), 40)
    bot.start()  # its first pass posts the cases' roots, then their overdue nudges
    nudged_then = 0
    for _ in range(1000):
        nudged_then = sum((p["key"] or "").startswith("nudge:") for p in await bot.fakes.posts())
        if nudged_then:
            break
        await asyncio.sleep(0.005)
    assert bot.stop() == 0  # right after the first nudge: the pass it is in finishes
    nudged = sum((p["key"] or "").startswith("nudge:") for p in await bot.fakes.posts())
    assert 0 < nudged_then < 40 and nudged == 40  # (stopped mid-pass; the pass finished first)
    assert "failed" not in bot.log(1)  # (Slack's connections stayed open until it had)
    bot.start()
    await asyncio.sleep(6)  # (a pass at start, and one 5 s on)
    await bot.until_settled()
    bot.stop()
    posts = await bot.fakes.posts()
    nudges = Counter(p["key"] for p in posts if (p["key"] or "").startswith("nudge:"))
    cases = {ref for ref, _ in await bot.read("cases")}
    assert {REF.search(key).group() for key in nudges} == cases  # (every case nudged)
    assert max(nudges.values()) == 1, [k for k, n in nudges.items() if n > 1]
    assert bot.tracebacks() == []
