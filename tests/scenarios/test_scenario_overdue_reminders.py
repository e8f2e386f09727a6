"""A stage left overdue is chased for as long as it stays so (every `[reminders].overdue_every` working days, never on
a weekend or bank holiday), and the safeguarding leads of the case's agencies are told once, in the case's thread,
when it is `[reminders].lead_after` working days overdue; restarts, retries and overlapping passes send nothing twice
(issue 12, item 5)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, timedelta

from conftest import CHILD_DOB, CHILD_NAME
from scenario_kit import CASE_THREAD, CHRIS, JORDAN, LENA, SAM, World, at, events, nudge_status

from bot.cases.book import CHASES_RESUMED
from bot.jobs import nudges
from policies.model import Notification, Reminders
from storage.collections import META
from storage.tinydb_store import TinyDBStore

MARIA = "maria.lopez@northshire-council.example.org"  # Northshire Children's Services' safeguarding lead
RACHEL = "rachel.evans@northshire-health.example.com"  # Health's safeguarding lead: no part in these cases
TARIQ = "tariq.hussain@northshire-primary.example.net"  # the school's: no part either


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def sent_details(case) -> list[str]:
    return [e["detail"] for e in events(case, "nudge_sent")]


async def open_gloucestershire_case(world: World) -> str:
    """Tuesday 1 December 2026: GSCP Stage 1 (5 working days from the disagreement) is due Tuesday 8 December, so it
    is overdue from Wednesday 9 December."""
    world.set_time(at(2026, 12, 1))
    reply = await world.open_case()
    case = await world.case(reply.case_ref)
    assert case["stage_due"] == "2026-12-08"
    return reply.case_ref


async def test_an_overdue_stage_is_chased_across_christmas_and_new_year_and_the_leads_told_once(
    store, all_policies, clock
):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = await open_gloucestershire_case(world)
    sent_on: dict[date, list[str]] = {}
    for day in days(date(2026, 12, 2), date(2027, 1, 12)):
        assert await world.tick(at(day.year, day.month, day.day, 8, 59)) == [], f"before the send time on {day}"
        first = await world.tick(at(day.year, day.month, day.day, 9, 0))
        assert await world.tick(at(day.year, day.month, day.day, 9, 0)) == [], f"second tick on {day}"
        assert await world.tick(at(day.year, day.month, day.day, 16, 0)) == [], f"afternoon tick on {day}"
        if first:
            sent_on[day] = [s.kind for s in first]
    # Every 2 working days while overdue; the leads on Tuesday 15 December (5 working days overdue), that day's
    # reminder. Nothing on Christmas Day, Boxing Day observed (28th), New Year's Day or any weekend.
    assert sent_on == {
        date(2026, 12, 7): ["before"], date(2026, 12, 8): ["due"],
        date(2026, 12, 9): ["overdue"], date(2026, 12, 11): ["overdue"], date(2026, 12, 15): ["lead"],
        date(2026, 12, 17): ["overdue"], date(2026, 12, 21): ["overdue"], date(2026, 12, 23): ["overdue"],
        date(2026, 12, 29): ["overdue"], date(2026, 12, 31): ["overdue"], date(2027, 1, 5): ["overdue"],
        date(2027, 1, 7): ["overdue"], date(2027, 1, 11): ["overdue"],
    }

    delivered = world.sender.nudges()
    assert len(delivered) == 13 and {thread for thread, r in world.sender.sent if r.kind == "nudge"} == {CASE_THREAD}
    overdue = delivered[2:]
    lead = next(r for r in overdue if "Safeguarding lead" in r.text)
    others = [r for r in overdue if r is not lead]
    # The leads of the two agencies of the case, and nobody in an agency with no part in it, are @mentioned with
    # whoever must act, in the case's thread, once.
    assert [m.email for m in lead.mentions] == [JORDAN, CHRIS, MARIA, SAM]
    assert f"Safeguarding leads Maria Lopez and Sam Patel: {ref} is 5 working days overdue" in lead.text
    assert "the safeguarding lead hears once a stage is 5 working days overdue" in lead.text
    assert f"{ref} is overdue by 5 working days: Stage 1" in lead.text
    assert lead.actions == ("resolve", "escalate", "extend") and lead.stage == 1
    for reply in others:
        assert [m.email for m in reply.mentions] == [JORDAN, CHRIS]
        assert "Safeguarding lead" not in reply.text and "Maria Lopez" not in reply.text
    # Each says how late it now is: 31 December is 15 working days after 8 December (Christmas skipped).
    assert f"{ref} is overdue by 1 working day: Stage 1" in overdue[0].text
    assert f"{ref} is overdue by 15 working days: Stage 1" in overdue[-4].text
    assert f"{ref} is overdue by 21 working days: Stage 1" in overdue[-1].text
    # Never a child's details, nor free text a person typed.
    for reply in delivered:
        for secret in (CHILD_NAME, CHILD_DOB, "Acacia", "strategy discussion", "domestic abuse"):
            assert secret not in reply.text
    assert not any(p in r.text for r in delivered for p in (RACHEL, TARIQ, "Rachel Evans", "Tariq Hussain"))

    case = await world.case(ref)
    assert [d for d in sent_details(case) if ":lead:" in d] == ["1:lead:2026-12-15"]
    assert nudge_status(case)["1:overdue:2026-12-15"] == "superseded"  # (that day's reminder is the leads' one)
    assert {k: v for k, v in nudge_status(case).items() if v == "pending"} == {"1:overdue:2027-01-13": "pending"}


async def test_a_procedure_sets_its_own_interval_and_threshold(store, all_policies, clock):
    policy = dataclasses.replace(all_policies["gloucestershire"],
                                 reminders=Reminders(overdue_every=3, lead_after=2, cite="GSCP local agreement 7"))
    world = World(store, {"gloucestershire": policy}, clock)
    ref = await open_gloucestershire_case(world)
    sent_on: dict[date, list[str]] = {}
    for day in days(date(2026, 12, 9), date(2026, 12, 24)):
        for nudge in await world.tick(at(day.year, day.month, day.day, 9)):
            sent_on.setdefault(day, []).append(nudge.kind)
    # Overdue on 9 December, then every 3 working days; the leads on 10 December (2 working days overdue).
    assert sent_on == {date(2026, 12, 9): ["overdue"], date(2026, 12, 10): ["lead"], date(2026, 12, 14): ["overdue"],
                       date(2026, 12, 17): ["overdue"], date(2026, 12, 22): ["overdue"]}
    lead = world.sender.nudges()[1]
    assert f"{ref} is 2 working days overdue (GSCP local agreement 7)" in lead.text


async def test_a_restart_an_overlapping_pass_and_a_failed_delivery_send_no_reminder_twice(tmp_path, all_policies,
                                                                                          clock):
    policies = {"gloucestershire": all_policies["gloucestershire"]}
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        ref = await open_gloucestershire_case(world)
        for day in (date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)):
            await world.tick(at(day.year, day.month, day.day, 9))

        async def killed(*args, **kwargs):
            raise RuntimeError("killed before the reminder was queued")

        world.core.threads.send = killed  # dies between claiming Friday's reminder and queuing it
        await world.tick(at(2026, 12, 11, 9))
        assert nudge_status(await world.case(ref))["1:overdue:2026-12-11"] == "sending"
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        results = await asyncio.gather(*(world.tick(at(2026, 12, 11, 9, 5)) for _ in range(3)))
        assert [s.kind for batch in results for s in batch] == ["overdue"]
        assert len(world.sender.nudges()) == 1
        case = await world.case(ref)
        assert sent_details(case).count("1:overdue:2026-12-11") == 1
        assert nudge_status(case)["1:overdue:2026-12-15"] == "pending"  # one next reminder, not one per pass

        # The leads' message fails to post on Tuesday 15 December; Thursday's reminder does not drop it.
        world.sender.fail_next(1)
        (lead,) = await world.tick(at(2026, 12, 15, 9))
        assert lead.kind == "lead" and world.sender.nudges()[1:] == []
        (again,) = await world.tick(at(2026, 12, 17, 9))
        assert again.kind == "overdue"
        texts = [r.text for r in world.sender.nudges()[1:]]
        assert len(texts) == 2 and sum("Safeguarding leads" in t for t in texts) == 1
        assert (await store.get("outbox", f"nudge:{ref}:1:lead:2026-12-15"))["status"] == "sent"
    # Restarted again on the same day: nothing is sent again.
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        assert await world.tick(at(2026, 12, 17, 9, 30)) == []
        assert await world.tick(at(2026, 12, 18, 9)) == []
        assert world.sender.nudges() == []


async def test_after_an_outage_the_leads_are_told_and_the_chase_goes_on_from_the_return(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = await open_gloucestershire_case(world)
    (first,) = await world.tick(at(2026, 12, 9, 9))
    assert first.kind == "overdue"
    # Down from Thursday 10 to Monday 21 December: Friday 11's reminder and Tuesday 15's leads' message fell due.
    sent = await world.tick(at(2026, 12, 21, 9, 30))
    assert [s.kind for s in sent] == ["lead"]  # the most urgent, and the leads are not forgotten
    assert f"{ref} is 9 working days overdue" in world.sender.nudges()[-1].text
    status = nudge_status(await world.case(ref))
    assert status["1:overdue:2026-12-11"] == "superseded" and status["1:lead:2026-12-15"] == "sent"
    assert status["1:overdue:2026-12-23"] == "pending"
    assert await world.tick(at(2026, 12, 22, 9)) == []
    (next_one,) = await world.tick(at(2026, 12, 23, 9))
    assert next_one.kind == "overdue"


async def test_the_chase_stops_when_the_stage_moves_and_each_stage_tells_the_leads_once(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = await open_gloucestershire_case(world)
    for day in days(date(2026, 12, 9), date(2026, 12, 16)):
        await world.tick(at(day.year, day.month, day.day, 9))
    assert [d for d in sent_details(await world.case(ref)) if ":lead:" in d] == ["1:lead:2026-12-15"]

    # Both agencies agree a new date for Stage 1: the chase stops, the new date's ladder starts.
    world.set_time(at(2026, 12, 16, 11))
    (extended,) = await world.click(JORDAN, "extend", ref, 1, {
        "new_due": "2026-12-22", "agreed_here": "Lena Okafor", "agreed_other": "Priya Nair", "reason": "Holidays."})
    assert extended.kind == "extend"
    status = nudge_status(await world.case(ref))
    assert status["1:overdue:2026-12-17"] == "cancelled"
    assert {k for k, v in status.items() if v == "pending"} == {
        "1:before:2026-12-21", "1:due:2026-12-22", "1:overdue:2026-12-23"}  # no second leads' message for Stage 1
    assert await world.tick(at(2026, 12, 17, 9)) == [] and await world.tick(at(2026, 12, 18, 9)) == []

    # Escalated: Stage 2 (5 working days from Wednesday 23 December: Monday 4 January) has its own chase and tells
    # the leads once.
    world.set_time(at(2026, 12, 23, 12))
    await world.escalate(LENA, ref)
    case = await world.case(ref)
    assert case["stage"] == 2 and case["stage_due"] == "2027-01-04"
    assert {k for k, v in nudge_status(case).items() if v == "pending"} == {
        "2:before:2026-12-31", "2:due:2027-01-04", "2:overdue:2027-01-05", "2:lead:2027-01-11"}
    kinds = []
    for day in days(date(2026, 12, 24), date(2027, 1, 15)):
        kinds += [(day, s.kind) for s in await world.tick(at(day.year, day.month, day.day, 9))]
    assert kinds == [(date(2026, 12, 31), "before"), (date(2027, 1, 4), "due"), (date(2027, 1, 5), "overdue"),
                     (date(2027, 1, 7), "overdue"), (date(2027, 1, 11), "lead"), (date(2027, 1, 13), "overdue"),
                     (date(2027, 1, 15), "overdue")]

    # Resolved: nothing more is sent.
    world.set_time(at(2027, 1, 15, 15))
    await world.resolve(LENA, ref)
    for day in days(date(2027, 1, 18), date(2027, 1, 29)):
        assert await world.tick(at(day.year, day.month, day.day, 9)) == []
    assert not {k for k, v in nudge_status(await world.case(ref)).items() if v == "pending"}


async def test_a_later_reminder_missed_in_an_outage_never_replaces_the_leads_message(store, all_policies, clock):
    policy = dataclasses.replace(all_policies["gloucestershire"], reminders=Reminders(overdue_every=3, lead_after=2))
    world = World(store, {"gloucestershire": policy}, clock)
    ref = await open_gloucestershire_case(world)
    (first,) = await world.tick(at(2026, 12, 9, 9))  # the next reminder: Monday 14 December
    assert first.kind == "overdue"
    # Down from Thursday 10 (the leads' day) to Tuesday 15 December: both fell due; the leads' message is sent.
    assert [s.kind for s in await world.tick(at(2026, 12, 15, 9))] == ["lead"]
    status = nudge_status(await world.case(ref))
    assert status["1:lead:2026-12-10"] == "sent" and status["1:overdue:2026-12-14"] == "superseded"
    assert status["1:overdue:2026-12-18"] == "pending"
    assert "as local practice, the safeguarding lead hears once a stage is 2 working days overdue" in (
        world.sender.nudges()[-1].text)


async def test_a_case_left_silent_by_an_earlier_version_is_chased_again_after_the_upgrade(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = await open_gloucestershire_case(world)
    (first,) = await world.tick(at(2026, 12, 9, 9))
    assert first.kind == "overdue"
    # As an earlier version stored it: its one overdue nudge sent, nothing more planned, and never looked through.
    case = await world.case(ref)
    await store.put("cases", ref, {**case, "nudges": [n for n in case["nudges"] if n["status"] == "sent"]})
    await store.delete(META, CHASES_RESUMED)

    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)  # the upgraded bot starts
    assert await world.tick(at(2026, 12, 25, 9)) == []  # Christmas Day: planned, not sent
    status = nudge_status(await world.case(ref))
    assert {k for k, v in status.items() if v == "pending"} == {"1:overdue:2026-12-29", "1:lead:2026-12-29"}
    assert (await store.get(META, CHASES_RESUMED)) == {"policies": ["gloucestershire"]}
    (told,) = await world.tick(at(2026, 12, 29, 9))
    assert told.kind == "lead" and f"{ref} is 13 working days overdue" in told.text
    (again,) = await world.tick(at(2026, 12, 31, 9))
    assert again.kind == "overdue"
    # Looked through once: a case stored silent now (there is none in this version) is not searched for again.
    case = await world.case(ref)
    await store.put("cases", ref, {**case, "nudges": [n for n in case["nudges"] if n["status"] == "sent"]})
    assert await world.tick(at(2027, 1, 4, 9)) == [] and await world.tick(at(2027, 1, 5, 9)) == []


async def test_where_the_directory_names_no_lead_the_people_on_the_case_are_asked_to_tell_theirs(store, all_policies,
                                                                                                clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = await open_gloucestershire_case(world)
    case = await world.case(ref)
    text = nudges.text(world.policies["gloucestershire"], case, "lead", "Jordan Ellis", "", date(2026, 12, 15), ())
    assert text.startswith(f"Jordan Ellis: {ref} is overdue by 5 working days: Stage 1")
    assert (f"{ref} is 5 working days overdue (as local practice, the safeguarding lead hears once a stage is 5 "
            "working days overdue), and no safeguarding lead for these agencies is in the directory: please tell "
            "your agency's designated safeguarding lead.") in text
    one = nudges.text(world.policies["gloucestershire"], case, "lead", "", "", date(2026, 12, 15), ("Sam Patel",))
    assert f"Safeguarding lead Sam Patel: {ref} is 5 working days overdue" in one


async def test_a_duty_nudge_drops_no_reminder_and_no_reminder_drops_it_or_the_leads_message(store, all_policies, clock):
    """The two kinds that are never dropped, together: a duty's own nudge (a duty on a clock of its own) drops
    nothing still waiting to be delivered, and neither it nor the leads' message is dropped by a later reminder."""
    gscp = all_policies["gloucestershire"]
    own_clock = [Notification(id=f"check_{days}", stages=(1,), on="enter", notify="the named safeguarding lead",
                              responsible_tier="practitioner", text=f"Check in within {days} days.", cite="GSCP 2.1",
                              within_calendar_days=days) for days in (9, 14)]  # due Thursday 10, Tuesday 15 December
    policy = dataclasses.replace(gscp, notifications=(*gscp.notifications, *own_clock))
    world = World(store, {"gloucestershire": policy}, clock)
    ref = await open_gloucestershire_case(world)  # overdue from Wednesday 9; the leads told on Tuesday 15 December

    world.sender.fail_next(1)  # Wednesday's reminder is not delivered at once...
    assert [s.kind for s in await world.tick(at(2026, 12, 9, 9))] == ["overdue"]
    assert world.sender.nudges() == []
    # ...and Thursday's duty nudge does not drop it: both are delivered.
    assert [s.kind for s in await world.tick(at(2026, 12, 10, 9))] == ["duty"]
    texts = [r.text for r in world.sender.nudges()]
    assert len(texts) == 2 and sum("is overdue" in t for t in texts) == 1
    assert sum("a notification duty falls due by Thursday 10 December 2026" in t for t in texts) == 1

    # Tuesday 15 December: the leads' message and the second duty's nudge both fail to post (the channel is down for
    # the rest of the pass once a send fails); Thursday's reminder drops neither.
    world.sender.fail_next(1)
    assert sorted(s.kind for s in await world.tick(at(2026, 12, 15, 9))) == ["duty", "lead"]
    assert len(world.sender.nudges()) == 2
    assert [s.kind for s in await world.tick(at(2026, 12, 17, 9))] == ["overdue"]
    texts = [r.text for r in world.sender.nudges()[2:]]
    assert len(texts) == 3 and sum("Safeguarding lead" in t for t in texts) == 1
    assert sum("a notification duty falls due by Tuesday 15 December 2026" in t for t in texts) == 1
    status = nudge_status(await world.case(ref))
    assert status["1:duty:check_14@1:2026-12-15"] == status["1:lead:2026-12-15"] == "sent"
    for key in ("1:duty:check_14@1:2026-12-15", "1:lead:2026-12-15"):
        assert (await store.get("outbox", f"nudge:{ref}:{key}"))["status"] == "sent"
