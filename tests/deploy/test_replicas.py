"""Two replicas of the bot, as deployed, on one PostgreSQL database and behind no load balancer at all: each request
goes to whichever the test picks. The same signed request sent to both has one effect; forms sent across both at
once become that many cases with distinct references; both running their scheduler over the same due nudges send each
once."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import date

import aiohttp
import pytest
from deployment import (
    CASES_CHANNEL,
    JORDAN,
    TUESDAY_10,
    Bot,
    Fakes,
    answers,
    open_cases_weeks_ago,
    signed,
    slash_command,
    view_submission,
)
from postgres_support import database_url, drop_schemas, new_schema

REF = re.compile(r"ESC-\d{4}-\d{4,}")


@pytest.fixture
def pair(tmp_path):
    database = (database_url(), new_schema())
    fakes = Fakes()
    bots = []
    for name in ("a", "b"):
        (tmp_path / f"logs-{name}").mkdir()
        bots.append(Bot(tmp_path / f"data-{name}", fakes, tmp_path / f"logs-{name}", policy="surrey",
                        database=database))
    yield bots
    for bot in bots:
        if bot.proc is not None and bot.proc.poll() is None:
            bot.stop()
    fakes.close()

    asyncio.run(drop_schemas(*database))


async def both(session: aiohttp.ClientSession, bots: list[Bot], body: str) -> list[int]:
    """The same bytes with the same signature, to every replica at once (a retry that went elsewhere)."""
    headers = signed(body)

    async def one(bot: Bot) -> int:
        async with session.post(bot.url + "/slack/events", data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status

    return list(await asyncio.gather(*(one(bot) for bot in bots)))


async def test_the_same_signed_request_sent_to_both_replicas_has_one_effect(pair):
    a, b = pair
    a.start()
    b.start()
    async with aiohttp.ClientSession() as session:
        intake = await a.intake_view(session)
        form = view_submission(JORDAN, intake, answers(date.today()), "VBOTH")
        assert await both(session, pair, form) == [200, 200]
        await a.until_settled()
        ((ref, _),) = await a.read("cases")  # one case from one form
        contact = slash_command(JORDAN, f"contact {ref} Sam Lee, DI, 01632 960000", trigger="T-BOTH-1")
        assert await both(session, pair, contact) == [200, 200]
        await a.until_settled()
    (_, case), = await b.read("cases")
    assert [e["action"] for e in case["events"]].count("contact_recorded") == 1
    posts = await a.fakes.posts()
    roots = [p for p in posts if p["channel"] == CASES_CHANNEL and not p["thread_ts"] and ref in (p["text"] or "")]
    told = [p for p in posts if p["channel"] == JORDAN and ref in (p["text"] or "")]
    assert len(roots) == 1 and len(told) == 1
    assert a.tracebacks() == [] and b.tracebacks() == []


async def test_two_hundred_forms_across_both_replicas_become_two_hundred_cases(pair):
    a, b = pair
    a.start()
    b.start()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        intake = await a.intake_view(session)
        results = await asyncio.gather(*(
            (a if i % 2 else b).post(session, view_submission(JORDAN, intake, answers(date.today()), f"VREP{i:03d}"))
            for i in range(200)))
        assert [status for status, _ in results] == [200] * 200
        await a.until_settled()
    cases = await b.read("cases")
    refs = [ref for ref, _ in cases]
    assert len(refs) == 200 and len(set(refs)) == 200
    posts = await a.fakes.posts()
    told = Counter(m.group() for p in posts if p["channel"] == JORDAN for m in [REF.search(p["text"] or "")] if m)
    roots = Counter(m.group() for p in posts if p["channel"] == CASES_CHANNEL and not p["thread_ts"]
                    for m in [REF.search(p["text"] or "")] if m)
    assert set(told) == set(refs) == set(roots) and max(told.values()) == 1 and max(roots.values()) == 1
    assert a.tracebacks() == [] and b.tracebacks() == []


async def test_both_replicas_ticking_over_the_same_due_nudges_send_each_once(pair):
    a, b = pair
    await open_cases_weeks_ago(a.store(), 30)
    for bot in pair:
        bot.clock = TUESDAY_10.isoformat()
        bot.start()  # both start their scheduler at once, over the same 30 overdue cases
    await asyncio.sleep(6)  # (a pass each at start, and one each 5 s on)
    await a.until_settled()
    a.stop()
    b.stop()
    posts = await a.fakes.posts()
    nudges = Counter(p["key"] for p in posts if (p["key"] or "").startswith("nudge:"))
    roots = Counter(m.group() for p in posts if p["channel"] == CASES_CHANNEL and not p["thread_ts"]
                    for m in [REF.search(p["text"] or "")] if m)
    cases = {ref for ref, _ in await a.read("cases")}
    assert {REF.search(key).group() for key in nudges} == cases == set(roots)
    assert max(nudges.values()) == 1 and max(roots.values()) == 1
    assert a.tracebacks() == [] and b.tracebacks() == []


async def test_a_replica_killed_mid_pass_leaves_its_nudges_to_the_other(pair):
    """kill -9 of the replica sending the nudges, mid-pass: the other takes its claims over at its next pass (the
    database tells it the first has gone; no lease to wait out), and every nudge is posted once."""
    a, b = pair
    await open_cases_weeks_ago(a.store(), 40)
    a.clock = b.clock = TUESDAY_10.isoformat()
    a.start()  # its first pass posts the roots, then the overdue nudges
    for _ in range(2000):
        if sum((p["key"] or "").startswith("nudge:") for p in await a.fakes.posts()):
            break
        await asyncio.sleep(0.005)
    a.kill()  # mid-pass: claims left on what it was sending
    nudged_then = sum((p["key"] or "").startswith("nudge:") for p in await a.fakes.posts())
    b.start()
    await asyncio.sleep(7)  # (b's first pass, and one 5 s on)
    await b.until_settled(60)
    b.stop()
    posts = await a.fakes.posts()
    nudges = Counter(p["key"] for p in posts if (p["key"] or "").startswith("nudge:"))
    cases = {ref for ref, _ in await b.read("cases")}
    assert 0 < nudged_then < 40  # (killed mid-pass)
    assert {REF.search(key).group() for key in nudges} == cases  # every case nudged...
    assert max(nudges.values()) == 1, [k for k, n in nudges.items() if n > 1]  # ...once
    assert b.tracebacks() == []
