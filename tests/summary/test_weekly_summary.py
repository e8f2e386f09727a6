"""The weekly summary: figures against hand-counted cases over Christmas 2026, who may ask, posting weekly."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))

from scenario_kit import CHRIS, JORDAN, LENA, SAM, World, at

from bot.summary import figures as summary
from bot.types import ThreadRef
from storage.tinydb_store import TinyDBStore

W52 = summary.parse_week("2026-W52")  # Mon 21 Dec to Sun 27 Dec 2026: Christmas Day Fri 25 Dec


async def christmas_week(world: World) -> dict[str, str]:
    """Four things happen, hand-counted in England's working days (25 and 28 Dec are bank holidays)."""
    refs = {}
    world.set_time(at(2026, 12, 16))  # D: opened the week before, arose Wed 16 Dec
    refs["D"] = (await world.open_case(arose_on="2026-12-16", category="1")).case_ref
    world.set_time(at(2026, 12, 21))  # D escalated Mon 21 Dec (stage 1 took 17, 18, 21 Dec: 3 working days)
    assert (await world.escalate(LENA, refs["D"])).kind == "escalate"
    refs["A"] = (await world.open_case(arose_on="2026-12-21", category="1")).case_ref  # A: opened Mon 21 Dec
    world.set_time(at(2026, 12, 22))
    assert (await world.escalate(LENA, refs["A"])).kind == "escalate"  # A to stage 2 (1 working day), due Thu 24
    refs["B"] = (await world.open_case(arose_on="2026-12-22", category="1")).case_ref  # B: opened Tue 22 Dec
    world.set_time(at(2026, 12, 23))
    assert (await world.resolve(LENA, refs["D"])).kind == "resolve"  # D resolved at stage 2 (22, 23 Dec: 2 days)
    refs["C"] = (await world.person(JORDAN).escalate(immediate_risk="yes")).case_ref  # C: immediate harm
    world.set_time(at(2026, 12, 24))
    assert (await world.resolve(LENA, refs["B"])).kind == "resolve"  # B resolved at stage 1 (23, 24 Dec: 2 days)
    return refs


