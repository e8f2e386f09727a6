"""Deadline nudges as the clock moves: on working days only, at the send time, into the case's thread, to whoever must
act, each exactly once (double ticks, overlapping ticks, failed deliveries, a restart after the bot was down)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from scenario_kit import CASE_THREAD, CHRIS, JORDAN, LENA, PRIYA, World, at, events, nudge_status

from bot.jobs.outbox import ChannelInfo
from storage.tinydb_store import TinyDBStore

# Surrey and Lincolnshire allow no agreed change of timescale, so their nudges offer no Extend button.
ACTIONS = ("resolve", "escalate")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def test_surrey_ladder_across_christmas_and_new_year(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    world.set_time(at(2026, 12, 21))  # Monday 21 December 2026: Stage 1 due Wednesday 23 December
    ref = (await world.open_case()).case_ref
    assert nudge_status(await world.case(ref)) == {
        "1:before:2026-12-22": "pending", "1:due:2026-12-23": "pending", "1:overdue:2026-12-24": "pending",
        "1:lead:2027-01-04": "pending"}  # (5 working days overdue: 24, 29, 30, 31 December, 4 January)

    (before,) = await world.tick(at(2026, 12, 22, 9))
    assert before.kind == "before" and before.stage == 1 and before.thread == CASE_THREAD
    assert before.text.startswith("Lena Okafor: ")  # Stage 1 is internal: only the line manager is asked
    (due,) = await world.tick(at(2026, 12, 23, 9))
    assert due.kind == "due" and f"{ref} is due today at Stage 1: Internal Discussion." in due.text

    # Christmas Eve, before the send time: Lena escalates; Stage 1's overdue nudge is never sent.
    world.set_time(at(2026, 12, 24, 8, 30))
    await world.escalate(LENA, ref)
    case = await world.case(ref)
    assert case["stage_due"] == "2026-12-30"
    assert nudge_status(case) == {
        "1:before:2026-12-22": "sent", "1:due:2026-12-23": "sent", "1:overdue:2026-12-24": "cancelled",
        "1:lead:2027-01-04": "cancelled",
        "2:before:2026-12-29": "pending", "2:due:2026-12-30": "pending", "2:overdue:2026-12-31": "pending",
        "2:lead:2027-01-07": "pending"}

    # Every day from Christmas Eve to Tuesday 5 January: before the send time, at it (twice), and in the afternoon.
    # Overdue from 31 December, it is chased every 2 working days (the default [reminders].overdue_every) while it
    # stays so: New Year's Day and the weekend skipped, the next reminder is on Tuesday 5 January.
    expected = {date(2026, 12, 29): "before", date(2026, 12, 30): "due", date(2026, 12, 31): "overdue",
                date(2027, 1, 5): "overdue"}
    delivered_before = len(world.sender.nudges())
    sent_on: dict[date, list[str]] = {}
    for day in days(date(2026, 12, 24), date(2027, 1, 5)):
        assert await world.tick(at(day.year, day.month, day.day, 8, 59)) == [], f"before the send time on {day}"
        first = await world.tick(at(day.year, day.month, day.day, 9, 0))
        assert await world.tick(at(day.year, day.month, day.day, 9, 0)) == [], f"second tick on {day}"
        assert await world.tick(at(day.year, day.month, day.day, 17, 0)) == []
        if first:
            sent_on[day] = [s.kind for s in first]
    # Nothing on Christmas Day, the weekends, Boxing Day observed (Mon 28 Dec) or New Year's Day.
    assert sent_on == {day: [kind] for day, kind in expected.items()}

    delivered = world.sender.nudges()[delivered_before:]
    assert [r.text.split(": ", 1)[0] for r in delivered] == ["Jordan Ellis and Chris Walker"] * 4
    for reply in delivered:
        assert reply.kind == "nudge" and reply.case_ref == ref and reply.stage == 2
        assert [m.email for m in reply.mentions] == [JORDAN, CHRIS] and reply.actions == ACTIONS
    assert [thread for thread, r in world.sender.sent if r.kind == "nudge"] == [CASE_THREAD] * 6
    before, due, overdue, again = delivered
    assert f"{ref} is due tomorrow, Wednesday 30 December 2026, at Stage 2: Inter-agency Discussion." in before.text
    assert f"{ref} is due today at Stage 2" in due.text
    assert (f"{ref} is overdue by 1 working day: Stage 2: Inter-agency Discussion was due Wednesday 30 December "
            "2026.") in overdue.text
    assert f"{ref} is overdue by 3 working days: Stage 2" in again.text
    assert "escalate to Stage 3: Escalation to Line Management/Second-Tier Management now" in overdue.text
    # ... naming the next tier's counterparts.
    assert "Who to contact at Stage 3: in Northshire Children's Services, Lena Okafor" in overdue.text
    assert "in Northshire Police, Priya Nair" in overdue.text and PRIYA in overdue.text

    case = await world.case(ref)
    assert {k: v for k, v in nudge_status(case).items() if v not in ("sent", "cancelled")} == {
        "2:lead:2027-01-07": "pending", "2:overdue:2027-01-07": "pending"}  # (the chase goes on)
    assert [e["detail"] for e in events(case, "nudge_sent")] == [
        "1:before:2026-12-22", "1:due:2026-12-23", "2:before:2026-12-29", "2:due:2026-12-30", "2:overdue:2026-12-31",
        "2:overdue:2027-01-05"]


async def test_overlapping_ticks_send_each_nudge_once(tmp_path, all_policies, clock):
    async with TinyDBStore(tmp_path) as store:
        world = World(store, {"surrey": all_policies["surrey"]}, clock)
        ref = (await world.open_case()).case_ref  # Monday 23 November: due Wednesday 25 November
        world.set_time(at(2026, 11, 24, 9))
        results = await asyncio.gather(*(world.tick() for _ in range(4)))
        assert sorted(s.kind for batch in results for s in batch) == ["before"]
        assert len(world.sender.nudges()) == 1
        world.set_time(at(2026, 11, 25, 9))
        results = await asyncio.gather(*(world.tick() for _ in range(4)))
        assert sorted(s.kind for batch in results for s in batch) == ["due"]
        assert len(world.sender.nudges()) == 2
        case = await world.case(ref)
        assert [e["detail"] for e in events(case, "nudge_sent")] == ["1:before:2026-11-24", "1:due:2026-11-25"]


async def test_a_failed_delivery_is_retried_and_then_sent_once(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    world.sender.fail_next(1)
    (queued,) = await world.tick(at(2026, 11, 24, 9))  # handed to the outbox; the console connection is down
    assert queued.kind == "before" and world.sender.nudges() == []
    letter = await store.get("outbox", f"nudge:{ref}:1:before:2026-11-24")
    assert letter["status"] == "pending" and letter["attempts"] == 1 and "console connection is down" in letter["error"]
    assert nudge_status(await world.case(ref))["1:before:2026-11-24"] == "sent"  # (it is the outbox's now)
    assert await world.tick(at(2026, 11, 24, 9) + timedelta(seconds=10)) == []  # backing off
    assert world.sender.nudges() == []
    assert await world.tick(at(2026, 11, 24, 9, 1)) == []  # no new nudge; the waiting one is delivered
    assert len(world.sender.nudges()) == 1
    assert await world.tick(at(2026, 11, 24, 15)) == []
    assert world.sender.attempts == 2 and len(world.sender.nudges()) == 1
    assert (await store.get("outbox", f"nudge:{ref}:1:before:2026-11-24"))["status"] == "sent"


async def test_a_nudge_not_delivered_is_dropped_once_a_more_urgent_one_is_due(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    world.sender.fail_next(100)  # down for a day
    await world.tick(at(2026, 11, 24, 9))
    world.sender.fail_next(0)
    (due,) = await world.tick(at(2026, 11, 25, 9))
    assert due.kind == "due"
    assert [r.text.split(" is ")[1][:3] for r in world.sender.nudges()] == ["due"]  # not yesterday's as well
    assert (await store.get("outbox", f"nudge:{ref}:1:before:2026-11-24"))["status"] == "cancelled"


async def test_restart_after_the_due_time_sends_the_missed_nudge_once(tmp_path, all_policies, clock):
    policies = {"surrey": all_policies["surrey"]}
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        ref = (await world.open_case()).case_ref  # Monday 23 November: Stage 1 due Wednesday 25 November
    # The bot is down on Tuesday and Wednesday; it comes back on Thursday 26 November at 09:30.
    clock.set(at(2026, 11, 26, 9, 30))
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        (sent,) = await world.tick()
        assert sent.kind == "overdue" and sent.ref == ref and sent.thread == CASE_THREAD
        assert "was due Wednesday 25 November 2026" in sent.text
        case = await world.case(ref)
        assert nudge_status(case) == {
            "1:before:2026-11-24": "superseded", "1:due:2026-11-25": "superseded", "1:overdue:2026-11-26": "sent",
            "1:overdue:2026-11-30": "pending",  # (the next reminder, 2 working days on, while it stays overdue)
            "1:lead:2026-12-02": "pending"}
        assert await world.tick() == []
        clock.set(at(2026, 11, 27, 9))
        assert await world.tick() == []
        assert len(world.sender.nudges()) == 1


async def test_bcssp_overall_cap_nudge_on_the_working_day_before_the_tenth(store, all_policies, clock):
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref  # Monday 23 November; 10 working days: Monday 7 December
    sent: dict[date, list[str]] = {}
    for day in days(date(2026, 11, 24), date(2026, 12, 8)):
        for hour in (9, 13):
            for nudge in await world.tick(at(day.year, day.month, day.day, hour)):
                sent.setdefault(day, []).append(nudge.kind)
    assert sent == {
        date(2026, 11, 24): ["before"], date(2026, 11, 25): ["due"], date(2026, 11, 26): ["overdue"],
        date(2026, 11, 30): ["overdue"], date(2026, 12, 2): ["lead"],  # (Stage 1 left overdue: chased, leads told)
        date(2026, 12, 4): ["overall", "overdue"],  # Friday, the working day before Monday 7 December
        date(2026, 12, 8): ["overdue"],
    }
    overall = next(r for r in world.sender.nudges() if "overall timescale" in r.text)
    assert f"{ref}: one working day left of the overall timescale" in overall.text
    assert "By Monday 7 December 2026; BCSSP Timeframes" in overall.text
    assert [m.email for m in overall.mentions] == [JORDAN, CHRIS]


async def test_one_pass_sends_both_a_stage_nudge_and_the_overall_cap_nudge_due_the_same_day(
    store, all_policies, clock
):
    # BCSSP Stage 3 escalated on Monday 30 November is due Friday 4 December, the day of the overall-cap nudge.
    world = World(store, {"bcssp": all_policies["bcssp"]}, clock)
    ref = (await world.open_case()).case_ref
    world.set_time(at(2026, 11, 25, 16))
    await world.escalate(JORDAN, ref)
    world.set_time(at(2026, 11, 30, 11))
    await world.escalate(PRIYA, ref)
    (before,) = await world.tick(at(2026, 12, 3, 9))
    assert before.kind == "before"
    first = await world.tick(at(2026, 12, 4, 9))
    second = await world.tick(at(2026, 12, 4, 9))
    assert sorted(s.kind for s in first) == ["due", "overall"], "one pass sends every nudge due at that time"
    assert second == [], "a second pass at the same time sends nothing"


async def test_lincolnshire_review_reminders_as_local_practice(store, all_policies, clock):
    world = World(store, {"lincolnshire": all_policies["lincolnshire"]}, clock)
    ref = (await world.open_case()).case_ref  # Monday 23 November; no timescales
    # 10 working days from 23 November: Monday 7 December.
    assert nudge_status(await world.case(ref)) == {"1:review:2026-12-07": "pending"}
    sent: dict[date, list[str]] = {}
    for day in days(date(2026, 11, 24), date(2026, 12, 21)):
        for nudge in await world.tick(at(day.year, day.month, day.day, 9)):
            sent.setdefault(day, []).append(nudge.kind)
        if day == date(2026, 12, 7):
            # The next one is scheduled 10 working days on: Monday 21 December.
            assert nudge_status(await world.case(ref)) == {
                "1:review:2026-12-07": "sent", "1:review:2026-12-21": "pending"}
    assert sent == {date(2026, 12, 7): ["review"], date(2026, 12, 21): ["review"]}
    review = world.sender.nudges()[0]
    assert review.text.startswith("Jordan Ellis and Chris Walker: ")
    assert "Step 1: Discussion amongst frontline professionals, which has no set timescale in this procedure" in (
        review.text)
    assert "As local practice, please review progress" in review.text
    assert [m.email for m in review.mentions] == [JORDAN, CHRIS] and review.actions == ACTIONS
    # And the next: 22, 23, 24, 29, 30, 31 December, 4, 5, 6, 7 January (Christmas and New Year skipped).
    assert nudge_status(await world.case(ref))["1:review:2027-01-07"] == "pending"


async def test_no_nudges_after_the_case_is_resolved(store, all_policies, clock):
    world = World(store, {"surrey": all_policies["surrey"]}, clock)
    ref = (await world.open_case()).case_ref
    world.set_time(at(2026, 11, 23, 15))
    await world.resolve(LENA, ref)
    for day in days(date(2026, 11, 24), date(2026, 11, 30)):
        assert await world.tick(at(day.year, day.month, day.day, 9)) == []
    assert world.sender.nudges() == []
    assert set(nudge_status(await world.case(ref)).values()) == {"cancelled"}
    assert events(await world.case(ref), "nudge_sent") == []


async def test_a_nudges_buttons_act_on_its_stage(store, all_policies, clock):
    world = World(store, {"gloucestershire": all_policies["gloucestershire"]}, clock)
    ref = (await world.open_case()).case_ref  # Stage 1 due Monday 30 November
    (sent,) = await world.tick(at(2026, 11, 27, 9))
    nudge = world.sender.nudges()[-1]
    assert sent.kind == "before" and nudge.stage == 1
    # Chris presses "resolve" on the nudge: the form carries the nudge's stage.
    (done,) = await world.click(CHRIS, "resolve", ref, nudge.stage,
                                {"outcome": "Agreed at a meeting.", "follow_up": "Chris confirms by email."})
    assert done.kind == "resolve"
    assert await world.tick(at(2026, 11, 30, 9)) == []
    assert await world.tick(at(2026, 12, 1, 9)) == []


async def test_a_nudge_claimed_by_a_pass_that_crashed_is_queued_by_the_next_start(tmp_path, all_policies, clock):
    policies = {"surrey": all_policies["surrey"]}
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        ref = (await world.open_case()).case_ref

        async def killed(*args, **kwargs):
            raise RuntimeError("killed before the nudge was queued")

        world.core.threads.send = killed  # the process dies between claiming the nudge and queuing it
        await world.tick(at(2026, 11, 24, 9))
        assert nudge_status(await world.case(ref))["1:before:2026-11-24"] == "sending"
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        (sent,) = await world.tick(at(2026, 11, 24, 9, 5))  # (the store is this process's alone: no lease to wait)
        assert sent.kind == "before" and len(world.sender.nudges()) == 1
        assert await world.tick(at(2026, 11, 24, 9, 20)) == []
        assert nudge_status(await world.case(ref))["1:before:2026-11-24"] == "sent"


class Killed(BaseException):
    """The process dying: nothing after it runs (no handler, no finally that writes)."""


class CrashingSender:
    """A process that dies in the middle of delivering: its message stays claimed ("sending") in the outbox."""

    async def post(self, thread, reply, via=None, key=""):
        raise Killed


async def test_a_message_claimed_by_a_delivery_that_crashed_is_delivered_by_the_next_start(tmp_path, all_policies,
                                                                                            clock):
    """The store is the process's alone (TinyDB's owner lock), so a claim a killed process left is taken over at
    once, not when its lease runs out."""
    policies = {"surrey": all_policies["surrey"]}
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        ref = (await world.open_case()).case_ref
        world.core.outbox.register(ChannelInfo("console", roots=False), CrashingSender())
        with pytest.raises(Killed):
            await world.tick(at(2026, 11, 24, 9))
        assert (await store.get("outbox", f"nudge:{ref}:1:before:2026-11-24"))["status"] == "sending"
    async with TinyDBStore(tmp_path) as store:
        world = World(store, policies, clock)
        assert await world.tick(at(2026, 11, 24, 9, 1)) == []  # (queued before: not queued again)
        assert len(world.sender.nudges()) == 1
        assert await world.tick(at(2026, 11, 24, 9, 20)) == [] and len(world.sender.nudges()) == 1
