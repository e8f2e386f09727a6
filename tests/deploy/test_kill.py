"""Accepted means stored, even under kill -9: the bot as deployed (its own process, TinyDB) is sent hundreds of
Stage 1 forms at once and killed at a random moment while they arrive, ten times over. Every form Slack was told
was received (answered 200, no problems) becomes exactly one case, its root message is posted once in the cases
channel, and its raiser is told the reference once, by direct message, after the restart if not before."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections import Counter
from datetime import date

import aiohttp
from deployment import (  # noqa: F401  (deployed: a fixture)
    CASES_CHANNEL,
    JORDAN,
    TEAMS_CHAT,
    answers,
    deployed,
    submit_data,
    teams_activity,
    view_submission,
)

CYCLES = 10
FORMS = 320  # at once, per cycle
REF = re.compile(r"ESC-\d{4}-\d{4,}")




async def test_kill_9_during_hundreds_of_submissions_loses_nothing_and_doubles_nothing(deployed):
    bot = deployed
    acknowledged: set[str] = set()
    per_cycle: list[int] = []
    sent = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        bot.start()
        intake = await bot.intake_view(session)
        for cycle in range(CYCLES):
            form = answers(date.today())
            bodies = {f"V{cycle:02d}{i:04d}": view_submission(JORDAN, intake, form, f"V{cycle:02d}{i:04d}")
                      for i in range(FORMS)}
            sent += len(bodies)

            async def submit(view_id: str, body: str) -> None:
                try:
                    status, text = await bot.post(session, body)
                except (TimeoutError, aiohttp.ClientError):
                    return  # (the process died first: Slack would show the person an error)
                if status == 200 and not text.strip():
                    acknowledged.add(view_id)

            before = len(acknowledged)
            forms = [asyncio.create_task(submit(v, b)) for v, b in bodies.items()]
            kill_after = random.Random(cycle).randint(1, FORMS // 3)  # acknowledged in this cycle: a random moment
            while len(acknowledged) - before < kill_after and not all(f.done() for f in forms):
                await asyncio.sleep(0.002)
            bot.kill()
            await asyncio.gather(*forms)
            per_cycle.append(len(acknowledged) - before)
            bot.start()  # (the next start finishes what the killed one left)
            await bot.until_settled()
        bot.stop()

    openings = dict(await bot.read("openings"))
    cases = {ref: doc for ref, doc in await bot.read("cases")}
    lost = [v for v in acknowledged if f"form:slack-view:{v}" not in openings
            or openings[f"form:slack-view:{v}"]["ref"] not in cases]
    posts = await bot.fakes.posts()
    roots = Counter(m.group() for p in posts if p["channel"] == CASES_CHANNEL and not p["thread_ts"]
                    for m in [REF.search(p["text"] or "")] if m)
    told = Counter(m.group() for p in posts if p["channel"] == JORDAN for m in [REF.search(p["text"] or "")] if m)
    print(f"\n{CYCLES} kill -9 cycles: {sent} forms sent, {len(acknowledged)} acknowledged, {len(cases)} cases, "
          f"{len(lost)} lost, {sum(roots.values()) - len(roots)} roots and {sum(told.values()) - len(told)} "
          f"confirmations posted twice; acknowledged before each kill: {per_cycle}")
    assert len(acknowledged) >= 300 and lost == []
    assert sum(0 < n < FORMS for n in per_cycle) >= CYCLES // 2  # (the kills came while forms were being answered)
    assert len(cases) == len(openings)  # one case per form accepted (and no case without its form)
    assert set(roots) == set(cases) and max(roots.values()) == 1
    assert set(told) == set(cases) and max(told.values()) == 1


TEAMS_CYCLES = 2


async def test_kill_9_during_hundreds_of_teams_submissions_loses_nothing_and_doubles_no_case(deployed):
    """The same through Teams, where a card's submit is answered once it is handled. The Bot Connector cannot be
    searched, so a message whose delivery a kill cut short (posted, not yet marked) is posted again after the
    restart: delivery to Teams is at least once. Cases are never doubled and never lost."""
    bot = deployed
    acknowledged: set[str] = set()
    sent = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        bot.start()
        intake, intake_id = await bot.intake_card(session)
        for cycle in range(TEAMS_CYCLES):
            cards = {uuid.UUID(int=cycle * 10_000 + i).hex: i for i in range(FORMS)}
            sent += len(cards)

            async def submit(card: str) -> None:
                value = {**submit_data(intake), **answers(date.today()), "_card": card}
                activity = teams_activity(bot.fakes.connector, value=value, reply_to=intake_id,
                                          activity_id=f"k{card}")
                try:
                    status = await bot.teams(session, activity)
                except (TimeoutError, aiohttp.ClientError):
                    return
                if status == 200:
                    acknowledged.add(card)

            before = len(acknowledged)
            forms = [asyncio.create_task(submit(card)) for card in cards]
            kill_after = random.Random(100 + cycle).randint(FORMS // 5, FORMS // 3)
            while len(acknowledged) - before < kill_after and not all(f.done() for f in forms):
                await asyncio.sleep(0.002)
            bot.kill()
            await asyncio.gather(*forms)
            bot.start()
            await bot.until_settled()
        bot.stop()

    openings = dict(await bot.read("openings"))
    cases = {ref for ref, _ in await bot.read("cases")}
    lost = [c for c in acknowledged if openings.get(f"form:teams-card:{c}", {}).get("ref") not in cases]
    delivered = await bot.fakes.activities()
    told = Counter(m.group() for a in delivered if a["conversation"] == TEAMS_CHAT and "is open" in (a["text"] or "")
                   for m in [REF.search(a["text"] or "")] if m)
    roots = Counter(m.group() for a in delivered if a["method"] == "create" for m in [REF.search(a["text"] or "")]
                    if m)
    twice = sum(told.values()) - len(told) + sum(roots.values()) - len(roots)
    print(f"\n{TEAMS_CYCLES} kill -9 cycles (Teams): {sent} cards sent, {len(acknowledged)} acknowledged, "
          f"{len(cases)} cases, {len(lost)} lost, {twice} message(s) delivered twice")
    assert len(acknowledged) >= 100 and lost == [] and len(cases) == len(openings)
    assert set(told) == cases and set(roots) == cases