async def test_figures_for_christmas_week_match_a_hand_count(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    refs = await christmas_week(world)
    cases = [doc for _, doc in await store.scan("cases")]
    figs = summary.figures(cases, world.policies, W52)
    assert figs["week"] == "2026-W52" and figs["from"] == "2026-12-21" and figs["to"] == "2026-12-27"
    assert figs["new_escalations"] == 2  # A and B (D was opened the week before; C is an immediate-harm route)
    assert figs["open_at_end"] == 1 and figs["open_by_stage"] == {"2": 1}  # A
    assert figs["resolved"] == 2 and figs["resolved_by_stage"] == {"1": 1, "2": 1}  # B at 1, D at 2
    assert figs["overdue"] == 1 and figs["overdue_refs"] == [refs["A"]]  # A's stage 2 was due Thu 24 Dec
    assert figs["extensions"] == 0 and figs["immediate_harm"] == 1
    # Stage 1 ended this week for A (1 working day), B (2) and D (3): median 2. Stage 2 ended for D (2).
    assert figs["median_working_days_by_stage"] == {"1": 2.0, "2": 2.0}
    assert figs["by_category"] == {"Thresholds / access to support": 2}
    assert figs["by_agency_pair"] == {"Northshire Children's Services -> Northshire Police": 2}
    assert figs["open_duties"] == 0
    history = {w["week"]: (w["new"], w["resolved"]) for w in figs["history"]}
    assert len(history) == 8 and history["2026-W51"] == (1, 0) and history["2026-W52"] == (2, 2)
    # The week before: D opened; at its end D was open at stage 1 and overdue (due Fri 18 Dec).
    w51 = summary.figures(cases, world.policies, summary.parse_week("2026-W51"))
    assert (w51["new_escalations"], w51["open_by_stage"], w51["overdue_refs"]) == (1, {"1": 1}, [refs["D"]])
    # An empty week is a valid summary.
    empty = summary.figures(cases, world.policies, summary.parse_week("2027-W10"))
    assert empty["new_escalations"] == 0 and empty["open_at_end"] == 1


async def test_only_safeguarding_leads_get_the_summary_and_it_names_no_child(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    await christmas_week(world)
    world.set_time(at(2026, 12, 29))
    (refused,) = await world.person(JORDAN).say("summary")
    assert refused.kind == "refused" and "safeguarding leads" in refused.text
    (refused,) = await world.person(CHRIS).say("summary 2026-W52")
    assert refused.kind == "refused"
    (reply,) = await world.person(SAM).say("summary")  # last full week: W52
    assert reply.kind == "summary" and "2026-W52" in reply.text and "New escalations: 2" in reply.text
    assert reply.attachment is not None and reply.attachment.data.startswith(b"\x89PNG")
    assert "Tallulah" not in reply.text and "2015-02-03" not in reply.text
    (bad,) = await world.person(SAM).say("summary next-week")
    assert "YYYY-Www" in bad.text


async def post_week(world: World, when) -> str | None:
    """The weekly poster's turn at `when`, then the outbox's: the week queued (None if none was), delivered if it can
    be."""
    world.set_time(when)
    week = await world.core.weekly.tick(when)
    await world.core.threads.deliver_due()
    return week


async def test_scheduled_summary_is_posted_once_a_week_across_a_restart(tmp_path, all_policies, clock):
    policies = {"surrey": all_policies["surrey"]}
    leads = ThreadRef("console", "leads-channel")

    def arm(world: World) -> None:
        world.core.weekly.target = leads

    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        arm(world)
        await christmas_week(world)
        assert await post_week(world, at(2026, 12, 28, 8, 59)) is None  # before Monday 09:00
        assert await post_week(world, at(2026, 12, 28, 9, 0)) == "2026-W53"
        assert await post_week(world, at(2026, 12, 28, 9, 1)) is None
        posted = [r for t, r in world.sender.sent if t == leads]
        assert len(posted) == 1 and "2026-W52" in posted[0].text
    async with TinyDBStore(tmp_path) as store:  # restarted later that week
        world = World(store, policies, clock)
        arm(world)
        assert await post_week(world, at(2026, 12, 30, 12, 0)) is None
        world.sender.fail_next()
        assert await post_week(world, at(2027, 1, 4, 9, 0)) == "2027-W01"  # made once; its delivery failed
        assert [r for t, r in world.sender.sent if t == leads] == []
        assert await post_week(world, at(2027, 1, 4, 10, 0)) is None  # not made again, but delivered now
        posted = [r for t, r in world.sender.sent if t == leads]
        assert len(posted) == 1 and "2026-W53" in posted[0].text


async def test_a_summary_posted_late_in_the_week_is_still_last_weeks_and_the_next_is_not_skipped(
        store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    leads = ThreadRef("console", "leads-channel")
    world.core.weekly.target = leads
    assert await post_week(world, at(2026, 11, 16, 9, 5)) == "2026-W47"  # Monday's slot: W46's summary
    # the bot is down from Monday 23 to Friday 27 November, and back on Saturday 28 November
    assert await post_week(world, at(2026, 11, 28, 10)) == "2026-W48"
    assert await post_week(world, at(2026, 11, 30, 9, 5)) == "2026-W49"
    weeks = [r.text for t, r in world.sender.sent if t == leads]
    assert ["2026-W46" in weeks[0], "2026-W47" in weeks[1], "2026-W48" in weeks[2]] == [True, True, True]
    assert "2026-W48" not in weeks[1]  # Saturday's late post is not the week still ending


async def test_a_lead_for_some_partnerships_sees_all_of_theirs_and_no_others(store, all_policies, clock):
    from conftest import core_for

    from bot.people.directory import Directory, Person
    from bot.types import UserRef

    lead = Person("lead@northshire-police.example.org", "Lee Lead", "Northshire Police", "DI", "senior_manager",
                  contact_for=("safeguarding_lead",), partnerships=("bcssp", "medway"))
    policies = {pid: all_policies[pid] for pid in ("surrey", "bcssp", "medway")}
    for minute, pid in enumerate(("surrey", "bcssp", "medway", "medway")):  # cases opened in week 48
        clock.set(at(2026, 11, 24, 10, minute))
        await World(store, {pid: all_policies[pid]}, clock).open_case()
    clock.set(at(2026, 11, 30, 10))
    engine = core_for(store, policies, clock, directory=Directory([lead]))
    reply = await engine.engine.summary(UserRef("console", lead.email, email=lead.email), "2026-W48")
    head = reply.text.splitlines()[0]
    assert all_policies["bcssp"].name in head and all_policies["medway"].name in head
    assert all_policies["surrey"].name not in head
    assert "New escalations: 3" in reply.text  # BCSSP's one and Medway's two; not Surrey's


async def test_the_summary_names_only_directory_agencies_never_typed_text(store, all_policies, clock):
    from scenario_kit import OPENING, STRANGER

    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    clock.set(at(2026, 11, 24, 10))
    typed = "Oak School (pupil Tallulah Quenby-Marsh)"
    reply = await world.person(STRANGER).escalate(**{**OPENING, "raiser_agency": typed, "raiser_role": "Teacher",
                                                     "raiser_manager": "Head", "other_agency": "Northshire Police"})
    assert reply.kind == "case_opened"
    clock.set(at(2026, 11, 30, 10))
    (text,) = [r.text for r in await world.person(SAM).say("summary 2026-W48")]
    assert "Tallulah" not in text and "Oak School" not in text
    assert "an agency not in the directory -> Northshire Police: 1" in text
